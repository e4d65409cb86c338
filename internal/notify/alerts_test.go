package notify_test

import (
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/salama-ke/salama/internal/app"
	"github.com/salama-ke/salama/internal/app/apptest"
	"github.com/salama-ke/salama/internal/casework"
	"github.com/salama-ke/salama/internal/directory"
	"github.com/salama-ke/salama/internal/notify"
	"github.com/salama-ke/salama/internal/notify/mailtest"
	"github.com/salama-ke/salama/internal/orgs"
	"github.com/salama-ke/salama/internal/referral"
	"github.com/salama-ke/salama/internal/reporting"
	"github.com/salama-ke/salama/internal/sms"
	"github.com/salama-ke/salama/internal/sms/smstest"
	"github.com/salama-ke/salama/internal/store"
	"github.com/salama-ke/salama/internal/store/storetest"
)

const gatewayToken = "alerts-test-gateway-token-0123456789"

// env is the real application over a real database, its email going to a
// real SMTP server (STARTTLS, login) and its SMS to a fake Africa's
// Talking, behind a real HTTP server.
type env struct {
	*apptest.Env
	t    *testing.T
	mail *mailtest.Server
	sms  *smstest.AT
	srv  *httptest.Server
}

func newEnv(t *testing.T, db storetest.DB) *env {
	t.Helper()
	mail := mailtest.Start(t, mailtest.Options{})
	prov := smstest.NewAT(t)
	e := apptest.New(t, db, func(o *app.Options) {
		at, err := sms.NewAfricasTalking("salama", "test-api-key", "", prov.URL)
		if err != nil {
			t.Fatal(err)
		}
		o.Gateway = app.GatewayOptions{Token: gatewayToken, USSDCode: "*384*123#", SMS: at}
		o.Alerts = app.AlertOptions{PublicURL: "https://salama.example.org",
			SMTPURL:  (&url.URL{Scheme: "smtp", Host: mail.Addr, User: url.UserPassword(mail.User, mail.Password)}).String(),
			SMTPFrom: "Salama <alerts@salama.example.org>", SMTPTLS: mail.ClientTLS()}
	})
	srv := httptest.NewServer(e.App.Handler())
	t.Cleanup(srv.Close)
	return &env{Env: e, t: t, mail: mail, sms: prov, srv: srv}
}

func (e *env) run() {
	e.t.Helper()
	if _, err := e.App.Jobs.RunDue(e.Ctx()); err != nil {
		e.t.Fatal(err)
	}
}

// delivered is one alert as it arrived, by email or SMS.
type delivered struct{ to, subject, text string }

// since returns what arrived after the first mails emails and texts SMS.
func (e *env) since(mails, texts int) []delivered {
	var out []delivered
	for _, m := range e.mail.Messages()[mails:] {
		subject := ""
		if i := strings.Index(m.Data, "\r\nSubject: "); i >= 0 {
			subject, _, _ = strings.Cut(m.Data[i+len("\r\nSubject: "):], "\r\n")
		}
		// The text is everything but the To header, which is the
		// contact's own address.
		var text []string
		for _, line := range strings.Split(m.Data, "\r\n") {
			if !strings.HasPrefix(line, "To: ") {
				text = append(text, line)
			}
		}
		out = append(out, delivered{to: strings.Join(m.To, ","), subject: subject, text: strings.Join(text, "\n")})
	}
	for _, m := range e.sms.Sent()[texts:] {
		out = append(out, delivered{to: m.To, text: m.Text})
	}
	return out
}

func (e *env) counts() (int, int) { return len(e.mail.Messages()), len(e.sms.Sent()) }

var tokenRE = regexp.MustCompile(`name="token" value="([^"]+)"`)

// submitWeb sends a report through the public form over HTTP.
func (e *env) submitWeb(fields map[string]string) {
	e.t.Helper()
	resp, err := http.Get(e.srv.URL + "/en/report")
	if err != nil {
		e.t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := tokenRE.FindSubmatch(page)
	if m == nil {
		e.t.Fatal("no form token")
	}
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	w.WriteField("token", strings.ReplaceAll(string(m[1]), "&#43;", "+"))
	for k, v := range fields {
		for _, one := range strings.Split(v, ",") {
			w.WriteField(k, one)
		}
	}
	w.WriteField("send", "1")
	w.Close()
	req, _ := http.NewRequest("POST", e.srv.URL+"/en/report", &b)
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Origin", e.srv.URL)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `class="receipt"`) {
		e.t.Fatalf("report form: %d\n%.1500s", resp.StatusCode, body)
	}
}

// TestAlerts is issue 14's staff alerts, end to end on both engines: an
// urgent report, from the web or by USSD, alerts its organisation's
// contacts at once (by email through a real SMTP server, and by SMS); three
// routine reports in an hour make one digest at the hour's end; a report
// nobody opened alerts again when retention escalates it; and nothing that
// arrives, nor anything the jobs keep, holds a word of any report.
func TestAlerts(t *testing.T) {
	storetest.EachDB(t, func(t *testing.T, db storetest.DB) {
		e := newEnv(t, db)
		ctx := e.Ctx()
		intake, child := e.IntakeOrg(), e.ChildOrg()
		contacts := func(orgID string) []notify.Contact {
			cs, err := e.App.Alerts.Contacts(ctx, orgID)
			if err != nil {
				t.Fatal(err)
			}
			return cs
		}
		// The demo gave every organisation example addresses.
		in, ch := contacts(intake.Org.ID), contacts(child.Org.ID)
		if len(in) != 2 || len(ch) != 1 || ch[0].Channel != store.AlertEmail {
			t.Fatalf("demo alert contacts: intake %+v, child %+v", in, ch)
		}
		intakeMail, intakeSMS, childMail := in[0].Address, in[1].Address, ch[0].Address
		if in[0].Channel != store.AlertEmail || in[1].Channel != store.AlertSMS {
			intakeMail, intakeSMS = in[1].Address, in[0].Address
		}
		// The demo's own reports alert too; let them, then start at a
		// fresh hour.
		e.run()
		if m, s := e.counts(); m == 0 || s == 0 {
			t.Fatalf("the demo's urgent reports alerted nobody: %d emails, %d SMS", m, s)
		}
		next := e.Clock.Now().Truncate(time.Hour).Add(time.Hour)
		e.Clock.Set(next.Add(2 * time.Hour))
		e.run()
		e.Clock.Set(e.Clock.Now().Truncate(time.Hour).Add(5 * time.Minute))
		e.run()

		var secrets []string
		// 1. An urgent report from the web: at once, to both intake
		// contacts, by a job, not in the request.
		m0, s0 := e.counts()
		e.submitWeb(map[string]string{"about": "me", "what": "trafficking,advertised", "age": "18-24", "county": "nakuru", "when": "ongoing",
			"danger": "yes", "help": "shelter", "narrative": "Narrative-urgent-7731 they keep me in Naivasha", "contact": "phone", "phone": "0722 555 111", "share": "ask"})
		secrets = append(secrets, "Narrative-urgent-7731", "Naivasha", "722555111", "0722 555 111")
		if m, s := e.counts(); m != m0 || s != s0 {
			t.Fatal("an alert went out inside the report's request")
		}
		e.run()
		got := e.since(m0, s0)
		if len(got) != 2 {
			t.Fatalf("urgent report: %d alerts, want 2: %+v", len(got), got)
		}
		for _, d := range got {
			if d.to != intakeMail && d.to != intakeSMS {
				t.Errorf("urgent alert to %s", d.to)
			}
			if d.subject == "" && d.text != "Salama: a new report is waiting. https://salama.example.org/console/" {
				t.Errorf("SMS alert %q", d.text)
			}
			if d.subject != "" && d.subject != "A new report is waiting in Salama" {
				t.Errorf("email subject %q", d.subject)
			}
		}

		// 1b. Referred, with consent given by phone and the situation
		// shared, to the trust's legal aid clinic: its copy alerts the trust at
		// once.
		var trust orgs.Created
		for _, o := range e.App.Demo.Orgs {
			if !o.Org.Intake && !o.Org.ChildProtection {
				trust = o
			}
		}
		trustMail := contacts(trust.Org.ID)[0].Address
		m0, s0 = e.counts()
		p := e.Principal("demo-caseworker")
		page, err := e.App.Casework.Inbox(ctx, p, store.StatusNew, "", "", "", 50)
		if err != nil {
			t.Fatal(err)
		}
		var urgentID string
		for _, r := range page.Reports {
			if r.County == "nakuru" && r.DangerNow == "yes" {
				urgentID = r.ID
			}
		}
		if err := e.App.Casework.CreateReferral(ctx, p, urgentID, casework.NewReferral{ServiceID: "demo-trust-legal-aid",
			Fields: []string{referral.FieldSituation}, Mode: casework.ModePhone, AgreedType: string(directory.TypeLegalAid)}); err != nil {
			t.Fatal(err)
		}
		p.Close()
		e.run()
		if got := e.since(m0, s0); len(got) != 1 || got[0].to != trustMail || got[0].subject != "A new report is waiting in Salama" {
			t.Fatalf("referral's copy: %+v, want one email to %s", got, trustMail)
		}

		// 2. An urgent report by USSD (a child: the child-protection
		// organisation), over the gateway.
		m0, s0 = e.counts()
		ussd(t, e, "+254733444555", "1", "2", "2", "2", "2", "6", "2")
		e.run()
		if got := e.since(m0, s0); len(got) != 1 || got[0].to != childMail {
			t.Fatalf("USSD child report: %+v, want one email to %s", got, childMail)
		}

		// 3. Three routine reports in an hour: nothing until the hour
		// ends, then one digest per contact.
		m0, s0 = e.counts()
		for i := range 3 {
			e.Clock.Add(10 * time.Minute)
			e.Submit(apptest.Report(func(in *reporting.Input) {
				in.Narrative = fmt.Sprintf("Narrative-routine-%d he posted my photos", i)
				in.County, in.What = "nakuru", []string{"sextortion"}
			}))
			secrets = append(secrets, fmt.Sprintf("Narrative-routine-%d", i))
			e.run()
		}
		if got := e.since(m0, s0); len(got) != 0 {
			t.Fatalf("routine reports alerted before the hour's end: %+v", got)
		}
		e.Clock.Set(e.Clock.Now().Truncate(time.Hour).Add(time.Hour + time.Second))
		e.run()
		got = e.since(m0, s0)
		if len(got) != 2 {
			t.Fatalf("digest: %d alerts, want one per intake contact: %+v", len(got), got)
		}
		for _, d := range got {
			if d.subject != "" && d.subject != "New reports are waiting in Salama" || d.subject == "" && !strings.HasPrefix(d.text, "Salama: new reports are waiting.") {
				t.Errorf("digest %+v", d)
			}
		}
		e.Clock.Add(2 * time.Hour)
		e.run()
		if got := e.since(m0, s0); len(got) != 2 {
			t.Errorf("a second digest for the same hour: %+v", got[2:])
		}

		// 4. Routine reports all opened before the hour ends: no digest.
		m0, s0 = e.counts()
		e.Clock.Set(e.Clock.Now().Truncate(time.Hour).Add(time.Minute))
		sub := e.Submit(apptest.Report(nil))
		e.run()
		p = e.Principal("demo-caseworker")
		if _, err := e.App.Casework.Open(ctx, p, sub.Report.ID); err != nil {
			t.Fatal(err)
		}
		p.Close()
		e.Clock.Set(e.Clock.Now().Truncate(time.Hour).Add(time.Hour + time.Second))
		e.run()
		if got := e.since(m0, s0); len(got) != 0 {
			t.Errorf("a digest about reports already opened: %+v", got)
		}

		// 5. Reports left unopened past the escalation period alert again.
		m0, s0 = e.counts()
		e.Clock.Add(e.App.Retention.Policy().EscalateUnopened + 2*time.Hour)
		e.run()
		e.run() // the escalations' own jobs
		var escalated int
		for _, status := range []string{store.StatusNew, store.StatusInReview, store.StatusReferred} {
			rows, _, err := e.App.Store.Inbox(ctx, store.InboxQuery{OrgID: intake.Org.ID, Status: status, Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rows {
				if !r.EscalatedAt.IsZero() {
					escalated++
				}
			}
		}
		var stillWaiting int
		for _, d := range e.since(m0, s0) {
			if d.to == intakeMail && d.subject == "A report is still waiting in Salama" {
				stillWaiting++
			}
		}
		if escalated == 0 || stillWaiting != escalated {
			t.Errorf("%d intake reports escalated, %d \"still waiting\" emails to the intake", escalated, stillWaiting)
		}

		// Nothing delivered, and nothing left in a job, holds a word of a
		// report: narrative, place, category, phone number, receipt.
		secrets = append(secrets, "nakuru", "Nakuru", "sextortion", "trafficking", "Mombasa", "mombasa", "733444555", "child")
		for _, r := range e.App.Demo.Receipts {
			secrets = append(secrets, r, strings.ReplaceAll(r, " ", ""))
		}
		all := e.since(0, 0)
		if len(all) < 10 {
			t.Fatalf("only %d alerts in all", len(all))
		}
		for _, d := range all {
			for _, s := range secrets {
				if strings.Contains(d.text, s) || strings.Contains(d.subject, s) {
					t.Errorf("an alert to %s holds %q", d.to, s)
				}
			}
		}
		jobs, err := e.App.Store.Jobs(ctx, "", 10000)
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range jobs {
			for _, s := range append(secrets, intakeMail, childMail, "700000100") {
				if strings.Contains(string(j.Payload), s) || strings.Contains(j.LastError, s) {
					t.Errorf("job %s holds %q", j.Kind, s)
				}
			}
		}
		for _, s := range []string{"Narrative-urgent-7731", "722555111", intakeMail, childMail, "+254700000100"} {
			if e.DBContains(s) {
				t.Errorf("the database holds %q in clear", s)
			}
		}
		logs := e.Logs.String()
		for _, s := range append(secrets, intakeMail, childMail, "700000100", e.mail.Password) {
			if strings.Contains(logs, s) {
				t.Errorf("the log holds %q", s)
			}
		}
		if !strings.Contains(logs, `"msg":"alert sent"`) {
			t.Error("no alert was logged as sent")
		}
	})
}

// ussd dials the gateway and presses keys, as a feature phone would.
func ussd(t *testing.T, e *env, phone string, keys ...string) {
	t.Helper()
	id := fmt.Sprintf("ATUid_alerts_%d", time.Now().UnixNano())
	for i := 0; i <= len(keys); i++ {
		resp, err := http.PostForm(e.srv.URL+"/gw/"+gatewayToken+"/ussd", url.Values{"sessionId": {id}, "serviceCode": {"*384*123#"},
			"phoneNumber": {phone}, "networkCode": {"63902"}, "text": {strings.Join(keys[:i], "*")}})
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.HasPrefix(string(body), "CON ") && i < len(keys) {
			t.Fatalf("USSD screen %d: %d %s", i, resp.StatusCode, body)
		}
	}
}

// Issue 17 (8): when the disk runs short and new reports are refused, the
// staff are told, not only the log: every organisation's contacts get an
// alert that names no report, once a day however often the disk crosses
// the threshold.
func TestDiskLowAlertsTheStaff(t *testing.T) {
	storetest.EachDB(t, func(t *testing.T, db storetest.DB) {
		mail := mailtest.Start(t, mailtest.Options{})
		first := apptest.New(t, db) // the demo network, with its alert contacts
		first.App.Close()
		// The next start finds the disk short.
		e := apptest.Open(t, db, func(o *app.Options) {
			o.DataDir, o.Demo = first.DataDir, false
			o.MinFreeDisk = 1 << 62 // more than any disk has
			o.Alerts = app.AlertOptions{PublicURL: "https://salama.example.org",
				SMTPURL:  (&url.URL{Scheme: "smtp", Host: mail.Addr, User: url.UserPassword(mail.User, mail.Password)}).String(),
				SMTPFrom: "Salama <alerts@salama.example.org>", SMTPTLS: mail.ClientTLS()}
		})
		if e.App.Disk == nil {
			t.Fatal("no disk monitor")
		}
		if _, err := e.App.Jobs.RunDue(e.Ctx()); err != nil {
			t.Fatal(err)
		}
		orgs, err := e.App.Store.Organisations(e.Ctx())
		if err != nil {
			t.Fatal(err)
		}
		want := 0
		for _, o := range orgs {
			cs, err := e.App.Alerts.Contacts(e.Ctx(), o.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range cs {
				if c.Channel == store.AlertEmail {
					want++
				}
			}
		}
		diskLow := func() []mailtest.Message {
			var out []mailtest.Message
			for _, m := range mail.Messages() {
				if strings.Contains(m.Data, "disk space") {
					out = append(out, m)
				}
			}
			return out
		}
		msgs := diskLow() // the demo's own report alerts go out too
		if want == 0 || len(msgs) != want {
			t.Fatalf("%d emails, want one to each of the %d email contacts", len(msgs), want)
		}
		for _, m := range msgs {
			if !strings.Contains(m.Data, "Subject: Salama is running out of disk space") ||
				!strings.Contains(m.Data, "https://salama.example.org/console/health") {
				t.Errorf("alert:\n%s", m.Data)
			}
			for _, demoWord := range []string{"Example", "(demo)", "report id", "nairobi"} {
				if strings.Contains(m.Data, demoWord) {
					t.Errorf("the alert carries %q:\n%s", demoWord, m.Data)
				}
			}
		}
		// The disk comes back and runs short again the same day: no
		// second round.
		if err := e.App.Alerts.DiskLow(e.Ctx()); err != nil {
			t.Fatal(err)
		}
		if _, err := e.App.Jobs.RunDue(e.Ctx()); err != nil {
			t.Fatal(err)
		}
		if n := len(diskLow()); n != want {
			t.Errorf("%d disk alerts after a second fall the same day, want %d", n, want)
		}
	})
}
