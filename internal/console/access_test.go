package console_test

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	pngenc "image/png"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/salama-ke/salama/internal/app/apptest"
	"github.com/salama-ke/salama/internal/audit"
	"github.com/salama-ke/salama/internal/console"
	"github.com/salama-ke/salama/internal/orgs"
	"github.com/salama-ke/salama/internal/reporting"
	"github.com/salama-ke/salama/internal/staff"
)

// target is what a walk points the routes' parameters at.
type target struct {
	report, attachment, member, contact string
}

// path fills a route pattern's parameters: {id} is the report (or, under
// /console/members/, the member), {att} the attachment, any other the
// report id too.
func (tg target) path(pattern string) string {
	param := regexp.MustCompile(`\{[^}]*\}`)
	return param.ReplaceAllStringFunc(pattern, func(p string) string {
		switch {
		case p == "{$}":
			return ""
		case p == "{att}":
			return tg.attachment
		case p == "{contact}":
			return tg.contact
		case p == "{id}" && strings.HasPrefix(pattern, "/console/members/"):
			return tg.member
		}
		return tg.report
	})
}

// secretReport files a report with a screenshot and sealed content of every
// kind (narrative, identifier, contact, note, message, survivor's reply),
// each marked with tag, and returns the words that must never show outside
// its organisation.
func secretReport(t *testing.T, s *site, tag string, child bool, worker string) (target, []string) {
	t.Helper()
	sub := s.Submit(apptest.Report(func(in *reporting.Input) {
		if child {
			in.About, in.AgeBand = "child", "13-15"
		}
		in.Narrative = "Narrative-" + tag
		in.Identifiers = []reporting.Identifier{{Type: "handle", Platform: "telegram", Value: "@ident_" + tag}}
		in.ContactPref, in.Phone = "phone", "0711 222 "+tag[len(tag)-3:]
		in.Files = []reporting.Upload{{ContentType: "image/png", Data: png(t)}}
	}))
	p := s.Principal(worker)
	if p.OrgID != sub.Report.OrgID {
		t.Fatalf("%s's report went to %s, not %s's organisation", tag, sub.Report.OrgID, worker)
	}
	cw := s.App.Casework
	if err := cw.AddNote(s.Ctx(), p, sub.Report.ID, "Note-"+tag); err != nil {
		t.Fatal(err)
	}
	if err := cw.SendMessage(s.Ctx(), p, sub.Report.ID, "Message-"+tag); err != nil {
		t.Fatal(err)
	}
	cs, _ := s.App.Reporting.LogIn(s.Ctx(), sub.Receipt)
	sess, err := s.App.Reporting.Session(s.Ctx(), cs)
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.Reply(s.Ctx(), "Reply-"+tag); err != nil {
		t.Fatal(err)
	}
	sess.Close()
	atts, _ := s.App.Store.Attachments(s.Ctx(), sub.Report.ID)
	tg := target{report: sub.Report.ID, attachment: atts[0].ID}
	return tg, []string{sub.Report.CaseRef, sub.Report.ID, atts[0].ID, "Narrative-" + tag, "ident_" + tag, "Note-" + tag,
		"Message-" + tag, "Reply-" + tag, "0711 222 " + tag[len(tag)-3:]}
}

func png(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 6, 4))
	img.Set(2, 1, color.RGBA{200, 30, 30, 255})
	var b bytes.Buffer
	if err := pngenc.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// isPNG reports whether b is a PNG image of the size png makes: the console
// shows a re-encoded copy of a screenshot, not its bytes.
func isPNG(b []byte) bool {
	img, err := pngenc.Decode(bytes.NewReader(b))
	return err == nil && img.Bounds().Dx() == 6 && img.Bounds().Dy() == 4
}

// walker is one user of the walk.
type walker struct {
	name string
	role staff.Role
	org  orgs.Created
}

// TestAccessWalk walks every console route as every role of two
// organisations and as an anonymous visitor. Pointed at the other
// organisation's report (or member), every request is "not found" (or the
// login page), shows nothing of it and changes nothing; a route above the
// user's role is "not found"; pointed at the user's own organisation, the
// same routes work, so the walk is not vacuous.
func TestAccessWalk(t *testing.T) {
	each(t, func(t *testing.T, s *site) {
		intake, child := s.IntakeOrg(), s.ChildOrg()
		s.AddEnrolledUser(child, "child-admin", staff.RoleOrgAdmin)
		walkers := []walker{
			{"demo-caseworker", staff.RoleCaseworker, intake},
			{"demo-admin", staff.RoleOrgAdmin, intake},
			{"demo-coordinator", staff.RoleCoordinator, intake},
			{"demo-child-caseworker", staff.RoleCaseworker, child},
			{"child-admin", staff.RoleOrgAdmin, child},
		}
		secrets := map[string]struct {
			tg     target
			words  []string
			worker string
		}{}
		for _, o := range []struct {
			org    orgs.Created
			tag    string
			child  bool
			worker string
		}{{intake, "A-5521", false, "demo-caseworker"}, {child, "B-7734", true, "demo-child-caseworker"}} {
			tg, words := secretReport(t, s, o.tag, o.child, o.worker)
			tg.member = s.User(o.worker).ID
			words = append(words, o.worker)
			// An alert contact, which no other organisation may see or remove.
			ct, err := s.App.Alerts.AddContact(s.Ctx(), audit.ActorSystem, o.org.Org.ID, "email", "alerts-"+o.tag+"@secret.example.org")
			if err != nil {
				t.Fatal(err)
			}
			tg.contact = ct.ID
			words = append(words, ct.Address)
			secrets[o.org.Org.ID] = struct {
				tg     target
				words  []string
				worker string
			}{tg, words, o.worker}
		}
		otherOf := map[string]string{intake.Org.ID: child.Org.ID, child.Org.ID: intake.Org.ID}
		snapshot := func(id string) string {
			r, _ := s.App.Store.Report(s.Ctx(), id)
			ns, _ := s.App.Store.Notes(s.Ctx(), id)
			ms, _ := s.App.Store.Messages(s.Ctx(), id)
			return fmt.Sprintf("%s|%s|%s|%v|%d|%d|%v", r.Status, r.AssignedTo, r.GBVType, r.ContextFlags, len(ns), len(ms), r.OpenedAt)
		}
		before := map[string]string{}
		for org, sec := range secrets {
			before[org] = snapshot(sec.tg.report)
		}

		routes := s.App.Console.Routes()
		if len(routes) < 20 {
			t.Fatalf("only %d routes", len(routes))
		}
		var logout console.Route
		head := s.AuditHead()
		requests := 0
		for _, w := range walkers {
			b := s.login(t, w.name)
			csrf := b.csrf()
			other := secrets[otherOf[w.org.Org.ID]]
			for _, rt := range routes {
				if rt.Role == "" {
					continue // public: login and enrolment, no parameters
				}
				if rt.Pattern == "/console/logout" {
					logout = rt
					continue
				}
				path := other.tg.path(rt.Pattern)
				var r response
				if rt.Method == "GET" {
					r = b.get(path)
				} else {
					r = b.post(path, walkForm(csrf, w.name+"-walk", s.User(w.name).ID))
				}
				requests++
				what := fmt.Sprintf("%s as %s: %s %s", w.role, w.name, rt.Method, path)
				above := !can(w.role, rt.Role)
				switch {
				case strings.Contains(strings.ReplaceAll(rt.Pattern, "{$}", ""), "{"):
					expect(t, what, r, http.StatusNotFound)
				case above:
					expect(t, what+" (above the role)", r, http.StatusNotFound, "This page does not exist")
				default: // the user's own organisation's pages
					if r.StatusCode == http.StatusNotFound || r.StatusCode == http.StatusForbidden || r.StatusCode >= 500 {
						t.Errorf("%s: %d", what, r.StatusCode)
					}
				}
				for _, word := range other.words {
					if strings.Contains(r.body, word) {
						t.Errorf("%s: the page shows %q of the other organisation", what, word)
					}
				}
			}
		}
		if es := s.AuditSince(head, string(audit.ReportRead), string(audit.AttachmentRevealed), string(audit.StatusChanged),
			string(audit.Assigned), string(audit.NoteAdded), string(audit.MessageSent), string(audit.ClassificationChanged),
			string(audit.MemberDisabled), string(audit.MemberEnabled), string(audit.MemberUnlocked)); len(es) != 0 {
			t.Errorf("the cross-organisation walk read or changed something: %+v", es)
		}
		for org, sec := range secrets {
			if got := snapshot(sec.tg.report); got != before[org] {
				t.Errorf("the walk changed a report: %s → %s", before[org], got)
			}
			if u := s.User(sec.worker); u.Disabled {
				t.Errorf("the walk disabled %s", sec.worker)
			}
			if c, err := s.App.Store.AlertContact(s.Ctx(), sec.tg.contact); err != nil || c.OrgID != org {
				t.Errorf("the walk removed or moved %s's alert contact: %v", org, err)
			}
		}
		if requests < len(walkers)*12 {
			t.Errorf("only %d requests walked", requests)
		}

		// Anonymous: every route but the public ones goes to the login page.
		anon := s.browser(t)
		for _, rt := range routes {
			if rt.Role == "" {
				continue
			}
			for _, sec := range secrets {
				path := sec.tg.path(rt.Pattern)
				var r response
				if rt.Method == "GET" {
					r = anon.get(path)
				} else {
					r = anon.post(path, walkForm("", "anon-walk", ""))
				}
				if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/console/login" {
					t.Errorf("anonymous %s %s: %d to %q", rt.Method, path, r.StatusCode, r.Header.Get("Location"))
				}
				for _, word := range sec.words {
					if strings.Contains(r.body, word) {
						t.Errorf("anonymous %s %s shows %q", rt.Method, path, word)
					}
				}
			}
		}

		// The same routes on the user's own organisation work: a fresh
		// report and a throwaway member for each user.
		for i, w := range walkers {
			b := s.login(t, w.name)
			csrf := b.csrf()
			sub := s.Submit(apptest.Report(func(in *reporting.Input) {
				if w.org.Org.ChildProtection {
					in.About, in.AgeBand = "child", "16-17"
				}
				in.Narrative = "Own-" + w.name
				in.Files = []reporting.Upload{{ContentType: "image/png", Data: png(t)}}
			}))
			atts, _ := s.App.Store.Attachments(s.Ctx(), sub.Report.ID)
			mate := s.AddEnrolledUser(w.org, fmt.Sprintf("mate-%d", i), staff.RoleCaseworker)
			ct, err := s.App.Alerts.AddContact(s.Ctx(), audit.ActorSystem, w.org.Org.ID, "sms", fmt.Sprintf("0711 000 %03d", i))
			if err != nil {
				t.Fatal(err)
			}
			own := target{report: sub.Report.ID, attachment: atts[0].ID, member: s.User(mate.Username).ID, contact: ct.ID}
			for _, rt := range routes {
				if rt.Role == "" || rt.Pattern == "/console/logout" {
					continue
				}
				path := own.path(rt.Pattern)
				want, ok := ownStatus[rt.Method+" "+rt.Pattern]
				if !ok {
					if i == 0 {
						t.Logf("%s %s: no own-organisation check in the walk yet", rt.Method, rt.Pattern)
					}
					continue
				}
				if !can(w.role, rt.Role) {
					want = http.StatusNotFound
				}
				var r response
				if rt.Method == "GET" {
					r = b.get(path)
				} else {
					r = b.post(path, walkForm(csrf, fmt.Sprintf("own-%d-%s", i, strings.ReplaceAll(rt.Pattern[9:], "/", "-")), s.User(w.name).ID))
				}
				expect(t, fmt.Sprintf("own organisation, %s: %s %s", w.name, rt.Method, rt.Pattern), r, want)
				if rt.Pattern == "/console/reports/{id}" && !r.has("Own-"+w.name) {
					t.Errorf("%s does not see their own report's narrative", w.name)
				}
				if rt.Pattern == "/console/reports/{id}/attachments/{att}" && (!isPNG([]byte(r.body)) || r.Header.Get("Content-Type") != "image/png") {
					t.Errorf("%s: own attachment %q", w.name, r.Header.Get("Content-Type"))
				}
			}
			// Logout last.
			expect(t, w.name+" logout", b.post(logout.Pattern, url.Values{"csrf": {csrf}}), http.StatusOK, "You are logged out")
		}
		if es := s.AuditSince(head, string(audit.ReportRead)); len(es) < len(walkers) {
			t.Errorf("own-organisation reads audited: %d", len(es))
		}
	})
}

// ownStatus is what each route answers on the user's own organisation,
// with walkForm's values.
var ownStatus = map[string]int{
	"GET /console/{$}":                            http.StatusOK,
	"GET /console/intake":                         http.StatusOK,
	"POST /console/intake":                        http.StatusUnprocessableEntity, // walkForm's channel "email" is not an intake channel, and it has no form token
	"GET /console/reports/{id}":                   http.StatusOK,
	"GET /console/reports/{id}/attachments/{att}": http.StatusOK,
	"POST /console/reports/{id}/status":           http.StatusSeeOther,
	"POST /console/reports/{id}/assign":           http.StatusSeeOther,
	"POST /console/reports/{id}/classify":         http.StatusSeeOther,
	"POST /console/reports/{id}/note":             http.StatusSeeOther,
	"POST /console/reports/{id}/message":          http.StatusSeeOther,
	"GET /console/password":                       http.StatusOK,
	"POST /console/password":                      http.StatusUnprocessableEntity, // the two new passwords differ
	"GET /console/members":                        http.StatusOK,
	"POST /console/members":                       http.StatusOK,
	"POST /console/members/{id}/disable":          http.StatusSeeOther,
	"POST /console/members/{id}/enable":           http.StatusSeeOther,
	"GET /console/alerts":                         http.StatusOK,
	"POST /console/alerts":                        http.StatusSeeOther,
	"POST /console/alerts/{contact}/delete":       http.StatusSeeOther,
	"GET /console/health":                         http.StatusOK,
}

// walkForm has a plausible value for every field any console form posts.
func walkForm(csrf, username, self string) url.Values {
	f := url.Values{"status": {"in_review"}, "user": {self}, "gbv_type": {"rape"}, "flag": {"online"},
		"text": {"walk text"}, "username": {username}, "name": {"Walker"}, "role": {"caseworker"},
		"old": {"x"}, "new": {"first new password"}, "new2": {"second new password"},
		"channel": {"email"}, "address": {strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
				return r
			}
			return -1
		}, username) + "@walk.example.org"}}
	if csrf != "" {
		f.Set("csrf", csrf)
	}
	return f
}

// can mirrors staff.Principal.Can, independently.
func can(have, need staff.Role) bool {
	rank := map[staff.Role]int{staff.RoleCaseworker: 1, staff.RoleOrgAdmin: 2, staff.RoleCoordinator: 3}
	return rank[have] >= rank[need]
}
