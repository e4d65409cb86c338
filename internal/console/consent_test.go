package console_test

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/salama-ke/salama/internal/app/apptest"
	"github.com/salama-ke/salama/internal/audit"
	"github.com/salama-ke/salama/internal/casework"
	"github.com/salama-ke/salama/internal/directory"
	"github.com/salama-ke/salama/internal/reporting"
	"github.com/salama-ke/salama/internal/staff"
	"github.com/salama-ke/salama/internal/store"
	"github.com/salama-ke/salama/internal/store/storetest"
)

// Consent scope (issue 12, High 1): the matrix of every choice a survivor
// can make when reporting × every service type × the service's ages × the
// coordinator's child-protection mark × the person's age band × every way a
// caseworker records consent, through the console's real referral form.
// Each row asserts what an independent oracle (written here, not
// referral.Check) expects: made, or refused with a 403 that names the
// problem in words, a referral.refused audit entry with the reason, and
// nothing disclosed (no referral row, no sealed copy in the receiving
// organisation, no exportable bundle that was not exportable before). Then
// the survivor answers every request on her check page: her yes to a
// request that names the service is consent to it, whatever its kind.
//
// One application per engine serves every row, and the rows of different
// reports run in parallel: the services and logins are made once, and each
// report takes one mode, so that no report's page grows long.
func TestConsentScopeMatrix(t *testing.T) {
	storetest.EachDB(t, func(t *testing.T, db storetest.DB) {
		s := newSite(t, withoutDiskWaits(t, db))
		m := newMatrix(t, s)
		t.Run("rows", func(t *testing.T) {
			for _, g := range m.groups {
				t.Run(g.name, func(t *testing.T) {
					t.Parallel()
					for _, rep := range g.reports {
						m.run(t, g, rep)
					}
				})
			}
		})
		// Every sealed copy in the receiving organisation is one the rows
		// expected: nothing else reached it.
		copies, err := s.App.Store.CountCapped(s.Ctx(), m.trust, store.StatusNew, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if int64(copies) != m.copies.Load() {
			t.Errorf("%d sealed copies in the receiving organisation, want %d", copies, m.copies.Load())
		}
		t.Logf("%d rows: %d made, %d refused; %d answered yes on the check page", m.rows.Load(), m.made.Load(), m.refused.Load(), m.agreed.Load())
	})
}

// withoutDiskWaits keeps the matrix's thousands of commits from each
// waiting for the disk: the SQLite file goes to memory (/dev/shm) when the
// machine has it, and PostgreSQL commits this database's transactions
// without waiting for its WAL to be flushed (synchronous_commit=off, a
// setting of this connection only). The matrix tests decisions, not
// durability; the crash tests test durability.
func withoutDiskWaits(t *testing.T, db storetest.DB) storetest.DB {
	t.Helper()
	switch {
	case db.DSN != "":
		u, err := url.Parse(db.DSN)
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		q.Set("synchronous_commit", "off")
		u.RawQuery = q.Encode()
		db.DSN = u.String()
	case db.DataDir != "":
		if dir, err := os.MkdirTemp("/dev/shm", "salama-matrix-"); err == nil {
			t.Cleanup(func() { os.RemoveAll(dir) })
			db.DataDir = dir
		}
	}
	return db
}

// matrixCounty is where the test services are and the reports come from:
// the demo network has nothing there, so the oracle knows every service
// the console offers.
const matrixCounty = "turkana"

// consentChoice is what the survivor chose when reporting.
type consentChoice struct {
	name                 string
	refer, police, legal bool
}

var consentChoices = []consentChoice{
	{name: "ask-first"},
	{name: "needs", refer: true},
	{name: "police", police: true},
	{name: "legal", legal: true},
	{name: "all", refer: true, police: true, legal: true},
}

// matrixHelp is the help every matrix report asks for: counselling, and the
// police and legal advice, which "services that match my needs" must not
// turn into consent to the police or a lawyer.
var matrixHelp = []string{"counselling", "police", "legal"}

var ageBands = []struct{ name, band string }{{"child", "13-15"}, {"adult", "25plus"}, {"age-unsaid", ""}}

type matrixService struct {
	id     string
	typ    directory.ServiceType
	ages   directory.AgeGroup
	marked bool
}

type matrixReport struct {
	choice  consentChoice
	age     string // child, adult, age-unsaid
	mode    string // one of matrixModes
	id      string
	receipt string
	// exportable is what the oracle expects ExportConsent to say.
	exportable string
}

// matrixGroup is the reports of one consent choice and age band, one per
// mode, read by one caseworker's browser.
type matrixGroup struct {
	name    string
	reports []*matrixReport
	b       *browser
	csrf    string
}

type matrix struct {
	s        *site
	services []matrixService
	groups   []*matrixGroup
	trust    string // the organisation that offers the test services
	// Counts, across parallel groups.
	rows, made, refused, agreed, copies atomic.Int64
}

func newMatrix(t *testing.T, s *site) *matrix {
	m := &matrix{s: s}
	for _, o := range s.App.Demo.Orgs {
		if !o.Org.Intake && !o.Org.ChildProtection {
			m.trust = o.Org.ID
		}
	}
	coord := s.Principal("demo-coordinator")
	defer coord.Close()
	// Every type twice: without the coordinator's child-protection mark
	// and for adults only, with the mark and for children only (the mark
	// needs a service that takes children). So each age band meets a
	// service of the wrong age (refused whatever the consent) and one of
	// its own, and a report of unsaid age meets both, marked and not.
	for _, typ := range directory.ServiceTypes() {
		for _, v := range []struct {
			ages   directory.AgeGroup
			marked bool
		}{{directory.AgesAdults, false}, {directory.AgesChildren, true}} {
			ms := matrixService{id: fmt.Sprintf("m-%s-%s-%t", typ, v.ages, v.marked), typ: typ, ages: v.ages, marked: v.marked}
			if _, err := s.App.Network.AddService(s.Ctx(), coord, directory.Service{ID: ms.id, OrgID: m.trust, Name: "Matrix " + ms.id,
				Type: typ, Counties: []string{matrixCounty}, Ages: v.ages, Channels: directory.Channels{Phone: "0700 100 100"},
				ChildProtection: v.marked}); err != nil {
				t.Fatalf("add %s: %v", ms.id, err)
			}
			m.services = append(m.services, ms)
		}
	}
	orgWorker := map[string]string{}
	for _, a := range s.App.Demo.Accounts {
		if a.Role == staff.RoleCaseworker {
			orgWorker[s.User(a.Username).OrgID] = a.Username
		}
	}
	for _, c := range consentChoices {
		for _, a := range ageBands {
			g := &matrixGroup{name: c.name + "/" + a.name}
			worker := ""
			for _, mode := range matrixModes {
				sub := s.Submit(apptest.Report(func(in *reporting.Input) {
					in.About, in.AgeBand, in.County, in.Help = "me", a.band, matrixCounty, matrixHelp
					in.Narrative = "Matrix narrative " + g.name + " " + mode
					in.ContactPref, in.Phone = "phone", "0722 000 111"
					in.Share, in.SharePolice, in.ShareLegal = "ask", c.police, c.legal
					if c.refer {
						in.Share = "refer"
					}
				}))
				rep := &matrixReport{choice: c, age: a.name, mode: mode, id: sub.Report.ID, receipt: sub.Receipt.String()}
				if c.police {
					rep.exportable = casework.ExportConsentGiven
				}
				g.reports = append(g.reports, rep)
				worker = orgWorker[sub.Report.OrgID]
			}
			if worker == "" {
				t.Fatalf("no caseworker for the reports of %s", g.name)
			}
			g.b = s.login(t, worker)
			g.csrf = g.b.csrf()
			m.groups = append(m.groups, g)
		}
	}
	return m
}

// Modes as the matrix posts them. Consent by phone to another kind of
// service than the one chosen is among the attacks (TestReferralAttacks).
var matrixModes = []string{"ask", "at_submission", "phone", "override"}

// expectation is the oracle's verdict on one row: "" (made), or the reason
// code the refusal must carry and a phrase its message must contain.
func expectation(rep *matrixReport, svc matrixService, mode string) (reason, phrase string) {
	child, adult := rep.age == "child", rep.age == "adult"
	switch {
	case child && svc.ages == directory.AgesAdults:
		return "adults_only", "is for adults only, and this report is about a child."
	case adult && svc.ages == directory.AgesChildren:
		return "children_only", "is for children only, and this report is about an adult."
	}
	c := rep.choice
	switch mode {
	case "ask", "phone":
		return "", ""
	case "at_submission":
		// "Services that match my needs" with counselling asked for:
		// counselling and helplines, and for a child a child-protection
		// service; never the police or a lawyer.
		needs := svc.typ == directory.TypeCounselling || svc.typ == directory.TypeHelpline ||
			(child && svc.typ == directory.TypeChildProtection)
		switch {
		case svc.typ == directory.TypePoliceDesk && !c.police:
			return "police_not_chosen", "they did not tick “you may pass my report to the police gender desk” when reporting."
		case svc.typ == directory.TypeLegalAid && !c.legal:
			return "legal_not_chosen", "Legal aid needs the survivor's own choice"
		case svc.typ == directory.TypePoliceDesk, svc.typ == directory.TypeLegalAid:
			return "", ""
		case !c.refer && !c.police && !c.legal:
			return "none_at_submission", "they agreed to no referral then."
		case !c.refer || !needs:
			return "type_not_needed", "that is not a kind of service the survivor agreed to when reporting"
		}
		return "", ""
	case "override":
		switch {
		case !child:
			return "override_not_child", "The child-protection override is only for a report about a child."
		case !svc.marked:
			return "override_not_marked", "may go only to a service the network coordinator marked as child protection"
		}
		return "", ""
	}
	panic("unknown mode " + mode)
}

func (m *matrix) run(t *testing.T, g *matrixGroup, rep *matrixReport) {
	path := "/console/reports/" + rep.id
	mode := rep.mode
	before := m.snapshot(t, rep)
	var wantRefusals []string // the referral.refused details, in order
	for _, svc := range m.services {
		m.rows.Add(1)
		form := url.Values{"csrf": {g.csrf}, "service": {svc.id}, "field": {"situation", "narrative", "contact"},
			"mode": {mode}, "handoff": {"phone_call"}, "justification": {strings.Repeat("A child is in danger tonight. ", 3)}}
		if mode == "phone" {
			form.Set("agreed_type", string(svc.typ))
		}
		r := g.b.post(path+"/referrals", form)
		reason, phrase := expectation(rep, svc, mode)
		what := fmt.Sprintf("%s %s by %s", g.name, svc.id, mode)
		if reason == "" {
			m.made.Add(1)
			if r.StatusCode != http.StatusSeeOther {
				t.Fatalf("%s: want it made, got %d\n%.3000s", what, r.StatusCode, r.body)
			}
			after := m.snapshot(t, rep)
			sentNow := mode != "ask"
			if after.referrals != before.referrals+1 || after.copies != before.copies+boolInt(sentNow) {
				t.Fatalf("%s: made, but %+v → %+v", what, before, after)
			}
			m.copies.Add(int64(boolInt(sentNow)))
			switch {
			case mode == "override":
				rep.exportable = casework.ExportOverride
			case mode == "phone" && svc.typ == directory.TypePoliceDesk && rep.exportable == "":
				rep.exportable = casework.ExportConsentGiven
			}
			if after.export != rep.exportable {
				t.Fatalf("%s: ExportConsent %q, want %q", what, after.export, rep.exportable)
			}
			before = after
			continue
		}
		m.refused.Add(1)
		if r.StatusCode != http.StatusForbidden || !r.has("The referral was not made, and nothing was shared.") || !r.has(phrase) {
			t.Fatalf("%s: want refused (%s) saying %q, got %d\n%.3000s", what, reason, phrase, r.StatusCode, r.body)
		}
		wantRefusals = append(wantRefusals, fmt.Sprintf("service=%s consent=%s reason=%s", svc.id, mode, reason))
	}
	// Nothing written for a refused row: the report's referrals are
	// exactly the rows made, and so are the copies (checked after each
	// made row, and below). ExportConsent depends on nothing else.
	refs, err := m.s.App.Store.Referrals(m.s.Ctx(), rep.id)
	if err != nil {
		t.Fatal(err)
	}
	if len(refs) != before.referrals {
		var ids []string
		for _, ref := range refs {
			ids = append(ids, ref.ServiceID)
		}
		t.Fatalf("%s by %s: %d referrals (%v), want the %d made", g.name, mode, len(refs), ids, before.referrals)
	}
	if after := m.snapshot(t, rep); after != before {
		t.Fatalf("%s by %s: a refused row changed %+v → %+v", g.name, mode, before, after)
	}
	// Every refusal, and nothing else, is on the report's audit trail.
	entries, err := m.s.App.Store.AuditForReport(m.s.Ctx(), rep.id)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		if e.Action == string(audit.ReferralRefused) {
			got = append(got, e.Detail)
		}
	}
	if !slices.Equal(got, wantRefusals) {
		t.Fatalf("%s by %s: referral.refused entries\n%q\nwant\n%q", g.name, mode, got, wantRefusals)
	}
	if mode == "ask" {
		m.answer(t, rep)
	}
	// The bundle for the police, through the console: only on the grounds
	// the oracle expects.
	r := g.b.post(path+"/bundle", url.Values{"csrf": {g.csrf}})
	switch {
	case rep.exportable == "" && (r.StatusCode != http.StatusForbidden || !r.has("No evidence bundle: the survivor has not chosen the police.")):
		t.Fatalf("%s by %s: a bundle with no ground: %d %q", g.name, mode, r.StatusCode, r.Header.Get("Content-Type"))
	case rep.exportable != "" && (r.StatusCode != http.StatusOK || r.Header.Get("Content-Type") != "application/zip"):
		t.Fatalf("%s by %s: no bundle on ground %q: %d", g.name, mode, rep.exportable, r.StatusCode)
	}
}

// answer logs the survivor in on the check page and says yes to every
// request: each names its service and kind, and goes.
func (m *matrix) answer(t *testing.T, rep *matrixReport) {
	s := m.s
	sv := s.browser(t)
	r := sv.post("/en/check", url.Values{"receipt": {rep.receipt}, "token": {s.App.Reporting.NewLoginToken()}})
	if r.StatusCode != http.StatusSeeOther || sv.check == "" {
		t.Fatalf("receipt login: %d", r.StatusCode)
	}
	page := sv.get("/en/check/report")
	csrf := match(t, csrfRE, page.body, "check csrf")
	refs, err := s.App.Store.Referrals(s.Ctx(), rep.id)
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range refs {
		if ref.State != store.ReferralAwaitingConsent {
			continue
		}
		if want := "What they do: " + map[string]string{"police_desk": "Police gender desk", "legal_aid": "Legal help"}[ref.ServiceType]; ref.ServiceType == "police_desk" || ref.ServiceType == "legal_aid" {
			if !page.has(want) {
				t.Fatalf("the check page does not name the kind of service in words: %q", want)
			}
		}
		before := m.snapshot(t, rep)
		r = sv.post("/en/check/referral", url.Values{"csrf": {csrf}, "referral": {ref.ID}, "action": {"agree"}})
		if r.StatusCode != http.StatusSeeOther {
			t.Fatalf("yes to %s: %d\n%.2000s", ref.ServiceID, r.StatusCode, r.body)
		}
		got, _ := s.App.Store.Referral(s.Ctx(), ref.ID)
		after := m.snapshot(t, rep)
		if got.State != store.ReferralSent || got.Consent != "survivor" || after.copies != before.copies+1 {
			t.Fatalf("yes to %s: %+v, %+v → %+v", ref.ServiceID, got, before, after)
		}
		m.copies.Add(1)
		if ref.ServiceType == string(directory.TypePoliceDesk) && rep.exportable == "" {
			rep.exportable = casework.ExportConsentGiven
		}
		if after.export != rep.exportable {
			t.Fatalf("after yes to %s: ExportConsent %q, want %q", ref.ServiceID, after.export, rep.exportable)
		}
		m.agreed.Add(1)
	}
}

// state is what a row may change: the report's referrals, the sealed
// copies made for them, and whether its evidence may be exported.
type state struct {
	referrals, copies int
	export            string
}

// snapshot reads the report's state.
func (m *matrix) snapshot(t *testing.T, rep *matrixReport) state {
	t.Helper()
	s := m.s
	refs, err := s.App.Store.Referrals(s.Ctx(), rep.id)
	if err != nil {
		t.Fatal(err)
	}
	var st state
	st.referrals = len(refs)
	for _, ref := range refs {
		if ref.ReferredReportID != "" {
			st.copies++
		}
	}
	r, err := s.App.Store.Report(s.Ctx(), rep.id)
	if err != nil {
		t.Fatal(err)
	}
	if st.export, err = s.App.Casework.ExportConsent(s.Ctx(), r); err != nil {
		t.Fatal(err)
	}
	return st
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
