package console_test

import (
	"archive/zip"
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/salama-ke/salama/internal/app"
	"github.com/salama-ke/salama/internal/audit"
	"github.com/salama-ke/salama/internal/evidence"
	"github.com/salama-ke/salama/internal/store"
	"github.com/salama-ke/salama/internal/store/storetest"
	"github.com/salama-ke/salama/internal/web"
)

var (
	intakeTokenRE = regexp.MustCompile(`name="token" value="([^"]+)"`)
	codeTakenRE   = regexp.MustCompile(`\d{4} \d{4} \d{4} \d{4}`)
)

// intakeForm opens the intake form as b and fills it with a survivor's
// answers, marked with tag.
func (b *browser) intakeForm(t *testing.T, tag string) url.Values {
	t.Helper()
	r := b.get("/console/intake")
	expect(t, "intake form", r, http.StatusOK, "Take a report", "Who is this about?")
	return url.Values{"csrf": {match(t, csrfRE, r.body, "csrf")}, "token": {match(t, intakeTokenRE, r.body, "intake token")},
		"lang": {"en"}, "channel": {"intake_phone"}, "about": {"me"}, "what": {"sextortion", "images_requested"}, "age": {"18-24"},
		"county": {"nairobi"}, "when": {"month"}, "danger": {"no"}, "help": {"counselling", "legal"},
		"narrative": {"Intake narrative " + tag}, "id_type": {"handle"}, "id_platform": {"telegram"}, "id_value": {"@intake_" + tag},
		"contact": {"code"}, "share": {"refer"}, "share_police": {"yes"}, "match": {"yes"}, "stats": {"yes"}, "send": {"1"}}
}

// intakeReports lists the reports taken by caseworkers in an organisation.
func (s *site) intakeReports(t *testing.T, orgID string) []store.Report {
	t.Helper()
	var out []store.Report
	for _, st := range []string{store.StatusNew, store.StatusInReview, store.StatusReferred, store.StatusClosed} {
		rows, _, err := s.App.Store.Inbox(s.Ctx(), store.InboxQuery{OrgID: orgID, Status: st, Limit: 500})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			if strings.HasPrefix(r.Channel, "intake_") {
				out = append(out, r)
			}
		}
	}
	return out
}

type smsSink struct{}

func (smsSink) Send(context.Context, string, string) error { return nil }

// A caseworker takes a report over the phone: the survivor's code is shown
// once on the answer and nowhere else (not in the database, the logs or the
// audit log); the report is in the caseworker's own organisation's inbox,
// sealed, with her answers and choices, audited as report.taken naming the
// caseworker and the channel; help matched to it is shown to read out. The
// survivor then uses the code on /check and on USSD like anyone. Sending the
// same form again stores nothing and shows no code; another organisation's
// staff cannot open the report.
func TestIntakeEndToEnd(t *testing.T) {
	const gw = "gw-intake-7a1c93e0b5d24f68"
	storetest.EachDB(t, func(t *testing.T, db storetest.DB) {
		s := newSite(t, db, func(o *app.Options) {
			o.Gateway = app.GatewayOptions{Token: gw, USSDCode: "*384*123#", SMS: smsSink{}}
		})
		intake := s.IntakeOrg()
		cw := s.login(t, "demo-caseworker")
		if r := cw.get("/console/intake?lang=sw"); !r.has("Hii inamhusu nani?") || !r.has("read them in English") {
			t.Errorf("the Kiswahili intake form:\n%.1500s", r.body)
		}
		// Counting her report is her choice, read out like the others:
		// the box is not ticked for her.
		if r := cw.get("/console/intake"); !r.has(`name="stats" value="yes">`) {
			t.Errorf("the intake form ticks the statistics consent in advance:\n%s", r.body[strings.Index(r.body, `name="stats"`)-40:][:120])
		}
		head := s.AuditHead()
		form := cw.intakeForm(t, "4471")
		r := cw.post("/console/intake", form)
		expect(t, "intake", r, http.StatusOK, "is saved", "shown only this once", "Help to read out", "1195")
		receipt := codeTakenRE.FindString(r.body)
		if receipt == "" || len(codeTakenRE.FindAllString(r.body, -1)) != 1 {
			t.Fatalf("the answer shows %d codes", len(codeTakenRE.FindAllString(r.body, -1)))
		}
		if r.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("Cache-Control %q", r.Header.Get("Cache-Control"))
		}
		// Help matched to the report: sextortion and images, so the
		// image-removal tools.
		if !r.has("StopNCII") && !r.has("Take It Down") {
			t.Error("the help to read out is not matched to the report")
		}

		id := s.ReportOfReceipt(receipt)
		rep, err := s.App.Store.Report(s.Ctx(), id)
		if err != nil {
			t.Fatal(err)
		}
		if rep.OrgID != intake.Org.ID || rep.Channel != store.ChannelIntakePhone || !rep.ConsentRefer || !rep.ConsentPolice ||
			rep.ConsentLegal || !rep.ConsentMatch || !rep.ConsentStats || rep.County != "nairobi" || len(rep.Help) != 2 {
			t.Errorf("the report taken: %+v", rep)
		}
		taken := s.AuditSince(head, string(audit.ReportTaken))
		if len(taken) != 1 || taken[0].Actor != audit.UserActor(s.User("demo-caseworker").ID) || taken[0].ReportID != id ||
			taken[0].Detail != "channel=intake_phone" || taken[0].OrgID != intake.Org.ID {
			t.Errorf("report.taken entries: %+v", taken)
		}
		digits := strings.ReplaceAll(receipt, " ", "")
		for _, e := range s.AuditSince(head) {
			if strings.Contains(e.Detail, digits) || strings.Contains(e.Detail, receipt) {
				t.Errorf("the audit log holds the code: %+v", e)
			}
		}
		for _, needle := range []string{receipt, digits, "Intake narrative 4471", "intake_4471"} {
			if s.dbContains(t, []byte(needle)) {
				t.Errorf("the database holds %q in clear", needle)
			}
			if strings.Contains(s.Logs.String(), needle) {
				t.Errorf("the log holds %q", needle)
			}
		}

		// Reload, or Back and Send: nothing new, and no code.
		again := cw.post("/console/intake", form)
		expect(t, "the same form again", again, http.StatusOK, "already taken", "never shown again", rep.CaseRef)
		if codeTakenRE.MatchString(again.body) || strings.Contains(again.body, digits) {
			t.Error("the same form sent again shows the code")
		}
		if n := len(s.intakeReports(t, intake.Org.ID)); n != 1 {
			t.Errorf("%d reports taken, want 1", n)
		}
		if n := len(s.AuditSince(head, string(audit.ReportTaken))); n != 1 {
			t.Errorf("%d report.taken entries, want 1", n)
		}

		// The evidence bundle (she chose the police) says who entered it
		// and how: the certificate and the account.
		bundle := cw.post("/console/reports/"+id+"/bundle", url.Values{"csrf": {form.Get("csrf")}})
		if bundle.StatusCode != http.StatusOK || bundle.Header.Get("Content-Type") != "application/zip" {
			t.Fatalf("bundle: %d %q", bundle.StatusCode, bundle.Header.Get("Content-Type"))
		}
		zr, err := zip.NewReader(strings.NewReader(bundle.body), int64(len(bundle.body)))
		if err != nil {
			t.Fatal(err)
		}
		inBundle := map[string]string{}
		for _, f := range zr.File {
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(rc)
			rc.Close()
			inBundle[f.Name] = strings.Join(strings.Fields(string(b)), " ")
		}
		for name, want := range map[string]string{
			evidence.CertificateName: "A caseworker of an organisation of the Salama network entered the information into the Salama console during a phone call",
			"account.txt":            "Through: a caseworker, who took it down during a phone call with the survivor",
		} {
			if !strings.Contains(inBundle[name], want) {
				t.Errorf("%s lacks %q:\n%s", name, want, inBundle[name])
			}
		}

		// The caseworker's organisation sees it; the other does not.
		expect(t, "own organisation", cw.get("/console/reports/"+id), http.StatusOK, "Intake narrative 4471", "a caseworker, by phone")
		child := s.login(t, "demo-child-caseworker")
		if r := child.get("/console/reports/" + id); r.StatusCode != http.StatusNotFound || r.has("Intake narrative 4471") {
			t.Errorf("another organisation opens the report: %d", r.StatusCode)
		}
		for _, o := range s.App.Demo.Orgs {
			if o.Org.ID != intake.Org.ID && len(s.intakeReports(t, o.Org.ID)) != 0 {
				t.Errorf("the report taken is in %s's inbox too", o.Org.Name)
			}
		}

		// The survivor, with her code: the check page, then a reply.
		sb, _ := s.checkLogin(t, receipt)
		expect(t, "survivor's check page", sb.get("/en/check/report"), web.StatusReport, "Intake narrative 4471", rep.CaseRef)
		// And on a basic phone.
		ussd := s.browser(t)
		var scr response
		for _, text := range []string{"", "2", "2*" + receipt} {
			scr = ussd.post("/gw/"+gw+"/ussd", url.Values{"sessionId": {"ATUid_intake_" + string(db.Engine)}, "serviceCode": {"*384*123#"},
				"phoneNumber": {"+254700111222"}, "networkCode": {"63902"}, "text": {text}})
		}
		if scr.StatusCode != 200 || !strings.Contains(scr.body, "Your report: received") {
			t.Errorf("USSD check with the code taken: %d\n%s", scr.StatusCode, scr.body)
		}
	})
}

// What a careless colleague, a double click and an attacker try: no CSRF
// token, a public form's token, a channel not offered, an answer too long,
// a body past the form's caps, four sends at once. Nothing half-made is
// stored; words are kept; one send makes one report and one code.
func TestIntakeAttacks(t *testing.T) {
	each(t, func(t *testing.T, s *site) {
		intake := s.IntakeOrg()
		cw := s.login(t, "demo-caseworker")
		head := s.AuditHead()
		nothing := func(what string) {
			t.Helper()
			if n := len(s.intakeReports(t, intake.Org.ID)); n != 0 {
				t.Fatalf("%s: %d reports stored", what, n)
			}
		}

		f := cw.intakeForm(t, "9001")
		f.Del("csrf")
		expect(t, "no CSRF token", cw.post("/console/intake", f), http.StatusForbidden)
		nothing("no CSRF token")

		f = cw.intakeForm(t, "9002")
		f.Set("token", s.App.Reporting.NewToken()) // the public report form's
		expect(t, "a public form's token", cw.post("/console/intake", f), http.StatusUnprocessableEntity, "nothing was saved", "Intake narrative 9002")
		nothing("a public form's token")

		// And the intake form's token on the public form: refused too.
		pub := s.browser(t)
		if r := pub.post("/en/report", url.Values{"token": {s.App.Reporting.NewIntakeToken()}, "about": {"me"},
			"narrative": {"Public 9002"}, "send": {"1"}}); r.StatusCode != http.StatusUnprocessableEntity || !r.has("Public 9002") {
			t.Errorf("an intake token on the public form: %d", r.StatusCode)
		}

		f = cw.intakeForm(t, "9003")
		f.Set("channel", "email")
		expect(t, "a channel not offered", cw.post("/console/intake", f), http.StatusUnprocessableEntity, "Choose how the survivor reached you", "Intake narrative 9003")
		nothing("a channel not offered")

		f = cw.intakeForm(t, "9004")
		long := strings.Repeat("ndefu ", 2000) // 12,000 characters
		f.Set("narrative", long)
		r := cw.post("/console/intake", f)
		expect(t, "a narrative too long", r, http.StatusUnprocessableEntity, "10,000", strings.TrimSpace(long))
		nothing("a narrative too long")

		f = cw.intakeForm(t, "9005")
		f.Set("narrative", strings.Repeat("x", 2<<20))
		expect(t, "a body past the caps", cw.post("/console/intake", f), http.StatusRequestEntityTooLarge)
		nothing("a body past the caps")

		// Four sends of one form at once: one report, one code.
		f = cw.intakeForm(t, "9006")
		var wg sync.WaitGroup
		pages := make([]response, 4)
		for i := range pages {
			wg.Go(func() { pages[i] = cw.post("/console/intake", f) })
		}
		wg.Wait()
		codes := 0
		for _, p := range pages {
			switch {
			case p.StatusCode != 200:
				t.Errorf("concurrent send: %d", p.StatusCode)
			case codeTakenRE.MatchString(p.body):
				codes++
			case !p.has("already taken"):
				t.Errorf("neither a code nor already taken:\n%.1500s", p.body)
			}
		}
		if n := len(s.intakeReports(t, intake.Org.ID)); codes != 1 || n != 1 {
			t.Errorf("four sends at once: %d codes, %d reports", codes, n)
		}
		if n := len(s.AuditSince(head, string(audit.ReportTaken))); n != 1 {
			t.Errorf("%d report.taken entries, want 1", n)
		}
	})
}
