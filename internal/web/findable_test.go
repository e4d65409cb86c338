package web_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/salama-ke/salama/internal/locale"
)

// Issue 16 (7): a survivor searching the web finds the landing page, and
// only it. These are the facts Lighthouse's SEO audit checks, tested
// directly: robots.txt, a meta description and no noindex on the landing
// pages, noindex on every page with content, a title, the language, an
// <h1> on every page (the 404 and the withdrawn page too), link texts, and
// no aria-label on a <p> (a W3C validator error).
func TestFindable(t *testing.T) {
	s := newSite(t, newSQLite(t))

	r := s.get("/robots.txt", "")
	if r.StatusCode != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/plain") ||
		!strings.Contains(r.body, "User-agent: *") || regexp.MustCompile(`(?m)^Disallow: /$`).MatchString(r.body) {
		t.Errorf("robots.txt: %d %q\n%s", r.StatusCode, r.Header.Get("Content-Type"), r.body)
	}

	// The short links answer with the form itself: no redirect, which on
	// slow 2G would cost another round trip and which a browser keeps.
	for from, l := range map[string]locale.Lang{"/ripoti": locale.Kiswahili, "/report": locale.English} {
		r := s.get(from, "")
		other := locale.English
		if l == locale.English {
			other = locale.Kiswahili
		}
		if r.StatusCode != http.StatusOK || !strings.Contains(r.body, `<html lang="`+string(l)+`">`) ||
			!strings.Contains(r.body, `action="/`+string(l)+`/report"`) || !strings.Contains(r.body, `name="token"`) {
			t.Errorf("GET %s: %d, want the %s report form posting to /%s/report\n%s", from, r.StatusCode, l, l, r.body)
		}
		if !strings.Contains(r.body, `value="`+string(other)+`"`) && !strings.Contains(r.body, `href="/`+string(other)+`/report"`) {
			t.Errorf("GET %s: no way to the %s form\n%s", from, other, r.body)
		}
		if strings.Contains(r.body, "/ripoti") {
			t.Errorf("GET %s: a link to /ripoti under a language, which does not exist", from)
		}
	}

	h1 := regexp.MustCompile(`<h1>[^<]+</h1>`)
	ariaP := regexp.MustCompile(`<p\b[^>]*\baria-label=`)
	title := regexp.MustCompile(`<title>[^<]+</title>`)
	vague := regexp.MustCompile(`(?i)>\s*(click here|here|more|read more|hapa)\s*</a>`)
	check := func(path, body string, index bool, l locale.Lang) {
		t.Helper()
		noindex := strings.Contains(body, `<meta name="robots" content="noindex">`)
		desc := regexp.MustCompile(`<meta name="description" content="([^"]{50,})">`).FindStringSubmatch(body)
		switch {
		case index && (noindex || desc == nil):
			t.Errorf("%s: the landing page must be indexable with a description (noindex %v, description %q)", path, noindex, desc)
		case index && html.UnescapeString(desc[1]) != s.app.Catalog.Printer(l).T("landing.description"):
			t.Errorf("%s: description %q is not the %s one", path, desc[1], l)
		case !index && !noindex:
			t.Errorf("%s: a page with content may be listed by search engines: no noindex", path)
		}
		if !h1.MatchString(body) {
			t.Errorf("%s has no <h1>", path)
		}
		if !title.MatchString(body) || !strings.Contains(body, `<html lang="`+string(l)+`">`) {
			t.Errorf("%s: no title or not lang=%s", path, l)
		}
		if m := ariaP.FindString(body); m != "" {
			t.Errorf("%s: %s (aria-label is not allowed on <p>)", path, m)
		}
		if m := vague.FindString(body); m != "" {
			t.Errorf("%s: a link says only %q", path, m)
		}
	}
	for _, l := range locale.Langs {
		lang := string(l)
		check("/"+lang+"/", s.get("/"+lang+"/", "").body, true, l)
		for _, path := range []string{"/report", "/tip", "/help", "/check", "/no-such-page"} {
			check("/"+lang+path, s.get("/"+lang+path, "").body, false, l)
		}
		res, receipt := s.report(lang, url.Values{"narrative": {"Findable test."}})
		check("/"+lang+"/report (the confirmation)", res.body, false, l)
		cookie := s.login(lang, receipt)
		page := s.get("/"+lang+"/check/report", cookie)
		check("/"+lang+"/check/report", page.body, false, l)
		done := s.postForm("/"+lang+"/check/withdraw", url.Values{"csrf": {match(t, csrfRE, page.body, "csrf")}, "confirm": {"yes"}}, cookie)
		check("/"+lang+"/check/withdraw (withdrawn)", done.body, false, l)
	}
	check("/ (Accept-Language: none)", s.get("/", "").body, true, locale.English)
}
