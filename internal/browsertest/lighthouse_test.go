package browsertest

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// LighthouseEnv names Lighthouse's command-line program (npm's lighthouse
// package, node_modules/.bin/lighthouse; .ci/run installs it).
const LighthouseEnv = "SALAMA_TEST_LIGHTHOUSE"

// lighthouseReport is the part of Lighthouse's JSON report the test reads.
type lighthouseReport struct {
	Categories map[string]struct {
		Score     *float64 `json:"score"`
		AuditRefs []struct {
			ID     string  `json:"id"`
			Weight float64 `json:"weight"`
		} `json:"auditRefs"`
	} `json:"categories"`
	Audits map[string]struct {
		Title       string   `json:"title"`
		Score       *float64 `json:"score"`
		Explanation string   `json:"explanation"`
	} `json:"audits"`
	RuntimeError *struct {
		Code, Message string
	} `json:"runtimeError"`
}

// Issue 16: Lighthouse's accessibility and best-practices scores are 100 on
// every public page in both languages, and its SEO score at least 90 on
// the landing pages, which are the pages meant to be found. Every other
// page says noindex on purpose, so its only SEO failures may be that one
// (is-crawlable) and the description search results would show, and on
// every page robots.txt: Lighthouse fetches it from inside the
// page, which the pages' Content-Security-Policy (connect-src 'none')
// forbids; crawlers fetch it directly (TestFindable checks its content).
//
// Scores are not timings: Lighthouse's performance category is left to the
// bench and the slow-2G walk.
func TestLighthouse(t *testing.T) {
	lh := os.Getenv(LighthouseEnv)
	if lh == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI must run Lighthouse: set %s to node_modules/.bin/lighthouse (.ci/run does)", LighthouseEnv)
		}
		t.Skipf("needs Lighthouse: npm install lighthouse@12, then set %s to its node_modules/.bin/lighthouse", LighthouseEnv)
	}
	exe := chromium(t)
	s := newSite(t)
	pages := []string{"/en/", "/sw/", "/en/report", "/sw/help?county=nairobi", "/en/check", "/sw/tip"}
	landing := map[string]bool{"/en/": true, "/sw/": true}
	for _, page := range pages {
		t.Run(strings.Trim(strings.NewReplacer("/", "_", "?", "_", "=", "_").Replace(page), "_"), func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "report.json")
			cmd := exec.CommandContext(t.Context(), lh, s.URL+page, "--quiet",
				"--only-categories=accessibility,best-practices,seo", "--output=json", "--output-path="+out,
				"--chrome-flags=--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking --disable-component-update --disable-sync --host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1")
			cmd.Env = append(os.Environ(), "CHROME_PATH="+exe)
			if msg, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("lighthouse %s: %v\n%s", page, err, msg)
			}
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			var r lighthouseReport
			if err := json.Unmarshal(b, &r); err != nil {
				t.Fatal(err)
			}
			if r.RuntimeError != nil && r.RuntimeError.Code != "" {
				t.Fatalf("lighthouse %s: %s %s", page, r.RuntimeError.Code, r.RuntimeError.Message)
			}
			failing := func(category string) (names []string, ids []string) {
				for _, ref := range r.Categories[category].AuditRefs {
					a := r.Audits[ref.ID]
					if ref.Weight > 0 && a.Score != nil && *a.Score < 1 {
						names = append(names, ref.ID+" ("+a.Title+strings.TrimSuffix(" "+a.Explanation, " ")+")")
						ids = append(ids, ref.ID)
					}
				}
				return names, ids
			}
			score := func(category string) float64 {
				c, ok := r.Categories[category]
				if !ok || c.Score == nil {
					t.Fatalf("%s: no %s score", page, category)
				}
				return *c.Score
			}
			for _, c := range []string{"accessibility", "best-practices"} {
				if got := score(c); got < 1 {
					names, _ := failing(c)
					t.Errorf("%s: Lighthouse %s %.0f, want 100; failing: %s", page, c, got*100, strings.Join(names, "; "))
				}
			}
			seo := score("seo")
			names, ids := failing("seo")
			switch {
			case landing[page] && seo < 0.9:
				t.Errorf("%s: Lighthouse SEO %.0f, want at least 90; failing: %s", page, seo*100, strings.Join(names, "; "))
			case landing[page] && slices.Contains(ids, "is-crawlable"):
				t.Errorf("%s: a landing page is not crawlable", page)
			case !landing[page] && !slices.Contains(ids, "is-crawlable"):
				t.Errorf("%s: a page with content is crawlable (no noindex)", page)
			}
			allowed := []string{"robots-txt"}
			if !landing[page] {
				// A page no search engine lists needs no description
				// (bytes a survivor on 2G would pay for nothing).
				allowed = append(allowed, "is-crawlable", "meta-description")
			}
			for i, id := range ids {
				if !slices.Contains(allowed, id) {
					t.Errorf("%s: SEO audit fails: %s", page, names[i])
				}
			}
			t.Logf("%s: accessibility %.0f, best practices %.0f, SEO %.0f", page, score("accessibility")*100, score("best-practices")*100, seo*100)
		})
	}
}
