package web_test

import (
	"net/url"
	"regexp"
	"testing"
)

// The consent to be counted is asked, not assumed: the box is not ticked
// on a new form, a form shown again keeps the survivor's answer, and a
// report sent without ticking it is not counted.
func TestReportStatsConsentNotPreTicked(t *testing.T) {
	s := newSite(t, newSQLite(t))
	statsBox := regexp.MustCompile(`<input type="checkbox" name="stats" value="yes"( checked)?>`)
	for _, lang := range []string{"en", "sw"} {
		m := statsBox.FindStringSubmatch(s.get("/"+lang+"/report", "").body)
		if m == nil || m[1] != "" {
			t.Errorf("/%s/report: the statistics box is %q, want there and not ticked", lang, m)
		}
		for _, ticked := range []bool{true, false} {
			form := url.Values{"about": {"me"}, "contact": {"phone"}, "phone": {"not a phone"}, "send": {"1"}}
			form.Set("token", s.token(lang, "report"))
			if ticked {
				form.Set("stats", "yes")
			}
			again := s.postMultipart("/"+lang+"/report", form)
			m := statsBox.FindStringSubmatch(again.body)
			if again.StatusCode != 422 || m == nil || (m[1] != "") != ticked {
				t.Errorf("/%s/report shown again (%d) with the box ticked=%v: %q", lang, again.StatusCode, ticked, m)
			}
		}
	}
	s.report("en", url.Values{"about": {"me"}, "county": {"nairobi"}, "what": {"sextortion"}})
	id := s.onlyReport()
	if n := s.count(`SELECT count(*) FROM reports WHERE id = $1 AND consent_stats = false`, id); n != 1 {
		t.Errorf("a report sent without ticking the box is counted")
	}
}
