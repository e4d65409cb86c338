package console_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/salama-ke/salama/internal/app/apptest"
)

// Every console form has a body cap fitted to it (issue 17): a note far
// past its limit is not read whole, nothing is saved, and what arrived
// comes back in the note box; a button's form that carries a novel is
// refused without acting; a login with a megabyte of password is refused
// before argon2id.
func TestConsoleBodyCaps(t *testing.T) {
	s := sqliteSite(t)
	id := s.Submit(apptest.Report(nil)).Report.ID
	b := s.login(t, "demo-caseworker")
	csrf := b.csrf()
	note := "Private-5512 " + strings.Repeat("maelezo ", 40_000) // 320 KB
	r := b.post("/console/reports/"+id+"/note", url.Values{"csrf": {csrf}, "text": {note}})
	expect(t, "huge note", r, http.StatusRequestEntityTooLarge, "too long to arrive whole", "nothing was saved")
	m := regexp.MustCompile(`(?s)<textarea id="note" name="text" maxlength="4000">(.*?)</textarea>`).FindStringSubmatch(r.body)
	if m == nil || !strings.HasPrefix(html.UnescapeString(m[1]), "Private-5512 maelezo") {
		t.Error("what arrived of the note is not in the note box")
	}
	if len(r.body) > 200<<10 {
		t.Errorf("the page is %d bytes", len(r.body))
	}
	if c, err := s.App.Casework.Open(s.Ctx(), s.Principal("demo-caseworker"), id); err != nil || len(c.Notes) != 0 {
		t.Errorf("notes after the refusal: %v %v", c, err)
	}

	before, _ := s.App.Store.Report(s.Ctx(), id)
	r = b.post("/console/reports/"+id+"/status", url.Values{"csrf": {csrf}, "status": {"closed"}, "reason": {strings.Repeat("x", 20_000)}})
	expect(t, "huge status form", r, http.StatusRequestEntityTooLarge, "nothing was changed")
	if after, _ := s.App.Store.Report(s.Ctx(), id); after.Status != before.Status {
		t.Errorf("the status changed to %s", after.Status)
	}

	r = s.browser(t).post("/console/login", url.Values{"form_token": {b.formToken("/console/login")}, "username": {"demo-caseworker"},
		"password": {strings.Repeat("p", 1<<20)}, "code": {"000000"}})
	expect(t, "megabyte password", r, http.StatusRequestEntityTooLarge)
}
