package staff_test

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/salama-ke/salama/internal/app/apptest"
	"github.com/salama-ke/salama/internal/audit"
	"github.com/salama-ke/salama/internal/casework"
	"github.com/salama-ke/salama/internal/orgs"
	"github.com/salama-ke/salama/internal/reporting"
	"github.com/salama-ke/salama/internal/seal"
	"github.com/salama-ke/salama/internal/staff"
	"github.com/salama-ke/salama/internal/store"
)

// trust is the demo's third member organisation (neither intake nor child
// protection), which receives referral copies.
func trust(t *testing.T, e *apptest.Env) orgs.Created {
	t.Helper()
	for _, o := range e.App.Demo.Orgs {
		if !o.Org.Intake && !o.Org.ChildProtection {
			return o
		}
	}
	t.Fatal("no third organisation in the demo")
	return orgs.Created{}
}

// oldKey is what a member who leaves could have kept: their password opens
// their holder key, which opens their copy of the organisation key.
func oldKey(t *testing.T, e *apptest.Env, u *store.User, password string) *seal.OrgIdentity {
	t.Helper()
	params, _ := seal.ParseKDFParams(u.KDFParams)
	_, kek, err := e.App.KDF.Password(e.Ctx(), password, u.KDFSalt, params)
	if err != nil {
		t.Fatal(err)
	}
	h, err := kek.UnwrapHolderIdentity(u.ID, "holder", u.HolderWrap)
	if err != nil {
		t.Fatal(err)
	}
	k, err := h.UnwrapOrgIdentity(u.OrgID, u.OrgKeyGen, u.OrgKeyWrap)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestDisableRotatesOrgKey: disabling a member replaces the organisation's
// key pair. Their copy of the key is gone and their password opens nothing;
// every other member (once logged in again), the admin who did it (at once)
// and the recovery code read every report, old and new, including a
// referral copy the organisation received, before, during and after the
// re-wrap job; a job cut short between two batches resumes and finishes;
// and then the old key opens nothing in the database.
func TestDisableRotatesOrgKey(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		cw, st := e.App.Staff, e.App.Store
		tr := trust(t, e)
		orgID := tr.Org.ID
		e.AddEnrolledUser(tr, "trust-admin", staff.RoleOrgAdmin)
		e.AddEnrolledUser(tr, "trust-stayer", staff.RoleCaseworker)
		leaver := e.AddEnrolledUser(tr, "trust-leaver", staff.RoleCaseworker)

		// Reports of the organisation: its own, and a referral copy it
		// received from the intake organisation.
		org, _ := st.Organisation(e.Ctx(), orgID)
		var ids []string
		narratives := map[string]string{}
		for i := range 7 {
			r := e.PutReport(org, store.Report{}, fmt.Sprintf("Trust report %d", i))
			ids, narratives[r.ID] = append(ids, r.ID), fmt.Sprintf("Trust report %d", i)
		}
		sub := e.Submit(apptest.Report(func(in *reporting.Input) {
			in.County, in.Help, in.Share, in.Narrative = "nairobi", []string{"shelter"}, "refer", "Referred words"
		}))
		if err := e.App.Casework.CreateReferral(e.Ctx(), e.Principal("demo-caseworker"), sub.Report.ID, casework.NewReferral{ServiceID: "demo-trust-shelter-women",
			Fields: []string{"narrative"}, Mode: casework.ModeAtSubmit}); err != nil {
			t.Fatalf("referral: %v", err)
		}
		refs, _ := st.Referrals(e.Ctx(), sub.Report.ID)
		if len(refs) != 1 || refs[0].ReferredReportID == "" {
			t.Fatalf("referrals %+v", refs)
		}
		ids, narratives[refs[0].ReferredReportID] = append(ids, refs[0].ReferredReportID), "Referred words"

		readAll := func(who string, p *staff.Principal) {
			t.Helper()
			for _, id := range ids {
				c, err := e.App.Casework.Open(e.Ctx(), p, id)
				if err != nil || c.Narrative != narratives[id] {
					t.Errorf("%s: report %s: %v %q", who, id, err, c.Narrative)
				}
			}
		}
		leaverUser := e.User("trust-leaver")
		k1 := oldKey(t, e, leaverUser, leaver.Password)
		leaverCookie, stayerCookie := e.Login("trust-leaver"), e.Login("trust-stayer")
		admin := e.Principal("trust-admin")
		intakeCookie := e.Login("demo-caseworker")

		// The job is cut short after its first batch of three.
		cw.RekeyBatch = 3
		cut := errors.New("cut short")
		cw.AfterRekeyBatch = func(int) error { return cut }
		head := e.AuditHead()
		if err := cw.SetMemberDisabled(e.Ctx(), admin, leaverUser.ID, true); err != nil {
			t.Fatal(err)
		}
		if es := e.AuditSince(head, string(audit.OrgKeyRotated)); len(es) != 1 || es[0].Detail != "reason=member_disabled count=3 user="+leaverUser.ID {
			t.Errorf("org_key.rotated entries %+v", es)
		}

		// At once: the leaver is out, and holds no copy of any key.
		if _, err := cw.Session(e.Ctx(), leaverCookie); !errors.Is(err, casework.ErrNoSession) {
			t.Errorf("the leaver's session: %v", err)
		}
		gone := e.User("trust-leaver")
		if len(gone.OrgKeyWrap) != 0 || bytes.Equal(gone.OrgKeyWrap, leaverUser.OrgKeyWrap) {
			t.Error("the leaver still holds a copy of the organisation key")
		}
		e.Clock.NextStep()
		if _, err := cw.Login(e.Ctx(), "trust-leaver", leaver.Password, e.Code("trust-leaver")); !errors.Is(err, staff.ErrBadLogin) {
			t.Errorf("the leaver's login: %v", err)
		}
		// Every other session of the organisation ended; the admin's went
		// on with the new key; another organisation's was not touched.
		if _, err := cw.Session(e.Ctx(), stayerCookie); !errors.Is(err, casework.ErrNoSession) {
			t.Errorf("a remaining member's old session: %v", err)
		}
		if _, err := cw.Session(e.Ctx(), intakeCookie); err != nil {
			t.Errorf("another organisation's session: %v", err)
		}
		org, _ = st.Organisation(e.Ctx(), orgID)
		if org.KeyGen != 2 || org.PublicKey == tr.Org.PublicKey {
			t.Fatalf("the organisation key was not replaced: generation %d", org.KeyGen)
		}
		readAll("the admin, before the job", admin)
		if _, err := st.Organisation(e.Ctx(), orgID); err != nil {
			t.Fatal(err)
		}
		// A report that arrives now is wrapped to the new key.
		fresh := e.PutReport(org, store.Report{}, "Arrived after the rotation")
		ids, narratives[fresh.ID] = append(ids, fresh.ID), "Arrived after the rotation"
		if _, gen, _ := st.ReportWrap(e.Ctx(), fresh.ID, "org:"+orgID); gen != 2 {
			t.Errorf("a new report is wrapped to generation %d", gen)
		}

		// The job: one batch, then cut short.
		if _, err := e.App.Jobs.RunDue(e.Ctx()); err != nil {
			t.Fatal(err)
		}
		left, _ := st.CountStaleReportWraps(e.Ctx(), "org:"+orgID, 2)
		if left != len(ids)-1-3 {
			t.Fatalf("after one batch, %d old wraps left of %d", left, len(ids)-1)
		}
		// Half-way: everything reads, for a member who logs in again and
		// for the recovery code; the old key opens the rest, not the new.
		readAll("a remaining member, half-way", e.Principal("trust-stayer"))
		rec, err := orgs.Recover(e.Ctx(), st, e.App.KDF, orgID, tr.RecoveryCode)
		if err != nil || rec.Recipient().String() != org.PublicKey {
			t.Fatalf("the recovery code half-way: %v", err)
		}

		// The worker comes back (the job was retried with back-off) and
		// finishes.
		cw.AfterRekeyBatch = nil
		e.Clock.Add(2 * time.Hour)
		if _, err := e.App.Jobs.RunDue(e.Ctx()); err != nil {
			t.Fatal(err)
		}
		if left, _ := st.CountStaleReportWraps(e.Ctx(), "org:"+orgID, 2); left != 0 {
			t.Fatalf("%d old wraps left after the job", left)
		}
		if chain, _ := st.OrgKeyChain(e.Ctx(), orgID); len(chain) != 0 {
			t.Errorf("the retired key's chain is still stored")
		}
		if jc, _ := st.OrgKeyJobCopies(e.Ctx(), orgID); len(jc) != 0 {
			t.Errorf("the job's copy of the retired key is still stored")
		}
		if es := e.AuditSince(head, string(audit.OrgKeyRewrapped)); len(es) != 1 || es[0].Detail != fmt.Sprintf("count=%d", len(ids)-1-3) {
			t.Errorf("org_key.rewrapped entries %+v", es)
		}
		readAll("a remaining member, after", e.Principal("trust-stayer"))
		readAll("the admin, after", admin)
		e.Clock.NextStep()
		if _, err := cw.Login(e.Ctx(), "trust-admin", e.Account("trust-admin").Password, e.Code("trust-admin")); err != nil {
			t.Errorf("the admin logs in again: %v", err)
		}

		// What the leaver kept opens nothing that is stored now.
		for _, id := range ids {
			w, gen, err := st.ReportWrap(e.Ctx(), id, "org:"+orgID)
			if err != nil || gen != 2 {
				t.Fatalf("report %s: generation %d, %v", id, gen, err)
			}
			if _, err := k1.UnwrapDataKey(w); err == nil {
				t.Errorf("the old key opens report %s", id)
			}
		}
		for _, u := range []string{"trust-admin", "trust-stayer", "trust-leaver"} {
			uu := e.User(u)
			if _, err := k1.UnwrapOrgIdentity(orgID, 2, uu.OrgKeyWrap); err == nil {
				t.Errorf("the old key opens %s's copy of the new one", u)
			}
		}
		o2, _ := st.Organisation(e.Ctx(), orgID)
		if _, err := k1.UnwrapOrgIdentity(orgID, 2, o2.RecoveryWrap); err == nil {
			t.Error("the old key opens the recovery copy")
		}
		rec, err = orgs.Recover(e.Ctx(), st, e.App.KDF, orgID, tr.RecoveryCode)
		if err != nil {
			t.Fatalf("the recovery code after the job: %v", err)
		}
		for _, id := range ids {
			w, _, _ := st.ReportWrap(e.Ctx(), id, "org:"+orgID)
			if _, err := rec.UnwrapDataKey(w); err != nil {
				t.Errorf("the recovery code does not open report %s: %v", id, err)
			}
		}

		// Enabled again, the member receives the current key.
		if err := cw.SetMemberDisabled(e.Ctx(), admin, leaverUser.ID, false); err != nil {
			t.Fatal(err)
		}
		readAll("the member enabled again", e.Principal("trust-leaver"))
	})
}

// TestRotationsOneAfterAnother: a second member disabled while the first
// rotation's job has not run leaves two retired generations; members read
// everything through the chain, and one job run re-wraps both.
func TestRotationsOneAfterAnother(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		cw, st := e.App.Staff, e.App.Store
		tr := trust(t, e)
		e.AddEnrolledUser(tr, "trust-admin", staff.RoleOrgAdmin)
		e.AddEnrolledUser(tr, "trust-a", staff.RoleCaseworker)
		e.AddEnrolledUser(tr, "trust-b", staff.RoleCaseworker)
		org, _ := st.Organisation(e.Ctx(), tr.Org.ID)
		first := e.PutReport(org, store.Report{}, "Generation one")
		admin := e.Principal("trust-admin")
		if err := cw.SetMemberDisabled(e.Ctx(), admin, e.User("trust-a").ID, true); err != nil {
			t.Fatal(err)
		}
		org, _ = st.Organisation(e.Ctx(), tr.Org.ID)
		second := e.PutReport(org, store.Report{}, "Generation two")
		if err := cw.SetMemberDisabled(e.Ctx(), admin, e.User("trust-b").ID, true); err != nil {
			t.Fatal(err)
		}
		org, _ = st.Organisation(e.Ctx(), tr.Org.ID)
		third := e.PutReport(org, store.Report{}, "Generation three")
		for _, p := range []*staff.Principal{admin, e.Principal("trust-admin")} {
			for r, want := range map[string]string{first.ID: "Generation one", second.ID: "Generation two", third.ID: "Generation three"} {
				if c, err := e.App.Casework.Open(e.Ctx(), p, r); err != nil || c.Narrative != want {
					t.Errorf("before the job: %v %q", err, want)
				}
			}
		}
		n, done, err := cw.RewrapOrgKeys(e.Ctx(), tr.Org.ID)
		if err != nil || !done || n != 2 {
			t.Fatalf("job: %d re-wrapped, done %v, %v", n, done, err)
		}
		for _, id := range []string{first.ID, second.ID, third.ID} {
			if _, gen, _ := st.ReportWrap(e.Ctx(), id, "org:"+tr.Org.ID); gen != 3 {
				t.Errorf("report at generation %d after the job", gen)
			}
		}
		if c, err := e.App.Casework.Open(e.Ctx(), e.Principal("trust-admin"), first.ID); err != nil || c.Narrative != "Generation one" {
			t.Errorf("after the job: %v", err)
		}
	})
}

// A report wrapped to a key that was replaced meanwhile (a directory cache
// an instance had not refreshed) is refused, never stored: after the
// rotation's job it would open with nothing.
func TestStaleOrgKeyRefused(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		st := e.App.Store
		tr := trust(t, e)
		e.AddEnrolledUser(tr, "trust-admin", staff.RoleOrgAdmin)
		e.AddEnrolledUser(tr, "trust-a", staff.RoleCaseworker)
		stale, _ := st.Organisation(e.Ctx(), tr.Org.ID)
		if err := e.App.Staff.SetMemberDisabled(e.Ctx(), e.Principal("trust-admin"), e.User("trust-a").ID, true); err != nil {
			t.Fatal(err)
		}
		dk, _ := seal.NewDataKey()
		r, _ := seal.ParseOrgRecipient(stale.PublicKey)
		w, _ := r.WrapDataKey(dk)
		nr := &store.NewReport{Report: store.Report{ID: "stale-report", CaseRef: "STAL-E001", Kind: store.KindReport, Channel: store.ChannelWeb,
			OrgID: stale.ID, Status: store.StatusNew, CreatedAt: e.Clock.Now(), UpdatedAt: e.Clock.Now()},
			OrgRecipient: "org:" + stale.ID, OrgWrap: w, OrgPublicKey: stale.PublicKey}
		if err := st.CreateReport(e.Ctx(), nr); !errors.Is(err, store.ErrOrgKeyChanged) {
			t.Errorf("a wrap to the retired key: %v, want ErrOrgKeyChanged", err)
		}
		if _, err := st.Report(e.Ctx(), "stale-report"); !errors.Is(err, store.ErrNotFound) {
			t.Error("the report was stored")
		}

		// A survivor's report routed through a directory cache that still
		// holds the intake organisation's retired key is wrapped again to
		// the new key, and stored.
		e.Submit(apptest.Report(nil)) // warms the cache
		e.App.Staff.OnDirectoryChange = nil
		if err := e.App.Staff.SetMemberDisabled(e.Ctx(), e.Principal("demo-admin"), e.User("demo-caseworker").ID, true); err != nil {
			t.Fatal(err)
		}
		sub := e.Submit(apptest.Report(func(in *reporting.Input) { in.Narrative = "Through a stale cache" }))
		if _, gen, err := st.ReportWrap(e.Ctx(), sub.Report.ID, "org:"+sub.Report.OrgID); err != nil || gen != 2 {
			t.Errorf("a report routed through a stale cache: generation %d, %v", gen, err)
		}
		if c, err := e.App.Casework.Open(e.Ctx(), e.Principal("demo-admin"), sub.Report.ID); err != nil || c.Narrative != "Through a stale cache" {
			t.Errorf("opening it: %v", err)
		}
	})
}
