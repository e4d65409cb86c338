package console_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/salama-ke/salama/internal/audit"
	"github.com/salama-ke/salama/internal/staff"
)

var tokenRE = regexp.MustCompile(`name="form_token" value="[^"]+"`)

// TestBackoffOverHTTP: three wrong tries with a username, then the fourth
// is refused before any password is checked, with the time to try again;
// for a username nobody has the page is the same, and a wrong try costs the
// same argon2id evaluation. The wait is a few minutes at most, never a lock
// for good; an admin can lift it at once.
func TestBackoffOverHTTP(t *testing.T) {
	each(t, func(t *testing.T, s *site) {
		acc := s.Account("demo-caseworker")
		admin := s.login(t, "demo-admin") // first: a login moves the clock to a fresh TOTP step
		pages := map[string]string{}
		for _, name := range []string{acc.Username, "no-such-person"} {
			for i := range 3 {
				before := s.App.KDF.Evaluations()
				// A fresh address each time: the per-address limit is
				// not what this is about.
				r := s.browser(t).tryLogin(name, "not it at all", "123456")
				expect(t, name+" wrong try", r, http.StatusUnauthorized, "Wrong username, password or code.")
				if n := s.App.KDF.Evaluations() - before; n != 1 {
					t.Errorf("%s, try %d: %d argon2id evaluations, want 1", name, i+1, n)
				}
			}
			before := s.App.KDF.Evaluations()
			r := s.browser(t).tryLogin(name, "not it at all", "123456")
			expect(t, name+" while waiting", r, http.StatusTooManyRequests,
				"Too many failed attempts with this username. Try again after "+s.Clock.Now().Add(30*time.Second).In(time.FixedZone("EAT", 3*3600)).Format("15:04")+" (in about a minute)")
			if n := s.App.KDF.Evaluations() - before; n != 0 {
				t.Errorf("%s: a refused try ran argon2id %d times", name, n)
			}
			pages[name] = tokenRE.ReplaceAllString(strings.ReplaceAll(r.body, name, "NAME"), "")
		}
		if pages[acc.Username] != pages["no-such-person"] {
			t.Errorf("the waiting page tells a real username from an unknown one:\n%s\n---\n%s", pages[acc.Username], pages["no-such-person"])
		}

		// The admin sees the wait on the Members page and lifts it.
		uid := s.User(acc.Username).ID
		expect(t, "members page", admin.get("/console/members"), 200, "Failed logins: waits until", `action="/console/members/`+uid+`/unlock"`)
		head := s.AuditHead()
		expect(t, "unlock", admin.post("/console/members/"+uid+"/unlock", url.Values{"csrf": {admin.csrf()}}), 200, "Unlocked: they can log in again now.")
		if es := s.AuditSince(head, string(audit.MemberUnlocked)); len(es) != 1 || es[0].Detail != "user="+uid || es[0].Actor != audit.UserActor(s.User("demo-admin").ID) {
			t.Errorf("member.unlocked entries %+v", es)
		}
		b := s.login(t, acc.Username)
		expect(t, "inbox after the unlock", b.get("/console/"), 200, "Inbox")

		// Without an admin, the wait passes by itself; it never grows
		// past five minutes, however long someone keeps guessing.
		guesser := func() response { return s.browser(t).tryLogin(acc.Username, "guess", "123456") }
		for range 20 {
			guesser()
			s.Clock.Add(5 * time.Minute)
		}
		s.Clock.Add(-5 * time.Minute)
		expect(t, "during the longest wait", guesser(), http.StatusTooManyRequests, "in about 5 minutes")
		s.Clock.Add(5 * time.Minute)
		b = s.login(t, acc.Username)
		expect(t, "inbox after the longest wait", b.get("/console/"), 200, "Inbox")

		// Who may unlock whom: not oneself, not a coordinator (unless one
		// is a coordinator), and not across organisations (the access walk).
		admin = s.login(t, "demo-admin")
		csrf := admin.csrf()
		expect(t, "unlock oneself", admin.post("/console/members/"+s.User("demo-admin").ID+"/unlock", url.Values{"csrf": {csrf}}), http.StatusUnprocessableEntity, "You cannot unlock yourself.")
		expect(t, "unlock the coordinator", admin.post("/console/members/"+s.User("demo-coordinator").ID+"/unlock", url.Values{"csrf": {csrf}}), http.StatusForbidden, "Only a network coordinator")
		coord := s.login(t, "demo-coordinator")
		expect(t, "coordinator unlocks an admin", coord.post("/console/members/"+s.User("demo-admin").ID+"/unlock", url.Values{"csrf": {coord.csrf()}}), 200, "There were no failed logins to clear.")
		worker := s.login(t, "demo-caseworker")
		expect(t, "caseworker unlocks", worker.post("/console/members/"+s.User("demo-admin").ID+"/unlock", url.Values{"csrf": {worker.csrf()}}), http.StatusNotFound)
	})
}

// TestPasswordChangeEndsOtherSessions: changing one's password ends every
// other session of one's own at once, over HTTP; a weak password is refused
// with a clear message and ends nothing.
func TestPasswordChangeEndsOtherSessions(t *testing.T) {
	each(t, func(t *testing.T, s *site) {
		acc := s.Account("demo-caseworker")
		mine, other, colleague := s.login(t, acc.Username), s.login(t, acc.Username), s.login(t, "demo-admin")
		csrf := mine.csrf()
		change := func(pw string) response {
			return mine.post("/console/password", url.Values{"csrf": {csrf}, "old": {acc.Password}, "new": {pw}, "new2": {pw}})
		}
		for pw, want := range map[string]string{
			"password1234!":    "one of the most common ones",
			"qwertyuiop123":    "a keyboard row",
			"0712345678910":    "only digits",
			"short":            "at least 12 characters",
			"demo-caseworker1": "your username",
		} {
			expect(t, "weak "+pw, change(pw), http.StatusUnprocessableEntity, want)
		}
		expect(t, "other session after refusals", other.get("/console/"), 200, "Inbox")

		expect(t, "change", change("a quiet river behind the hills"), 200, "Your password was changed.")
		expect(t, "the session that changed it", mine.get("/console/"), 200, "Inbox")
		r := other.get("/console/")
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/console/login?ended=1" {
			t.Errorf("the other session after the change: %d to %q", r.StatusCode, r.Header.Get("Location"))
		}
		expect(t, "a colleague's session", colleague.get("/console/"), 200, "Inbox")
		acc.Password = "a quiet river behind the hills"
		s.SetAccount(acc)
		expect(t, "login with the new password", s.login(t, acc.Username).get("/console/"), 200, "Inbox")
	})
}

// TestDisableEndsSessions: an admin disabling a member ends every session
// of theirs at once, over HTTP; it also replaces the organisation's key, so
// a colleague in the organisation logs in again, while the admin goes on
// and another organisation's members are not touched.
func TestDisableEndsSessions(t *testing.T) {
	each(t, func(t *testing.T, s *site) {
		one, two := s.login(t, "demo-caseworker"), s.login(t, "demo-caseworker")
		colleague, elsewhere := s.login(t, "demo-coordinator"), s.login(t, "demo-child-caseworker")
		admin := s.login(t, "demo-admin")
		r := admin.post("/console/members/"+s.User("demo-caseworker").ID+"/disable", url.Values{"csrf": {admin.csrf()}})
		if r.StatusCode != http.StatusSeeOther {
			t.Fatalf("disable: %d\n%s", r.StatusCode, r.body)
		}
		for i, b := range []*browser{one, two} {
			r := b.get("/console/")
			if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/console/login?ended=1" {
				t.Errorf("session %d of the disabled member: %d to %q", i+1, r.StatusCode, r.Header.Get("Location"))
			}
		}
		expect(t, "the admin's own session", admin.get("/console/members"), 200, "Disabled")
		if r := colleague.get("/console/"); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/console/login?ended=1" {
			t.Errorf("a colleague's session after the key was replaced: %d to %q", r.StatusCode, r.Header.Get("Location"))
		}
		expect(t, "another organisation's session", elsewhere.get("/console/"), 200, "Inbox")
		// Every demo report of the organisation reads with the new key,
		// before and after the re-wrap job.
		ids := s.DemoReports()
		for _, id := range ids {
			if r, _ := s.App.Store.Report(s.Ctx(), id); r.OrgID == s.IntakeOrg().Org.ID {
				expect(t, "a report before the job", admin.get("/console/reports/"+id), 200)
			}
		}
		expect(t, "members page during the rotation", admin.get("/console/members"), 200, "still being moved to the new key")
		if _, err := s.App.Jobs.RunDue(s.Ctx()); err != nil {
			t.Fatal(err)
		}
		b := s.login(t, "demo-coordinator")
		for _, id := range ids {
			if r, _ := s.App.Store.Report(s.Ctx(), id); r.OrgID == s.IntakeOrg().Org.ID {
				expect(t, "a report after the job", b.get("/console/reports/"+id), 200)
			}
		}
		// The disabled member, enabled again, reads with the new key.
		admin.post("/console/members/"+s.User("demo-caseworker").ID+"/enable", url.Values{"csrf": {admin.csrf()}})
		expect(t, "the member enabled again", s.login(t, "demo-caseworker").get("/console/"), 200, "Inbox")
		_ = staff.RoleCaseworker
	})
}
