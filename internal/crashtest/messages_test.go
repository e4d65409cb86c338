package crashtest

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/salama-ke/salama/internal/notify/mailtest"
	"github.com/salama-ke/salama/internal/sms/smstest"
	"github.com/salama-ke/salama/internal/store"
	"github.com/salama-ke/salama/internal/store/storetest"
	"github.com/salama-ke/salama/internal/totp"
)

const crashGatewayToken = "crash-gateway-token-0123456789abcdef"

// TestKillBetweenEnqueueAndSend is issue 14's "killing the SMS provider
// mid-run loses no nudge, reply or alert": with the SMS provider answering
// 503 and the mail server 451, a survivor texts HELP, reports (urgent, with
// SMS contact) and gets a caseworker's reply; the server is killed with
// SIGKILL while those messages wait; the providers come back; after the
// restart every message goes out, once, and the gateway posting the same
// inbound SMS again gets no second answer.
func TestKillBetweenEnqueueAndSend(t *testing.T) {
	eachEngine(t, func(t *testing.T, bin string, db storetest.DB, dataDir string) {
		ctx, cancel := context.WithTimeout(t.Context(), 8*time.Minute)
		defer cancel()
		prov := smstest.NewAT(t)
		prov.Fail(http.StatusServiceUnavailable)
		mail := mailtest.Start(t, mailtest.Options{})
		mail.Refuse(451)
		extra := []string{"--gateway-token", crashGatewayToken, "--ussd-code", "*384*123#", "--sms-provider", "africastalking",
			"--at-username", "salama", "--at-endpoint", prov.URL, "--smtp-from", "Salama <alerts@salama.example.org>",
			"--public-url", "https://salama.example.org"}
		env := []string{"SALAMA_AT_API_KEY=crash-test-key", "SSL_CERT_FILE=" + mail.CertFile,
			"SALAMA_SMTP_URL=" + (&url.URL{Scheme: "smtp", Host: mail.Addr, User: url.UserPassword(mail.User, mail.Password)}).String()}
		srv := startServerWith(t, ctx, bin, dataDir, db.DSN, extra, env)

		const (
			texter   = "+254711222333"
			survivor = "0722 444 555"
			survE164 = "+254722444555"
		)
		inbound := url.Values{"from": {texter}, "to": {"22384"}, "text": {"HELP"}, "date": {"2026-03-12 10:00:00"}, "id": {"ATXid_crash_1"}, "linkId": {"l1"}}
		postInbound := func(base string) {
			t.Helper()
			resp, _, err := do(ctx, newClient(), "POST", base+"/gw/"+crashGatewayToken+"/sms", "2001:db8:ee::1",
				"application/x-www-form-urlencoded", strings.NewReader(inbound.Encode()))
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("inbound SMS: %v %v", statusOf(resp), err)
			}
		}
		postInbound(srv.base)
		narrative := fmt.Sprintf("Crash-nudge-%d: they took my phone, call me on my sister's.", time.Now().UnixNano())
		if err := submitFields(ctx, newClient(), srv.base, "2001:db8:ee::2", map[string]string{"about": "me", "what": "trafficking",
			"age": "18-24", "county": "nairobi", "when": "ongoing", "danger": "yes", "help": "shelter", "narrative": narrative,
			"contact": "phone", "phone": survivor, "share": "ask"}); err != nil {
			t.Fatal(err)
		}
		reply(t, ctx, srv, narrative, "We have read your report. We will call at the safe time.")

		// Every message has been tried and refused, and none is being
		// tried, when the server dies: each waits for its retry.
		waitTried(t, ctx, db.Engine, dataDir, db.DSN)
		if n := len(prov.Sent()) + len(mail.Messages()); n != 0 {
			t.Fatalf("%d messages delivered by providers that refuse everything", n)
		}
		if prov.Requests() == 0 || mail.Attempts() == 0 {
			t.Fatalf("before the kill: %d SMS attempts, %d mail attempts", prov.Requests(), mail.Attempts())
		}
		srv.kill()
		srv.wait()

		prov.Work()
		mail.Refuse(0)
		srv = startServerWith(t, ctx, bin, dataDir, db.DSN, extra, env)
		waitForMessages(t, ctx, db.Engine, dataDir, db.DSN)
		// The gateway posts the same message again. A second answer
		// would be queued before the callback returns: waiting for the
		// queue to empty then catches it.
		postInbound(srv.base)
		waitForMessages(t, ctx, db.Engine, dataDir, db.DSN)

		count := func(to string) (n int, text string) {
			for _, m := range prov.Sent() {
				if m.To == to {
					n, text = n+1, m.Text
				}
			}
			return n, text
		}
		if n, text := count(survE164); n != 1 || !strings.Contains(text, "*384*123#") || strings.Contains(text, "Crash") {
			t.Errorf("nudges to the survivor: %d (%q), want 1", n, text)
		}
		if n, text := count(texter); n != 1 || !strings.Contains(text, "1195") {
			t.Errorf("answers to HELP: %d (%q), want 1", n, text)
		}
		alertSMS, _ := count("+254700000100")
		done := jobCount(t, ctx, db.Engine, dataDir, db.DSN, "alert.send", store.JobDone)
		if alertSMS == 0 || len(mail.Messages()) == 0 || alertSMS+len(mail.Messages()) != done {
			t.Errorf("alerts: %d SMS and %d emails delivered for %d finished alert jobs", alertSMS, len(mail.Messages()), done)
		}
		for _, m := range mail.Messages() {
			if !m.TLS || strings.Contains(m.Data, "Crash-nudge") || strings.Contains(m.Data, "nairobi") || strings.Contains(m.Data, "722444555") {
				t.Errorf("alert email to %v: TLS %v\n%s", m.To, m.TLS, m.Data)
			}
		}
		if n := jobCount(t, ctx, db.Engine, dataDir, db.DSN, "", store.JobFailed); n != 0 {
			t.Errorf("%d jobs failed", n)
		}
		srv.stop(t)
	})
}

// messageKinds are the jobs that carry messages out (digests wait for the
// end of their hour and are left out).
var messageKinds = []string{"sms.nudge", "sms.reply", "alert.send", "report.new", "report.escalated"}

// waitTried waits until a nudge, an answer and an alert are queued, every
// message job has been tried at least once, and none is being tried.
func waitTried(t *testing.T, ctx context.Context, engine, dataDir, dsn string) {
	t.Helper()
	db := openDatabase(t, engine, dataDir, dsn)
	defer db.Close()
	deadline := time.Now().Add(time.Minute)
	for {
		var kinds, untried int
		err := db.QueryRowContext(ctx, `SELECT
			(SELECT count(DISTINCT kind) FROM jobs WHERE kind IN ('sms.nudge', 'sms.reply', 'alert.send') AND state = $1 AND attempts > 0),
			(SELECT count(*) FROM jobs WHERE kind IN ('sms.nudge', 'sms.reply', 'alert.send', 'report.new') AND (state = $2 OR state = $1 AND attempts = 0))`,
			store.JobPending, store.JobRunning).Scan(&kinds, &untried)
		if err != nil {
			t.Fatal(err)
		}
		if kinds == 3 && untried == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("before the kill: %d of 3 kinds of message tried, %d message jobs untried or running", kinds, untried)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitForMessages waits until no message job is pending or running.
func waitForMessages(t *testing.T, ctx context.Context, engine, dataDir, dsn string) {
	t.Helper()
	deadline := time.Now().Add(4 * time.Minute) // a job caught mid-attempt waits for its lease (2 minutes)
	for {
		n := 0
		for _, k := range messageKinds {
			n += jobCount(t, ctx, engine, dataDir, dsn, k, store.JobPending) + jobCount(t, ctx, engine, dataDir, dsn, k, store.JobRunning)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d message jobs still waiting after the restart", n)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// jobCount counts jobs of a kind ("" for all) in a state, reading the
// database beside the running server.
func jobCount(t *testing.T, ctx context.Context, engine, dataDir, dsn, kind, state string) int {
	t.Helper()
	db := openDatabase(t, engine, dataDir, dsn)
	defer db.Close()
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM jobs WHERE ($1 = '' OR kind = $1) AND state = $2`, kind, state).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// submitFields sends the report form with the given answers, as a browser
// does.
func submitFields(ctx context.Context, c *http.Client, base, xff string, fields map[string]string) error {
	resp, body, err := do(ctx, c, "GET", base+"/en/report", xff, "", nil)
	if err != nil {
		return err
	}
	m := tokenRE.FindStringSubmatch(body)
	if resp.StatusCode != http.StatusOK || m == nil {
		return fmt.Errorf("the report form: status %d", resp.StatusCode)
	}
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	mw.WriteField("token", html.UnescapeString(m[1]))
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	mw.WriteField("send", "1")
	mw.Close()
	resp, body, err = do(ctx, c, "POST", base+"/en/report", xff, mw.FormDataContentType(), &b)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || receiptRE.FindStringSubmatch(body) == nil {
		return fmt.Errorf("sending the report: status %d", resp.StatusCode)
	}
	return nil
}

var (
	demoCaseworkerRE = regexp.MustCompile(`demo-caseworker\s+\S+\s+password (\S+)\s+TOTP key (\S+)`)
	formTokenRE      = regexp.MustCompile(`name="form_token" value="([^"]+)"`)
	csrfRE           = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	reportLinkRE     = regexp.MustCompile(`href="(/console/reports/[0-9a-f]+)"`)
)

// reply logs in as the demo caseworker, finds the report with narrative
// and answers it, as a caseworker would in the console.
func reply(t *testing.T, ctx context.Context, srv *server, narrative, text string) {
	t.Helper()
	m := demoCaseworkerRE.FindStringSubmatch(srv.stdout.String())
	if m == nil {
		t.Fatalf("no demo caseworker in the start-up lines:\n%s", srv.stdout.String())
	}
	secret, err := totp.ParseSecret(m[2])
	if err != nil {
		t.Fatal(err)
	}
	c := newClient()
	const xff = "2001:db8:ee::3"
	_, body, err := do(ctx, c, "GET", srv.base+"/console/login", xff, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{"form_token": {html.UnescapeString(formTokenRE.FindStringSubmatch(body)[1])}, "username": {"demo-caseworker"},
		"password": {m[1]}, "code": {totp.Code(secret, time.Now())}}
	resp, _, err := do(ctx, c, "POST", srv.base+"/console/login", xff, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil || resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("console login: %v %v", statusOf(resp), err)
	}
	_, inbox, err := do(ctx, c, "GET", srv.base+"/console/", xff, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, link := range reportLinkRE.FindAllStringSubmatch(inbox, -1) {
		_, page, err := do(ctx, c, "GET", srv.base+link[1], xff, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(page, html.EscapeString(narrative)) {
			continue
		}
		form := url.Values{"csrf": {html.UnescapeString(csrfRE.FindStringSubmatch(page)[1])}, "text": {text}}
		resp, _, err := do(ctx, c, "POST", srv.base+link[1]+"/message", xff, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
		if err != nil || resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("reply: %v %v", statusOf(resp), err)
		}
		return
	}
	t.Fatal("the report is not in the demo caseworker's inbox")
}
