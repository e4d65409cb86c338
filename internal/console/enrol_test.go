package console_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/salama-ke/salama/internal/audit"
	"github.com/salama-ke/salama/internal/demo"
	"github.com/salama-ke/salama/internal/totp"
)

// An admin adds a member; the member enrols with the one-time code, sets a
// password and an authenticator app, and reads the organisation's inbox.
// Disabling them ends their sessions at once.
func TestEnrolMember(t *testing.T) {
	each(t, func(t *testing.T, s *site) {
		admin := s.login(t, "demo-admin")
		r := admin.get("/console/members")
		expect(t, "members page", r, 200, "Members of "+s.IntakeOrg().Org.Name, "demo-caseworker", "Add a member")
		if strings.Contains(r.body, "demo-child-caseworker") {
			t.Error("the members page lists another organisation's member")
		}
		if strings.Contains(r.body, `<option value="coordinator">`) {
			t.Error("an organisation admin is offered the coordinator role")
		}
		csrf := match(t, csrfRE, r.body, "csrf")

		expect(t, "bad username", admin.post("/console/members", url.Values{"csrf": {csrf}, "username": {"a b"}, "name": {"Kept Name"}, "role": {"caseworker"}}),
			http.StatusUnprocessableEntity, "A username is 3 to 40 characters", `value="Kept Name"`)
		expect(t, "taken username", admin.post("/console/members", url.Values{"csrf": {csrf}, "username": {"demo-caseworker"}, "role": {"caseworker"}}),
			http.StatusConflict, "That username is taken.")
		expect(t, "coordinator by an admin", admin.post("/console/members", url.Values{"csrf": {csrf}, "username": {"want.coord"}, "role": {"coordinator"}}),
			http.StatusNotFound)

		head := s.AuditHead()
		r = admin.post("/console/members", url.Values{"csrf": {csrf}, "username": {"amina.w"}, "name": {"Amina Wanjiru"}, "role": {"caseworker"}})
		expect(t, "member added", r, 200, "Member added.", "amina.w", "Not enrolled yet")
		code := match(t, codeRE, r.body, "enrolment code")
		if es := s.AuditSince(head, string(audit.MemberAdded)); len(es) != 1 {
			t.Errorf("member.added entries: %d", len(es))
		}
		// Shown once.
		if r := admin.get("/console/members"); strings.Contains(r.body, code) {
			t.Error("the enrolment code is shown again")
		}
		if s.dbContains(t, []byte(code)) || s.dbContains(t, []byte(strings.ReplaceAll(code, "-", ""))) {
			t.Error("the enrolment code is in the database")
		}

		// Typing the code into the login page sends the member to enrol.
		m := s.browser(t)
		r = m.tryLogin("amina.w", code, "000000")
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/console/enrol" {
			t.Errorf("login with the enrolment code: %d to %q", r.StatusCode, r.Header.Get("Location"))
		}

		expect(t, "wrong enrolment code", m.post("/console/enrol", url.Values{"form_token": {m.formToken("/console/enrol")}, "username": {"amina.w"}, "enrol_code": {"AAAAA-BBBBB-CCCCC-DDDDD"}}),
			http.StatusUnauthorized, "Wrong username or enrolment code")
		r = m.post("/console/enrol", url.Values{"form_token": {m.formToken("/console/enrol")}, "username": {"amina.w"}, "enrol_code": {code}})
		expect(t, "TOTP step", r, 200, "Set up your login", "<svg ", `aria-hidden="true"`, "Key: ")
		key := match(t, keyRE, r.body, "TOTP key")
		secret, err := totp.ParseSecret(key)
		if err != nil {
			t.Fatalf("key %q: %v", key, err)
		}
		svg := regexp.MustCompile(`(?s)<svg .*?</svg>`).FindString(r.body)
		if svg == "" || strings.Contains(svg, "style") || strings.Contains(svg, "script") || strings.Contains(svg, "href") {
			t.Errorf("QR code %.200q", svg)
		}
		if r.Header.Get("Cache-Control") != "no-store" {
			t.Error("the TOTP page may be cached")
		}
		token := match(t, enrolRE, r.body, "enrolment token")
		formToken := match(t, formTokenRE, r.body, "form token")
		finish := func(password, password2, otp string) response {
			t.Helper()
			return m.post("/console/enrol/finish", url.Values{"form_token": {formToken},
				"username": {"amina.w"}, "enrol_code": {code}, "token": {token},
				"password": {password}, "password2": {password2}, "code": {otp}})
		}
		now := func() string { return totp.Code(secret, s.Clock.Now()) }
		for _, tc := range []struct {
			name, password, password2, code, want string
		}{
			{"short password", "short pass", "short pass", now(), "at least 12 characters"},
			{"passwords differ", "a long password one", "a long password two", now(), "not the same"},
			{"wrong code", "a long enough password", "a long enough password", wrong(now()), "did not match"},
		} {
			got := finish(tc.password, tc.password2, tc.code)
			expect(t, tc.name, got, http.StatusUnprocessableEntity, tc.want, "Set up your login", key)
			if strings.Contains(got.body, tc.password) || m.cookie != "" {
				t.Errorf("%s: the password came back, or a cookie was set", tc.name)
			}
		}
		password := "two cups of chai before nine"
		r = finish(password, password, now())
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/console/" || m.cookie == "" {
			t.Fatalf("finish: %d to %q\n%s", r.StatusCode, r.Header.Get("Location"), r.body)
		}
		inbox := m.get("/console/")
		expect(t, "the new member's inbox", inbox, 200, "amina.w", s.IntakeOrg().Org.Name)
		if _, ids := rows(inbox.body); len(ids) == 0 {
			t.Error("the new member sees no reports")
		} else {
			expect(t, "the new member opens a report", m.get("/console/reports/"+ids[0]), 200, "What they told us")
		}
		s.SetAccount(demo.Account{Username: "amina.w", Password: password, TOTP: secret})

		// The enrolment code is spent.
		expect(t, "enrolment code again", s.browser(t).post("/console/enrol", url.Values{"form_token": {m.formToken("/console/enrol")}, "username": {"amina.w"}, "enrol_code": {code}}),
			http.StatusUnauthorized, "Wrong username or enrolment code")
		expect(t, "members page after enrolment", admin.get("/console/members"), 200, "Active")

		// Disabled: every session ends now; re-enabled: a new login works.
		second := s.login(t, "amina.w")
		id := s.User("amina.w").ID
		head = s.AuditHead()
		r = admin.post("/console/members/"+id+"/disable", url.Values{"csrf": {csrf}})
		if r.StatusCode != http.StatusSeeOther {
			t.Fatalf("disable: %d", r.StatusCode)
		}
		for _, b := range []*browser{m, second} {
			if r := b.get("/console/"); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/console/login?ended=1" {
				t.Errorf("a disabled member's session: %d to %q", r.StatusCode, r.Header.Get("Location"))
			}
		}
		if es := s.AuditSince(head, string(audit.MemberDisabled)); len(es) != 1 {
			t.Errorf("member.disabled entries: %d", len(es))
		}
		expect(t, "members page", admin.get("/console/members"), 200, "Disabled", "Enable")
		s.Clock.NextStep()
		expect(t, "a disabled member logs in", s.browser(t).tryLogin("amina.w", password, now()), http.StatusUnauthorized, "Wrong username, password or code.")
		if r := admin.post("/console/members/"+id+"/enable", url.Values{"csrf": {csrf}}); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("enable: %d", r.StatusCode)
		}
		s.login(t, "amina.w")

		// Nobody disables themselves, and an admin cannot lock out the
		// network coordinator.
		expect(t, "disable oneself", admin.post("/console/members/"+s.User("demo-admin").ID+"/disable", url.Values{"csrf": {csrf}}),
			http.StatusUnprocessableEntity, "You cannot disable yourself.")
		expect(t, "admin disables the coordinator", admin.post("/console/members/"+s.User("demo-coordinator").ID+"/disable", url.Values{"csrf": {csrf}}),
			http.StatusForbidden, "Only a network coordinator")
		if s.User("demo-coordinator").Disabled {
			t.Error("an organisation admin disabled the coordinator")
		}
		expect(t, "unknown member", admin.post("/console/members/usr_nope/disable", url.Values{"csrf": {csrf}}), http.StatusNotFound, "No such member.")
	})
}

// A password change re-wraps the organisation key: the old password no
// longer logs in, the new one does, and reports still open.
func TestPasswordChange(t *testing.T) {
	each(t, func(t *testing.T, s *site) {
		acc := s.Account("demo-caseworker")
		b := s.login(t, "demo-caseworker")
		csrf := b.csrf()
		change := func(old, new, new2 string) response {
			return b.post("/console/password", url.Values{"csrf": {csrf}, "old": {old}, "new": {new}, "new2": {new2}})
		}
		expect(t, "wrong current password", change("not it", "a new long password", "a new long password"), http.StatusUnprocessableEntity, "Your current password is wrong.")
		expect(t, "different new passwords", change(acc.Password, "a new long password", "a new long passwort"), http.StatusUnprocessableEntity, "not the same")
		expect(t, "short new password", change(acc.Password, "short", "short"), http.StatusUnprocessableEntity, "at least 12 characters")
		newPassword := "jacaranda season in nairobi"
		head := s.AuditHead()
		r := change(acc.Password, newPassword, newPassword)
		expect(t, "change", r, 200, "Your password was changed.")
		if strings.Contains(r.body, newPassword) || strings.Contains(r.body, acc.Password) {
			t.Error("a password came back in the page")
		}
		if es := s.AuditSince(head, string(audit.PasswordChanged)); len(es) != 1 {
			t.Errorf("password.changed entries: %d", len(es))
		}
		// This session goes on.
		expect(t, "same session", b.get("/console/"), 200, "Inbox")

		s.Clock.NextStep()
		expect(t, "old password", s.browser(t).tryLogin(acc.Username, acc.Password, s.Code(acc.Username)), http.StatusUnauthorized)
		acc.Password = newPassword
		s.SetAccount(acc)
		nb := s.login(t, acc.Username)
		_, ids := rows(nb.get("/console/").body)
		if len(ids) == 0 {
			t.Fatal("no reports")
		}
		c, err := s.App.Casework.Open(s.Ctx(), s.Principal("demo-admin"), ids[0])
		if err != nil {
			t.Fatal(err)
		}
		expect(t, "a report opened with the new password's key", nb.get("/console/reports/"+ids[0]), 200, c.Narrative)
	})
}
