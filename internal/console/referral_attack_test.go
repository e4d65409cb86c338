package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/salama-ke/salama/internal/app/apptest"
	"github.com/salama-ke/salama/internal/audit"
	"github.com/salama-ke/salama/internal/directory"
	"github.com/salama-ke/salama/internal/reporting"
	"github.com/salama-ke/salama/internal/staff"
	"github.com/salama-ke/salama/internal/store"
)

// refusalsSince returns the referral.refused details recorded after seq.
func (s *site) refusalsSince(seq int64) []string {
	var out []string
	for _, e := range s.AuditSince(seq, string(audit.ReferralRefused)) {
		out = append(out, e.Detail)
	}
	return out
}

// addService adds a service as the demo coordinator would.
func (s *site) addService(t *testing.T, svc directory.Service) {
	t.Helper()
	p := s.Principal("demo-coordinator")
	defer p.Close()
	if svc.Channels.IsZero() {
		svc.Channels.Phone = "0700 100 200"
	}
	if _, err := s.App.Network.AddService(s.Ctx(), p, svc); err != nil {
		t.Fatalf("add %s: %v", svc.ID, err)
	}
}

// checkLogin logs a survivor in on the check page and returns the browser
// and the page's CSRF token.
func (s *site) checkLogin(t *testing.T, receipt string) (*browser, string) {
	t.Helper()
	b := s.browser(t)
	if r := b.post("/en/check", url.Values{"receipt": {receipt}, "token": {s.App.Reporting.NewLoginToken()}}); r.StatusCode != http.StatusSeeOther || b.check == "" {
		t.Fatalf("receipt login: %d", r.StatusCode)
	}
	return b, match(t, csrfRE, b.get("/en/check/report").body, "check csrf")
}

// What an attacker with a caseworker's login, or an organisation admin's,
// tries against the consent scope: forged service ids, consent by phone to
// another kind of service, marking a service as child protection, and a
// directory edit after the survivor was asked. Each is refused in words,
// audited, and discloses nothing.
func TestReferralAttacks(t *testing.T) {
	each(t, func(t *testing.T, s *site) {
		trust := s.trustOrg()
		s.addService(t, directory.Service{ID: "atk-counselling", OrgID: trust.Org.ID, Name: "Attack Counselling", Type: directory.TypeCounselling,
			Counties: []string{"nairobi"}, Ages: directory.AgesAll})
		s.addService(t, directory.Service{ID: "atk-shelter", OrgID: trust.Org.ID, Name: "Attack Shelter", Type: directory.TypeShelter,
			Counties: []string{"nairobi"}, Ages: directory.AgesAll})
		s.addService(t, directory.Service{ID: "atk-cp", OrgID: trust.Org.ID, Name: "Attack Child Protection", Type: directory.TypeChildProtection,
			Counties: []string{"nairobi"}, Ages: directory.AgesChildren, ChildProtection: true})
		adult := s.Submit(apptest.Report(func(in *reporting.Input) {
			in.AgeBand, in.County, in.Help, in.Share = "25plus", "nairobi", []string{"counselling", "shelter", "police"}, "refer"
			in.Narrative = "Attack narrative"
		}))
		cw := s.login(t, "demo-caseworker")
		csrf := cw.csrf()
		path := "/console/reports/" + adult.Report.ID
		refer := func(b *browser, csrf, reportPath string, f url.Values) response {
			t.Helper()
			f.Set("csrf", csrf)
			if f.Get("field") == "" {
				f.Set("field", "narrative")
			}
			return b.post(reportPath+"/referrals", f)
		}
		nothingSent := func(what, reportID string, want int) {
			t.Helper()
			refs, err := s.App.Store.Referrals(s.Ctx(), reportID)
			if err != nil || len(refs) != want {
				t.Fatalf("%s: %d referrals, want %d (%v)", what, len(refs), want, err)
			}
		}

		// Forged posts: services the console never offered, consent by
		// phone to another kind, the police without her tick.
		for _, tc := range []struct {
			name   string
			form   url.Values
			detail string
			says   string
		}{
			{"no such service", url.Values{"service": {"no-such-service"}, "mode": {"at_submission"}},
				"consent=at_submission reason=unknown_service", "There is no such service in the directory"},
			{"a built-in national line", url.Values{"service": {directory.LineGBV1195}, "mode": {"ask"}},
				"consent=ask reason=unknown_service", "There is no such service in the directory"},
			{"another county", url.Values{"service": {"demo-trust-shelter-kisumu"}, "mode": {"at_submission"}},
				"service=demo-trust-shelter-kisumu consent=at_submission reason=not_offered", "is not one offered for this report"},
			{"own organisation", url.Values{"service": {"demo-intake-counselling"}, "mode": {"ask"}},
				"service=demo-intake-counselling consent=ask reason=not_offered", "is not one offered for this report"},
			{"children only, for an adult", url.Values{"service": {"demo-child-shelter"}, "mode": {"ask"}},
				"service=demo-child-shelter consent=ask reason=children_only", "is for children only, and this report is about an adult."},
			{"by phone to another kind", url.Values{"service": {"atk-counselling"}, "mode": {"phone"}, "agreed_type": {"police_desk"}},
				"service=atk-counselling consent=phone reason=phone_type_mismatch",
				"The survivor agreed on the phone to this kind of service: Police gender desk. “Attack Counselling” is of another kind (Counselling)."},
			{"by phone without the kind", url.Values{"service": {"atk-counselling"}, "mode": {"phone"}},
				"service=atk-counselling consent=phone reason=phone_type_missing", "Choose the kind of service the survivor agreed to on the phone."},
			{"police desk at submission", url.Values{"service": {"demo-police-gender-desk"}, "mode": {"at_submission"}, "handoff": {"phone_call"}},
				"service=demo-police-gender-desk consent=at_submission reason=police_not_chosen", "The police get nothing unless the survivor chooses it"},
			{"override for an adult", url.Values{"service": {"atk-cp"}, "mode": {"override"}, "justification": {strings.Repeat("x", 50)}},
				"service=atk-cp consent=override reason=children_only", "is for children only"},
		} {
			head := s.AuditHead()
			r := refer(cw, csrf, path, tc.form)
			expect(t, tc.name, r, http.StatusForbidden, "The referral was not made, and nothing was shared.", tc.says)
			if got := s.refusalsSince(head); len(got) != 1 || got[0] != tc.detail {
				t.Errorf("%s: refusals %q, want %q", tc.name, got, tc.detail)
			}
			nothingSent(tc.name, adult.Report.ID, 0)
		}

		// Consent given before an edit: a request waiting for her, a
		// phone consent to counselling, a referral at submission.
		for _, f := range []url.Values{
			{"service": {"atk-counselling"}, "mode": {"ask"}},
			{"service": {"atk-counselling"}, "mode": {"phone"}, "agreed_type": {"counselling"}},
			{"service": {"atk-counselling"}, "mode": {"at_submission"}},
		} {
			if r := refer(cw, csrf, path, f); r.StatusCode != http.StatusSeeOther {
				t.Fatalf("%s before the edit: %d\n%.2000s", f.Get("mode"), r.StatusCode, r.body)
			}
		}
		nothingSent("before the edit", adult.Report.ID, 3)
		refs, _ := s.App.Store.Referrals(s.Ctx(), adult.Report.ID)
		var pending store.Referral
		for _, ref := range refs {
			if ref.State == store.ReferralAwaitingConsent {
				pending = ref
			}
		}

		// The trust's admin turns the counselling service into a police desk.
		trustAdmin := s.AddEnrolledUser(trust, "trust-admin", staff.RoleOrgAdmin)
		ta := s.login(t, trustAdmin.Username)
		if r := ta.post("/console/directory/services/atk-counselling", serviceForm(ta.csrf(), func(f url.Values) {
			f.Set("name", "Attack Counselling")
			f.Set("type", "police_desk")
			f["counties"] = []string{"nairobi"}
		})); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("edit: %d\n%.2000s", r.StatusCode, r.body)
		}
		head := s.AuditHead()
		r := refer(cw, csrf, path, url.Values{"service": {"atk-counselling"}, "mode": {"at_submission"}})
		expect(t, "at submission after the edit", r, http.StatusForbidden, "The police get nothing unless the survivor chooses it")
		if got := s.refusalsSince(head); len(got) != 1 || got[0] != "service=atk-counselling consent=at_submission reason=police_not_chosen" {
			t.Errorf("refusal after the edit: %q", got)
		}
		// Her yes to the request made before the edit passes nothing on.
		sv, scsrf := s.checkLogin(t, adult.Receipt.String())
		head = s.AuditHead()
		r = sv.post("/en/check/referral", url.Values{"csrf": {scsrf}, "referral": {pending.ID}, "action": {"agree"}})
		expect(t, "yes after the edit", r, http.StatusConflict, "Nothing was passed on: this service changed after your helper asked you.",
			"the service changed after you were asked, so nothing was passed on")
		if got, _ := s.App.Store.Referral(s.Ctx(), pending.ID); got.State != store.ReferralRevoked || got.Reason != reporting.ReasonNoLongerFits || got.ReferredReportID != "" {
			t.Errorf("the request after her yes: %+v", got)
		}
		if got := s.refusalsSince(head); len(got) != 1 || !strings.HasSuffix(got[0], "service=atk-counselling consent=survivor reason=service_changed") {
			t.Errorf("refusal of her yes: %q", got)
		}
		// The counselling referral sent by phone is not police consent,
		// though its service is a police desk now.
		expect(t, "bundle after the edit", cw.post(path+"/bundle", url.Values{"csrf": {csrf}}), http.StatusForbidden,
			"No evidence bundle: the survivor has not chosen the police.")

		// A service moved to another organisation after she was asked.
		other := s.Submit(apptest.Report(func(in *reporting.Input) { in.AgeBand, in.County = "25plus", "nairobi" }))
		if r := refer(cw, csrf, "/console/reports/"+other.Report.ID, url.Values{"service": {"atk-shelter"}, "mode": {"ask"}}); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("ask: %d", r.StatusCode)
		}
		coord := s.Principal("demo-coordinator")
		moved := *s.service("atk-shelter")
		moved.OrgID = s.ChildOrg().Org.ID
		if err := s.App.Network.UpdateService(s.Ctx(), coord, moved.ID, moved); err != nil {
			t.Fatal(err)
		}
		coord.Close()
		refs, _ = s.App.Store.Referrals(s.Ctx(), other.Report.ID)
		sv2, scsrf2 := s.checkLogin(t, other.Receipt.String())
		head = s.AuditHead()
		expect(t, "yes after a move", sv2.post("/en/check/referral", url.Values{"csrf": {scsrf2}, "referral": {refs[0].ID}, "action": {"agree"}}),
			http.StatusConflict, "Nothing was passed on")
		if got := s.refusalsSince(head); len(got) != 1 || !strings.HasSuffix(got[0], "reason=service_moved") {
			t.Errorf("refusal after a move: %q", got)
		}

		// The child-protection mark: an organisation admin cannot give it,
		// not on an edit and not on a new service.
		admin := s.login(t, "demo-admin")
		acsrf := admin.csrf()
		head = s.AuditHead()
		r = admin.post("/console/directory/services/demo-intake-counselling", serviceForm(acsrf, func(f url.Values) {
			f.Set("name", "Example Counselling Rooms (demo)")
			f.Set("type", "counselling")
			f["counties"] = []string{"nairobi"}
			f.Set("child_protection", "1")
		}))
		expect(t, "admin marks", r, http.StatusUnprocessableEntity, "only the network coordinator can mark a service as child protection")
		r = admin.post("/console/directory", serviceForm(acsrf, func(f url.Values) { f.Set("child_protection", "1") }))
		expect(t, "admin adds a marked service", r, http.StatusUnprocessableEntity, "only the network coordinator can mark a service as child protection")
		if svc := s.service("demo-intake-counselling"); svc.ChildProtection || svc.Type != directory.TypeCounselling {
			t.Errorf("the admin's forged mark was stored: %+v", svc)
		}
		if got := s.refused(head); len(got) != 2 || !strings.HasSuffix(got[0], "reason=child_protection_mark") {
			t.Errorf("forged marks recorded as %q", got)
		}
		if es := s.AuditSince(head, string(audit.DirectoryChanged)); len(es) != 0 {
			t.Errorf("a refused mark changed the directory: %+v", es)
		}

		// The override reaches only a marked service. The trust's admin
		// changes the ages of its marked service: the mark goes.
		child := s.Submit(apptest.Report(func(in *reporting.Input) {
			in.About, in.AgeBand, in.County, in.Help = "child", "13-15", "nairobi", []string{"counselling"}
		}))
		cp := s.login(t, "demo-child-caseworker")
		cpcsrf := cp.csrf()
		childPath := "/console/reports/" + child.Report.ID
		override := url.Values{"service": {"atk-cp"}, "mode": {"override"}, "field": {"situation"},
			"justification": {"She is 14 and the man who sells her pictures knows where she sleeps."}}
		head = s.AuditHead()
		if r := ta.post("/console/directory/services/atk-cp", serviceForm(ta.csrf(), func(f url.Values) {
			f.Set("name", "Attack Child Protection")
			f.Set("type", "child_protection")
			f.Set("ages", "all")
			f["counties"] = []string{"nairobi"}
		})); r.StatusCode != http.StatusSeeOther || s.service("atk-cp").ChildProtection {
			t.Fatalf("admin's change of ages: %d, mark %v", r.StatusCode, s.service("atk-cp").ChildProtection)
		}
		if es := s.AuditSince(head, string(audit.DirectoryChanged)); len(es) != 2 || !strings.HasSuffix(es[1].Detail, "change=child_protection_unmarked") {
			t.Errorf("the mark's removal is not audited: %+v", es)
		}
		r = refer(cp, cpcsrf, childPath, override)
		expect(t, "override to an unmarked service", r, http.StatusForbidden,
			"may go only to a service the network coordinator marked as child protection, and “Attack Child Protection” is not marked.")
		nothingSent("override refused", child.Report.ID, 0)
		// The coordinator marks it again, through the console.
		co := s.login(t, "demo-coordinator")
		r = co.post("/console/directory/services/atk-cp", serviceForm(co.csrf(), func(f url.Values) {
			f.Set("org_id", trust.Org.ID)
			f.Set("name", "Attack Child Protection")
			f.Set("type", "child_protection")
			f.Set("ages", "all")
			f["counties"] = []string{"nairobi"}
			f.Set("child_protection", "1")
		}))
		if r.StatusCode != http.StatusSeeOther || !s.service("atk-cp").ChildProtection {
			t.Fatalf("coordinator's mark: %d\n%.2000s", r.StatusCode, r.body)
		}
		if r := refer(cp, cpcsrf, childPath, override); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("override to a marked service: %d\n%.2000s", r.StatusCode, r.body)
		}
		nothingSent("override made", child.Report.ID, 1)
	})
}

// Issue 16 item 10: a referral form that comes back with a problem keeps
// everything typed and ticked, names each problem's field in words at the
// top and says it beside the field, and opens nothing sealed again.
func TestReferralFormKeepsWhatWasTyped(t *testing.T) {
	s := sqliteSite(t)
	s.addService(t, directory.Service{ID: "form-cp", OrgID: s.trustOrg().Org.ID, Name: "Form Child Protection", Type: directory.TypeChildProtection,
		Counties: []string{"nairobi"}, Ages: directory.AgesChildren, ChildProtection: true})
	child := s.Submit(apptest.Report(func(in *reporting.Input) {
		in.About, in.AgeBand, in.County, in.Help = "child", "13-15", "nairobi", []string{"counselling"}
	}))
	b := s.login(t, "demo-child-caseworker")
	csrf := b.csrf()
	path := "/console/reports/" + child.Report.ID
	expect(t, "report page", b.get(path), http.StatusOK, "When reporting, the survivor agreed to: no services for their needs;",
		`<option value="form-cp">Form Child Protection`, "child protection (coordinator's mark)", `value="ask" checked`)

	head := s.AuditHead()
	r := b.post(path+"/referrals", url.Values{"csrf": {csrf}, "service": {"form-cp"}, "field": {"situation", "narrative"},
		"mode": {"override"}, "justification": {"Too short, sorry."}, "handoff": {"letter"}})
	expect(t, "short justification", r, http.StatusUnprocessableEntity,
		"The referral was not made, and nothing was shared. Why the child is at risk: Write why the child is at risk (at least 40 characters).",
		`<option value="form-cp" selected>`, `name="field" value="situation" checked`, `name="field" value="narrative" checked`,
		`value="override" checked`, ">Too short, sorry.</textarea>", `<option value="letter" selected>`, `aria-describedby="justification-problem"`,
		"← Back to report "+child.Report.CaseRef)
	if r.has(`name="field" value="contact" checked`) || r.has(`value="ask" checked`) {
		t.Error("the form came back with choices the caseworker did not make")
	}
	if es := s.AuditSince(head); len(es) != 0 {
		t.Errorf("a form with a problem wrote to the audit log (a read, a referral): %+v", es)
	}

	r = b.post(path+"/referrals", url.Values{"csrf": {csrf}, "service": {"form-cp"}, "agreed_type": {"counselling"}})
	expect(t, "nothing ticked", r, http.StatusUnprocessableEntity,
		"Share only: Tick at least one thing to share.", "Consent: Choose how the survivor gave consent.",
		`<option value="counselling" selected>`)

	// A refusal keeps it all too, and says which field is at fault.
	r = b.post(path+"/referrals", url.Values{"csrf": {csrf}, "service": {"form-cp"}, "field": {"contact"}, "mode": {"phone"}, "agreed_type": {"shelter"}})
	expect(t, "phone to another kind", r, http.StatusForbidden,
		"What they agreed to by phone: The survivor agreed on the phone to this kind of service: Safe place to stay.",
		`name="field" value="contact" checked`, `value="phone" checked`, `<option value="shelter" selected>`, `aria-describedby="agreed-type-problem"`)
	if refs, _ := s.App.Store.Referrals(s.Ctx(), child.Report.ID); len(refs) != 0 {
		t.Errorf("%d referrals after three refused forms", len(refs))
	}
}
