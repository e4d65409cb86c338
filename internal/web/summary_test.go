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

// Issue 16 (2): a form with problems comes back with the GOV.UK error
// summary at its top, "There is a problem" in the page's language, a link
// to each field in page order, and each message beside its field too.
func TestErrorSummary(t *testing.T) {
	s := newSite(t, newSQLite(t))
	linkRE := regexp.MustCompile(`<li><a href="#([a-z_]+)">([^<]+)</a></li>`)
	for _, l := range locale.Langs {
		lang := string(l)
		p := s.app.Catalog.Printer(l)
		form := url.Values{"token": {s.token(lang, "report")}, "send": {"1"}, "about": {"someone-else"},
			"contact": {"phone"}, "narrative": {"Maneno yangu yote yabaki."}}
		r := s.postMultipart("/"+lang+"/report", form)
		if r.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("%s: status %d", lang, r.StatusCode)
		}
		top := strings.Index(r.body, `id="problems"`)
		if top < 0 || top > strings.Index(r.body, "<form") {
			t.Fatalf("%s: no error summary above the form:\n%s", lang, r.body)
		}
		if !strings.Contains(r.body, `<h2 id="problems-title">`+html.EscapeString(p.T("form.problem_title"))+`</h2>`) {
			t.Errorf("%s: the summary is not titled %q", lang, p.T("form.problem_title"))
		}
		if !strings.Contains(r.body, `tabindex="-1"`) {
			t.Errorf("%s: the summary cannot take focus", lang)
		}
		links := linkRE.FindAllStringSubmatch(r.body, -1)
		var ids []string
		for _, m := range links {
			ids = append(ids, m[1])
			if !strings.Contains(r.body, `id="`+m[1]+`"`) {
				t.Errorf("%s: the summary links to #%s, which is not on the page", lang, m[1])
			}
			// The same message stands beside the field.
			if strings.Count(r.body, m[2]) < 2 {
				t.Errorf("%s: %q is in the summary only, not beside its field", lang, m[2])
			}
		}
		if strings.Join(ids, ",") != "about,phone" {
			t.Errorf("%s: the summary links to %q, want about then phone", lang, ids)
		}
		if !strings.Contains(r.body, "Maneno yangu yote yabaki.") {
			t.Errorf("%s: the words typed were lost", lang)
		}
	}
	// A form with no problem has no summary.
	if r := s.get("/en/report", ""); strings.Contains(r.body, `id="problems"`) {
		t.Error("a fresh form shows an error summary")
	}
}
