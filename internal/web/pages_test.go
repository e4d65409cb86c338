package web_test

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/salama-ke/salama/internal/web"

	"github.com/salama-ke/salama/internal/directory"
)

// rawKey matches a catalog key rendered verbatim, which is what a missing
// message looks like.
var rawKey = regexp.MustCompile(`\b(nav|footer|landing|form|platform|choice|report|tip|problem|received|help|check|status|thread|message|error|need|county|helpnow|national|servicetype|ageband|service)\.[a-z0-9_]+(\.[a-z0-9_-]+)*\b`)

// visible strips tags and the inline stylesheet so only words are checked,
// and the built-in services' web addresses, which look like keys
// (report.iwf.org.uk).
func visible(body string) string {
	body = regexp.MustCompile(`(?s)<style>.*?</style>|<script>.*?</script>`).ReplaceAllString(body, "")
	for _, s := range directory.OnlineImageTools() {
		body = strings.ReplaceAll(body, s.Channels.Website, "")
	}
	return regexp.MustCompile(`<[^>]*>`).ReplaceAllString(body, " ")
}

// Every public page, in both languages, renders with every message found,
// every security header set and no cookie.
func TestPublicPages(t *testing.T) {
	s := newSite(t, newSQLite(t))
	_, receipt := s.report("en", fullReport())
	cookie := s.login("en", receipt)
	for _, lang := range []string{"en", "sw"} {
		for _, tc := range []struct {
			path, cookie string
			status       int
		}{
			{"/" + lang + "/", "", 200},
			{"/" + lang + "/report", "", 200},
			{"/" + lang + "/tip", "", 200},
			{"/" + lang + "/help", "", 200},
			{"/" + lang + "/help?county=mombasa&need=shelter", "", 200},
			{"/" + lang + "/help?county=nowhere&need=nothing", "", 200},
			{"/" + lang + "/check", "", 200},
			{"/" + lang + "/check/report", cookie, web.StatusReport},
			{"/" + lang + "/no-such-page", "", 404},
		} {
			r := s.get(tc.path, tc.cookie)
			if r.StatusCode != tc.status {
				t.Errorf("GET %s: %d, want %d", tc.path, r.StatusCode, tc.status)
			}
			checkHeaders(t, tc.path, r.Response)
			if tc.cookie == "" && len(r.Cookies()) > 0 {
				t.Errorf("GET %s set a cookie", tc.path)
			}
			if m := rawKey.FindString(visible(r.body)); m != "" {
				t.Errorf("GET %s shows an untranslated key %q", tc.path, m)
			}
			if !strings.Contains(r.body, `<html lang="`+lang+`">`) {
				t.Errorf("GET %s is not in %s", tc.path, lang)
			}
			exit := `class="exit" href="https://neutral.example/"`
			if tc.cookie != "" {
				exit = `class="exit" href="/exit"` // ends the receipt login first
			}
			for _, want := range []string{exit, "999", "112", "1195", "116"} {
				if !strings.Contains(r.body, want) {
					t.Errorf("GET %s lacks %q (quick exit and footer helplines)", tc.path, want)
				}
			}
			if regexp.MustCompile(`(src|href)="(https?:)?//`).FindString(strings.ReplaceAll(r.body, `href="https://neutral.example/"`, "")) != "" {
				t.Errorf("GET %s references another host", tc.path)
			}
			if strings.Contains(r.body, "localStorage") || strings.Contains(r.body, "sessionStorage") || strings.Contains(r.body, "serviceWorker") {
				t.Errorf("GET %s uses browser storage", tc.path)
			}
		}
	}
}

func checkHeaders(t *testing.T, what string, r *http.Response) {
	t.Helper()
	csp := r.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("%s: CSP %q lacks %q", what, csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("%s: CSP allows unsafe inline code", what)
	}
	for h, want := range map[string]string{
		"Referrer-Policy":        "no-referrer",
		"X-Content-Type-Options": "nosniff",
		"Cache-Control":          "no-store",
	} {
		if got := r.Header.Get(h); got != want {
			t.Errorf("%s: %s = %q, want %q", what, h, got, want)
		}
	}
}

// The headers are on every response: POSTs, redirects, errors, and the
// health check.
func TestHeadersEverywhere(t *testing.T) {
	s := newSite(t, newSQLite(t))
	for _, r := range []response{
		s.postForm("/en/check", s.loginForm("en", "12"), ""),
		s.postForm("/en/check/reply", url.Values{"text": {"x"}}, ""),
		s.get("/xx/report", ""),
		s.get("/healthz", ""),
		s.postForm("/en/", nil, ""),
	} {
		checkHeaders(t, r.Request.Method+" "+r.Request.URL.Path, r.Response)
	}
}

// "/" speaks the browser's language; the prefixes choose explicitly.
func TestLanguage(t *testing.T) {
	s := newSite(t, newSQLite(t))
	for header, want := range map[string]string{"sw-KE,sw;q=0.9,en;q=0.5": "sw", "en-GB": "en", "": "en", "fr": "en"} {
		req, _ := http.NewRequest("GET", s.srv.URL+"/", nil)
		req.Header.Set("Accept-Language", header)
		r := s.do(req, "")
		if !strings.Contains(r.body, `<html lang="`+want+`">`) {
			t.Errorf("Accept-Language %q: not %s", header, want)
		}
		if !strings.Contains(strings.Join(r.Header.Values("Vary"), ","), "Accept-Language") {
			t.Errorf("/ does not vary on Accept-Language")
		}
	}
	if r := s.get("/sw/report", ""); !strings.Contains(r.body, "Tueleze kilichotokea") || !strings.Contains(r.body, "Toka haraka") {
		t.Errorf("/sw/report is not in Kiswahili")
	}
	if r := s.get("/fr/report", ""); r.StatusCode != 404 {
		t.Errorf("/fr/report: %d", r.StatusCode)
	}
}

// Pages are gzipped for clients that ask.
func TestGzip(t *testing.T) {
	s := newSite(t, newSQLite(t))
	req, _ := http.NewRequest("GET", s.srv.URL+"/en/report", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("Content-Encoding %q", resp.Header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil || !strings.Contains(string(b), "</html>") {
		t.Errorf("gzip body does not decode to the page: %v", err)
	}
}
