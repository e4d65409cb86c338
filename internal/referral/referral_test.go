package referral_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/salama-ke/salama/internal/app/apptest"
	"github.com/salama-ke/salama/internal/casework"
	"github.com/salama-ke/salama/internal/directory"
	"github.com/salama-ke/salama/internal/orgs"
	"github.com/salama-ke/salama/internal/referral"
	"github.com/salama-ke/salama/internal/reporting"
	"github.com/salama-ke/salama/internal/seal"
	"github.com/salama-ke/salama/internal/store"
	"github.com/salama-ke/salama/internal/store/storetest"
)

// survivor logs in with a receipt and returns the session.
func survivor(t *testing.T, e *apptest.Env, receipt string) *reporting.CheckSession {
	t.Helper()
	r, err := seal.ParseReceipt(receipt)
	if err != nil {
		t.Fatal(err)
	}
	cookie, err := e.App.Reporting.LogIn(e.Ctx(), r)
	if err != nil {
		t.Fatal(err)
	}
	s, err := e.App.Reporting.Session(e.Ctx(), cookie)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func trustOrg(t *testing.T, e *apptest.Env) orgs.Created {
	t.Helper()
	for _, o := range e.App.Demo.Orgs {
		if !o.Org.Intake && !o.Org.ChildProtection {
			return o
		}
	}
	t.Fatal("no legal & shelter trust in the demo")
	return orgs.Created{}
}

func onlyReferral(t *testing.T, e *apptest.Env, reportID string) store.Referral {
	t.Helper()
	refs, err := e.App.Store.Referrals(e.Ctx(), reportID)
	if err != nil || len(refs) != 1 {
		t.Fatalf("%d referrals, %v", len(refs), err)
	}
	return refs[0]
}

// The walk of issue 4: a report goes from the intake organisation, with the
// survivor's yes on the check page, to a member organisation that receives
// only the agreed fields, accepts and completes; the survivor sees each step.
func TestReferralAcrossTwoOrganisations(t *testing.T) {
	storetest.EachDB(t, func(t *testing.T, db storetest.DB) {
		e := apptest.New(t, db)
		cw, st := e.App.Casework, e.App.Store
		receipt := e.App.Demo.Receipts[0] // trafficking, Nairobi, 18–24, wants shelter and police
		reportID := e.ReportOfReceipt(receipt)
		p := e.Principal("demo-caseworker")

		panel, err := cw.Referrals(e.Ctx(), p, reportID)
		if err != nil {
			t.Fatal(err)
		}
		var shelter, desk *casework.ReferralOption
		for i, o := range panel.Options {
			switch o.Service.ID {
			case "demo-trust-shelter-women":
				shelter = &panel.Options[i]
			case "demo-police-gender-desk":
				desk = &panel.Options[i]
			}
			if o.Service.OrgID == p.OrgID {
				t.Errorf("offered the organisation's own service %s", o.Service.ID)
			}
		}
		if shelter == nil || !shelter.InSalama || desk == nil || desk.InSalama {
			t.Fatalf("options: shelter %+v, police desk %+v", shelter, desk)
		}

		if err := cw.CreateReferral(e.Ctx(), p, reportID, casework.NewReferral{ServiceID: shelter.Service.ID,
			Fields: []string{referral.FieldNarrative, referral.FieldSituation}, Mode: casework.ModeAsk}); err != nil {
			t.Fatal(err)
		}
		ref := onlyReferral(t, e, reportID)
		if ref.State != store.ReferralAwaitingConsent || ref.ReferredReportID != "" {
			t.Fatalf("before consent: %+v", ref)
		}
		trust := trustOrg(t, e)
		pt := e.Principal("demo-legal-caseworker")
		// Nothing reaches the other organisation before the survivor agrees,
		// and it cannot move the request on itself.
		if err := cw.ReferralAction(e.Ctx(), pt, ref.ID, casework.ActionAccept, ""); !errors.Is(err, casework.ErrBadTransition) {
			t.Errorf("accept before consent: %v", err)
		}

		s := survivor(t, e, receipt)
		seen, err := s.Referrals(e.Ctx())
		if err != nil || len(seen) != 1 || !seen[0].CanAnswer || seen[0].Service.ID != shelter.Service.ID {
			t.Fatalf("survivor sees %+v, %v", seen, err)
		}
		if err := s.AnswerReferral(e.Ctx(), ref.ID, true); err != nil {
			t.Fatal(err)
		}
		if err := s.AnswerReferral(e.Ctx(), ref.ID, true); !errors.Is(err, reporting.ErrReferralGone) {
			t.Errorf("answering twice: %v", err)
		}
		ref = onlyReferral(t, e, reportID)
		if ref.State != store.ReferralSent || ref.Consent != referral.ConsentSurvivor || ref.ReferredReportID == "" || ref.ToOrg != trust.Org.ID {
			t.Fatalf("after consent: %+v", ref)
		}
		if r, _ := st.Report(e.Ctx(), reportID); r.Status != store.StatusReferred {
			t.Errorf("original report status %s, want referred", r.Status)
		}

		// The receiving organisation reads exactly what was agreed.
		orig, err := cw.Open(e.Ctx(), p, reportID)
		if err != nil {
			t.Fatal(err)
		}
		got, err := cw.Open(e.Ctx(), pt, ref.ReferredReportID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Narrative != orig.Narrative || got.Narrative == "" {
			t.Errorf("narrative not shared as written")
		}
		if len(got.Identifiers) != 0 || got.Contact != nil || len(got.Attachments) != 0 {
			t.Errorf("unshared fields reached the receiving organisation: %+v %+v", got.Identifiers, got.Contact)
		}
		if got.Report.County != "nairobi" || got.Report.Kind != "referral" || got.Report.ConsentStats {
			t.Errorf("copy's clear fields: %+v", got.Report)
		}
		if _, err := cw.Open(e.Ctx(), pt, reportID); !errors.Is(err, casework.ErrNotFound) {
			t.Errorf("receiving organisation opened the original: %v", err)
		}
		// And cryptographically: its key opens no wrap of the original.
		key, err := orgs.Recover(e.Ctx(), st, e.App.KDF, trust.Org.ID, trust.RecoveryCode)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := st.ReportWrap(e.Ctx(), reportID, "org:"+trust.Org.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("the original is wrapped to the receiving organisation: %v", err)
		}
		intakeWrap, _, err := st.ReportWrap(e.Ctx(), reportID, "org:"+p.OrgID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := key.UnwrapDataKey(intakeWrap); err == nil {
			t.Error("the receiving organisation's key opened the original's data key")
		}
		fields, err := st.ReportFields(e.Ctx(), ref.ReferredReportID)
		if err != nil {
			t.Fatal(err)
		}
		for name := range fields {
			if name != "narrative" && name != "country" {
				t.Errorf("copy holds sealed field %q that was not agreed", name)
			}
		}

		// Accept, then complete; illegal steps fail.
		if err := cw.ReferralAction(e.Ctx(), pt, ref.ID, casework.ActionComplete, "service_given"); !errors.Is(err, casework.ErrBadTransition) {
			t.Errorf("complete before accept: %v", err)
		}
		if err := cw.ReferralAction(e.Ctx(), p, ref.ID, casework.ActionAccept, ""); !errors.Is(err, casework.ErrBadTransition) {
			t.Errorf("the sender accepted its own referral: %v", err)
		}
		if err := cw.ReferralAction(e.Ctx(), e.Principal("demo-child-caseworker"), ref.ID, casework.ActionAccept, ""); !errors.Is(err, casework.ErrNotFound) {
			t.Errorf("a third organisation acted: %v", err)
		}
		if err := cw.ReferralAction(e.Ctx(), pt, ref.ID, casework.ActionAccept, ""); err != nil {
			t.Fatal(err)
		}
		if err := cw.ReferralAction(e.Ctx(), pt, ref.ID, casework.ActionComplete, "made-up"); !errors.Is(err, casework.ErrInvalid) {
			t.Errorf("complete with an unknown outcome: %v", err)
		}
		if err := cw.ReferralAction(e.Ctx(), pt, ref.ID, casework.ActionComplete, "service_given"); err != nil {
			t.Fatal(err)
		}
		seen, _ = s.Referrals(e.Ctx())
		if seen[0].State != store.ReferralCompleted || seen[0].CanStop || seen[0].CanAnswer {
			t.Errorf("survivor sees %+v", seen[0])
		}
		var actions []string
		for _, en := range e.Audit() {
			if en.ReportID == reportID {
				actions = append(actions, en.Action)
			}
		}
		for _, want := range []string{"referral.created", "referral.sent", "referral.accepted", "referral.completed"} {
			if !slices.Contains(actions, want) {
				t.Errorf("audit lacks %s: %v", want, actions)
			}
		}
	})
}

// No referral is sent without consent; the only way round it is the
// child-protection override, which is audited and shown to the survivor.
func TestConsentGatesEveryReferral(t *testing.T) {
	e := apptest.New(t, storetest.NewDB(t, store.SQLite))
	cw := e.App.Casework
	adultReport := e.ReportOfReceipt(e.App.Demo.Receipts[0])
	p := e.Principal("demo-caseworker")
	for name, n := range map[string]casework.NewReferral{
		"at submission, not given": {ServiceID: "demo-trust-legal-aid", Fields: []string{referral.FieldSituation}, Mode: casework.ModeAtSubmit},
		"override for an adult":    {ServiceID: "demo-county-childrens-office", Fields: []string{referral.FieldSituation}, Mode: casework.ModeOverride, Justification: "a long enough justification that would otherwise pass the check", HandoffMethod: "phone_call"},
		"no mode":                  {ServiceID: "demo-trust-legal-aid", Fields: []string{referral.FieldSituation}},
		"no fields":                {ServiceID: "demo-trust-legal-aid", Mode: casework.ModePhone},
		"unknown field":            {ServiceID: "demo-trust-legal-aid", Fields: []string{"thread"}, Mode: casework.ModePhone},
		"own service":              {ServiceID: "demo-intake-counselling", Fields: []string{referral.FieldSituation}, Mode: casework.ModePhone},
		"outside, no hand-off":     {ServiceID: "demo-police-gender-desk", Fields: []string{referral.FieldSituation}, Mode: casework.ModePhone},
	} {
		if err := cw.CreateReferral(e.Ctx(), p, adultReport, n); !errors.Is(err, casework.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	if refs, _ := e.App.Store.Referrals(e.Ctx(), adultReport); len(refs) != 0 {
		t.Fatalf("%d referrals stored from refused requests", len(refs))
	}

	// A child's report: adult-only services are neither offered nor accepted.
	childReceipt := e.App.Demo.Receipts[1] // a 14-year-old in Mombasa, routed to child protection
	childReport := e.ReportOfReceipt(childReceipt)
	pc := e.Principal("demo-child-caseworker")
	panel, err := cw.Referrals(e.Ctx(), pc, childReport)
	if err != nil {
		t.Fatal(err)
	}
	if !panel.Child || len(panel.Options) == 0 {
		t.Fatalf("child panel: %+v", panel)
	}
	for _, o := range panel.Options {
		if o.Service.Ages == directory.AgesAdults {
			t.Errorf("adult-only service %s offered for a child", o.Service.ID)
		}
	}
	if err := cw.CreateReferral(e.Ctx(), pc, childReport, casework.NewReferral{ServiceID: "demo-trust-shelter-women",
		Fields: []string{referral.FieldSituation}, Mode: casework.ModePhone}); !errors.Is(err, casework.ErrInvalid) {
		t.Errorf("child referred to an adult-only service: %v", err)
	}
	short := casework.NewReferral{ServiceID: "demo-county-childrens-office", Fields: []string{referral.FieldSituation, referral.FieldNarrative},
		Mode: casework.ModeOverride, Justification: "at risk", HandoffMethod: "phone_call"}
	if err := cw.CreateReferral(e.Ctx(), pc, childReport, short); !errors.Is(err, casework.ErrInvalid) {
		t.Errorf("override without a real justification: %v", err)
	}
	before := e.AuditHead()
	short.Justification = "The person threatening her says he will come to the school on Friday; her mother cannot keep her home."
	if err := cw.CreateReferral(e.Ctx(), pc, childReport, short); err != nil {
		t.Fatal(err)
	}
	ref := onlyReferral(t, e, childReport)
	if ref.State != store.ReferralSent || ref.Consent != referral.ConsentOverride || ref.ToOrg != "" || ref.HandoffMethod != "phone_call" {
		t.Errorf("override referral: %+v", ref)
	}
	if len(e.AuditSince(before, "referral.override")) != 1 {
		t.Error("the override is not audited")
	}
	s := survivor(t, e, childReceipt)
	seen, err := s.Referrals(e.Ctx())
	if err != nil || len(seen) != 1 || seen[0].Justification != short.Justification || seen[0].Consent != referral.ConsentOverride {
		t.Errorf("the survivor does not see the override and its reason: %+v %v", seen, err)
	}
	// The recorded hand-off's answers are recorded by the sender.
	if err := cw.ReferralAction(e.Ctx(), pc, ref.ID, casework.ActionAccept, ""); err != nil {
		t.Errorf("recording an outside service's acceptance: %v", err)
	}
}

// The survivor can stop a referral at any open step, and withdrawing the
// report reaches the copies it went to.
func TestSurvivorStopsAndWithdraws(t *testing.T) {
	storetest.EachDB(t, func(t *testing.T, db storetest.DB) {
		e := apptest.New(t, db)
		cw, st := e.App.Casework, e.App.Store
		sub := e.Submit(apptest.Report(func(in *reporting.Input) {
			in.County, in.Help, in.Share, in.Narrative = "nairobi", []string{"legal"}, "refer", "Words that must leave with the survivor."
			in.ShareLegal = true // legal aid takes its own tick
		}))
		p := e.Principal("demo-caseworker")
		send := func() store.Referral {
			t.Helper()
			if err := cw.CreateReferral(e.Ctx(), p, sub.Report.ID, casework.NewReferral{ServiceID: "demo-trust-legal-aid",
				Fields: []string{referral.FieldNarrative}, Mode: casework.ModeAtSubmit}); err != nil {
				t.Fatal(err)
			}
			refs, _ := st.Referrals(e.Ctx(), sub.Report.ID)
			return refs[len(refs)-1]
		}
		ref := send()
		if ref.State != store.ReferralSent || ref.Consent != referral.ConsentAtSubmission || ref.ReferredReportID == "" {
			t.Fatalf("sent with consent from submission: %+v", ref)
		}
		s := survivor(t, e, sub.Receipt.String())
		seen, _ := s.Referrals(e.Ctx())
		if len(seen) != 1 || !seen[0].CanStop {
			t.Fatalf("survivor is not told or cannot stop it: %+v", seen)
		}
		if err := s.StopReferral(e.Ctx(), ref.ID); err != nil {
			t.Fatal(err)
		}
		pt := e.Principal("demo-legal-caseworker")
		if _, err := cw.Open(e.Ctx(), pt, ref.ReferredReportID); !errors.Is(err, casework.ErrNotFound) {
			t.Errorf("the copy survived the survivor stopping the referral: %v", err)
		}
		if f, _ := st.ReportFields(e.Ctx(), ref.ReferredReportID); len(f) != 0 {
			t.Errorf("%d sealed fields left in the stopped copy", len(f))
		}

		ref = send()
		if err := s.Withdraw(e.Ctx()); err != nil {
			t.Fatal(err)
		}
		if f, _ := st.ReportFields(e.Ctx(), ref.ReferredReportID); len(f) != 0 {
			t.Errorf("withdrawal left %d sealed fields in the copy", len(f))
		}
		if w, _, err := st.ReportWrap(e.Ctx(), ref.ReferredReportID, "org:"+ref.ToOrg); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("withdrawal left the copy's key wrap: %v %d", err, len(w))
		}
		after, _ := st.Referral(e.Ctx(), ref.ID)
		if after.State != store.ReferralRevoked || after.Reason != "withdrawn" {
			t.Errorf("referral after withdrawal: %+v", after)
		}
	})
}
