package ussd_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/salama-ke/salama/internal/app"
	"github.com/salama-ke/salama/internal/app/apptest"
	"github.com/salama-ke/salama/internal/store"
	"github.com/salama-ke/salama/internal/store/storetest"
	"github.com/salama-ke/salama/internal/testkit"
)

const gatewayToken = "gw-test-token-5f2c9a7e81d04b36"

// gateway is the real application behind a real HTTP server, with the
// callbacks mounted, talked to as Africa's Talking would.
type gateway struct {
	t   *testing.T
	env *apptest.Env
	srv *httptest.Server
	sms *testkit.SMSRecorder
}

func newGateway(t *testing.T, db storetest.DB) *gateway {
	t.Helper()
	return newGatewayWith(t, db, nil)
}

// newGatewayWith is newGateway with the options tweaked after the gateway's
// are set.
func newGatewayWith(t *testing.T, db storetest.DB, tweak func(*app.Options)) *gateway {
	t.Helper()
	rec := &testkit.SMSRecorder{}
	env := apptest.New(t, db, func(o *app.Options) {
		o.Gateway = app.GatewayOptions{Token: gatewayToken, USSDCode: "*384*123#", SMS: rec}
		if tweak != nil {
			tweak(o)
		}
	})
	if !env.App.GatewayMounted {
		t.Fatal("gateway not mounted")
	}
	srv := httptest.NewServer(env.App.Handler())
	t.Cleanup(srv.Close)
	return &gateway{t: t, env: env, srv: srv, sms: rec}
}

func (g *gateway) post(path string, form url.Values) (int, string) {
	g.t.Helper()
	resp, err := http.PostForm(g.srv.URL+path, form)
	if err != nil {
		g.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

type call struct {
	g       *gateway
	id      string
	phone   string
	inputs  []string
	screens []string
}

var calls struct {
	sync.Mutex
	n int
}

func (g *gateway) dial(phone string) *call {
	calls.Lock()
	calls.n++
	c := &call{g: g, id: fmt.Sprintf("ATUid_%d_%s", calls.n, strings.ReplaceAll(g.t.Name(), "/", "_")), phone: phone}
	calls.Unlock()
	c.send()
	return c
}

// raw sends one gateway request as it is given, without a call's history.
func (g *gateway) raw(sessionID, phone, text string) string {
	g.t.Helper()
	status, body := g.post("/gw/"+gatewayToken+"/ussd", url.Values{"sessionId": {sessionID}, "serviceCode": {"*384*123#"},
		"phoneNumber": {phone}, "networkCode": {"63902"}, "text": {text}})
	if status != 200 {
		g.t.Fatalf("HTTP %d:\n%s", status, body)
	}
	return body
}

func (c *call) send() string {
	c.g.t.Helper()
	body := c.g.raw(c.id, c.phone, strings.Join(c.inputs, "*"))
	if !(strings.HasPrefix(body, "CON ") || strings.HasPrefix(body, "END ")) || utf8.RuneCountInString(body) > 160 {
		c.g.t.Fatalf("screen of %d characters:\n%s", utf8.RuneCountInString(body), body)
	}
	c.screens = append(c.screens, body)
	return body
}

func (c *call) press(in string) string {
	c.inputs = append(c.inputs, in)
	return c.send()
}

// reportForMe reports on the call, from its menu, for the caller herself
// (advertised, Nakuru typed, not in danger, a safe place, contact only with
// the code), and returns the screen after the last answer.
func (c *call) reportForMe() string {
	c.g.t.Helper()
	for _, in := range []string{"1", "1", "3", "Nakuru", "2", "4"} {
		c.press(in)
	}
	return c.press("1")
}

var receiptRE = regexp.MustCompile(`\d{4} \d{4} \d{4} \d{4}`)

// contains reports whether the database holds needle anywhere, as text or
// as hex.
func (g *gateway) contains(needle string) bool {
	g.t.Helper()
	return g.env.DB.Holds(g.t, []byte(needle))
}

// childReportWithSMS reports from phone, over USSD, for a child
// (sextortion, Mombasa, not in danger, remove images) who chose contact by
// SMS, and returns the receipt screen and the receipt on it.
func (g *gateway) childReportWithSMS(phone string) (end, receipt string) {
	g.t.Helper()
	c := g.dial(phone)
	for _, in := range []string{"1", "2", "2", "2", "2", "6", "2"} {
		end = c.press(in)
	}
	receipt = receiptRE.FindString(end)
	if receipt == "" {
		g.t.Fatalf("receipt screen:\n%s", end)
	}
	return end, receipt
}

// newReport finds the one report in the intake's inbox that the demo did
// not make.
func (g *gateway) newUSSDReports() []store.Report {
	g.t.Helper()
	var out []store.Report
	for _, o := range g.env.App.Demo.Orgs {
		for _, status := range []string{store.StatusNew, store.StatusInReview} {
			rows, _, err := g.env.App.Store.Inbox(context.Background(), store.InboxQuery{OrgID: o.Org.ID, Status: status, Limit: 100})
			if err != nil {
				g.t.Fatal(err)
			}
			for _, r := range rows {
				if r.Channel == store.ChannelUSSD {
					out = append(out, r)
				}
			}
		}
	}
	return out
}

// The journeys of SPEC §4.2 over HTTP, in both languages, on both engines:
// report → receipt; the report in the console inbox; a caseworker writes;
// check with the receipt → status and the message, paged; reply; the
// caseworker reads it. Nothing identifying is stored or logged.
func TestUSSDJourneys(t *testing.T) {
	t.Parallel()
	storetest.EachDB(t, func(t *testing.T, db storetest.DB) {
		g := newGateway(t, db)
		ctx := context.Background()
		const phone = "+254712345678"
		helperMsg := "Habari. Tumesoma ripoti yako na tunataka kukusaidia kupata mahali salama. Tafadhali tuambie saa salama ya kukupigia simu, " +
			"au ufike ofisini kwetu siku yoyote ya kazi. Hatutamwambia mtu yeyote. Kwa heri kwa sasa. Neno-7731"
		for _, tc := range []struct {
			lang                     string
			switchLang               bool
			sent, status, helperHead string
			reply                    string
		}{
			{"en", false, "Sent. Your code:", "a helper is looking at it", "Helper,", "Thank you. Evenings after 7 are safe. Reply-4410"},
			{"sw", true, "Imetumwa. Namba ya ripoti:", "mhudumu anaiangalia", "Mhudumu,", "Asante. Jioni baada ya saa moja ni salama. Jibu-5520"},
		} {
			t.Run(tc.lang, func(t *testing.T) {
				before := len(g.newUSSDReports())
				c := g.dial(phone)
				if tc.switchLang {
					if s := c.press("4"); !strings.Contains(s, "1 Ripoti") {
						t.Fatalf("Kiswahili menu:\n%s", s)
					}
				}
				end := c.reportForMe()
				receipt := receiptRE.FindString(end)
				if !strings.HasPrefix(end, "END ") || !strings.Contains(end, tc.sent) || receipt == "" {
					t.Fatalf("receipt screen:\n%s", end)
				}
				if n := len(c.screens) - 1 - btoi(tc.switchLang); n > 7 {
					t.Errorf("report took %d screens after the menu", n)
				}

				// In the console's inbox like any other report.
				reps := g.newUSSDReports()
				if len(reps) != before+1 {
					t.Fatalf("%d USSD reports in the inboxes, want %d", len(reps), before+1)
				}
				id := g.env.ReportOfReceipt(receipt)
				p := g.env.Principal("demo-caseworker")
				defer p.Close()
				page, err := g.env.App.Casework.Inbox(ctx, p, store.StatusNew, "", "", "", 100)
				if err != nil {
					t.Fatal(err)
				}
				var r *store.Report
				for i := range page.Reports {
					if page.Reports[i].ID == id {
						r = &page.Reports[i]
					}
				}
				if r == nil {
					t.Fatal("the USSD report is not in the intake organisation's inbox")
				}
				if r.ConsentStats {
					t.Error("the USSD report is counted in the statistics, though the menus never asked")
				}
				if r.Channel != store.ChannelUSSD || r.County != "nakuru" || !slices.Equal(r.Categories, []string{"advertised"}) ||
					!slices.Equal(r.Help, []string{"shelter"}) || r.ContactPref != "code" || r.DangerNow != "no" {
					t.Errorf("inbox row %+v", r)
				}
				// No phone number anywhere, in any form.
				for _, needle := range []string{phone, "712345678", "0712345678", receipt, strings.ReplaceAll(receipt, " ", "")} {
					if g.contains(needle) {
						t.Errorf("database holds %q", needle)
					}
				}

				// A caseworker writes.
				if err := g.env.App.Casework.SendMessage(ctx, p, id, helperMsg); err != nil {
					t.Fatal(err)
				}

				g.env.Clock.Add(time.Minute)

				// Check with the receipt: status, then the message page by page.
				c = g.dial(phone)
				if tc.switchLang {
					c.press("4")
				}
				c.press("2")
				st := c.press(receipt)
				if !strings.Contains(st, tc.status) || strings.HasPrefix(st, "END") {
					t.Fatalf("status screen:\n%s", st)
				}
				var pages []string
				s := c.press("1")
				for i := 0; ; i++ {
					if i > 20 {
						t.Fatal("no last page")
					}
					if !strings.Contains(s, tc.helperHead) {
						t.Fatalf("message page:\n%s", s)
					}
					pages = append(pages, strings.Split(s, "\n")[1])
					if !strings.Contains(s, "\n1 ") {
						break
					}
					s = c.press("1")
				}
				if got := strings.Join(pages, " "); got != helperMsg {
					t.Errorf("message read in %d pages:\n%q\nwant\n%q", len(pages), got, helperMsg)
				}
				// Reply.
				c.press("2")
				if s := c.press(tc.reply); !strings.HasPrefix(s, "END ") {
					t.Fatalf("after the reply:\n%s", s)
				}
				cs, err := g.env.App.Casework.Open(ctx, p, id)
				if err != nil {
					t.Fatal(err)
				}
				last := cs.Thread[len(cs.Thread)-1]
				if !last.FromSurvivor || last.Text != tc.reply {
					t.Errorf("thread ends with %+v", last)
				}
				for _, needle := range []string{"Reply-4410", "Jibu-5520", "Neno-7731"} {
					if g.contains(needle) {
						t.Errorf("database holds %q in clear", needle)
					}
				}
				logs := g.env.Logs.String()
				for _, needle := range []string{gatewayToken, phone, "712345678", receipt, strings.ReplaceAll(receipt, " ", ""), tc.reply, "Neno-7731", "Nakuru"} {
					if strings.Contains(logs, needle) {
						t.Errorf("logs hold %q", needle)
					}
				}
				if !strings.Contains(logs, `"route":"POST /gw/{token}/ussd"`) {
					t.Error("USSD requests are not logged by route")
				}
			})
		}
	})
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// With consent, the caller's number is sealed into the report: the
// caseworker reads it, the database does not show it, and the nudge goes to
// it without a word about the report.
func TestUSSDContactConsentAndNudge(t *testing.T) {
	t.Parallel()
	storetest.EachDB(t, func(t *testing.T, db storetest.DB) {
		g := newGateway(t, db)
		ctx := context.Background()
		const phone = "+254733444555"
		end, receipt := g.childReportWithSMS(phone)
		if !strings.Contains(end, "116") {
			t.Fatalf("receipt screen:\n%s", end)
		}
		id := g.env.ReportOfReceipt(receipt)
		for _, needle := range []string{phone, "733444555", "0733444555"} {
			if g.contains(needle) {
				t.Errorf("database holds %q in clear", needle)
			}
		}
		r, err := g.env.App.Store.Report(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if r.ContactPref != "phone" || !r.ChildInvolved {
			t.Errorf("report %+v", r)
		}
		// A child's report goes to the child-protection organisation.
		child := g.env.ChildOrg()
		if r.OrgID != child.Org.ID {
			t.Fatalf("routed to %s, want the child-protection organisation", r.OrgID)
		}
		p := g.env.Principal("demo-child-caseworker")
		defer p.Close()
		cs, err := g.env.App.Casework.Open(ctx, p, id)
		if err != nil {
			t.Fatal(err)
		}
		if cs.Contact == nil || cs.Contact.Phone != phone {
			t.Fatalf("contact %+v", cs.Contact)
		}
		// A caseworker writes: the survivor is nudged, by a job.
		if err := g.env.App.Casework.SendMessage(ctx, p, id, "Tuko hapa kukusaidia."); err != nil {
			t.Fatal(err)
		}
		if _, err := g.env.App.Jobs.RunDue(ctx); err != nil {
			t.Fatal(err)
		}
		sent := g.sms.WithoutAlerts()
		if len(sent) != 1 || sent[0].To != phone || !strings.Contains(sent[0].Text, "*384*123#") ||
			strings.Contains(sent[0].Text, strings.ReplaceAll(receipt, " ", "")[:8]) || strings.Contains(sent[0].Text, r.CaseRef) {
			t.Errorf("nudge %q", sent)
		}
	})
}

func TestGatewayAuthAndSMS(t *testing.T) {
	t.Parallel()
	g := newGateway(t, storetest.NewDB(t, store.SQLite))
	form := url.Values{"sessionId": {"s1"}, "phoneNumber": {"+254712000111"}, "text": {""}}
	for _, path := range []string{"/gw/wrong-token-wrong-token-x/ussd", "/gw/" + gatewayToken[:len(gatewayToken)-1] + "/ussd",
		"/gw/" + gatewayToken + "x/ussd", "/gw//ussd", "/gw/" + gatewayToken + "/other", "/gw/" + strings.ToUpper(gatewayToken) + "/sms"} {
		if status, body := g.post(path, form); status != http.StatusNotFound || strings.Contains(body, "CON") {
			t.Errorf("POST %s: %d %q", path, status, body)
		}
	}
	resp, err := http.Get(g.srv.URL + "/gw/" + gatewayToken + "/ussd")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET with the token: %d", resp.StatusCode)
	}
	if status, body := g.post("/gw/"+gatewayToken+"/ussd", form); status != 200 || !strings.HasPrefix(body, "CON ") {
		t.Errorf("right token: %d %q", status, body)
	}
	// Missing session id, over-long text: a clean END, never an error page.
	for _, f := range []url.Values{{"text": {"1"}}, {"sessionId": {"s2"}, "text": {strings.Repeat("1*", 4000)}}} {
		if status, body := g.post("/gw/"+gatewayToken+"/ussd", f); status != 200 || !strings.HasPrefix(body, "END ") {
			t.Errorf("bad request: %d %q", status, body)
		}
	}

	// SMS: HELP with a county, answered by jobs (the second SMS a second
	// after the first).
	status, _ := g.post("/gw/"+gatewayToken+"/sms", url.Values{"from": {"+254712000111"}, "to": {"22384"},
		"text": {"help nairobi"}, "date": {"2026-03-12"}, "id": {"1"}, "linkId": {"x"}})
	g.env.Clock.Add(2 * time.Second)
	if _, err := g.env.App.Jobs.RunDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	sent := g.sms.WithoutAlerts()
	if status != 200 || len(sent) != 2 || sent[0].To != "+254712000111" || !strings.Contains(sent[1].Text, "Help in Nairobi") {
		t.Errorf("SMS help: %d %q", status, sent)
	}
	// The first names the USSD code, and each fits one SMS.
	for i, m := range sent {
		if utf8.RuneCountInString(m.Text) > 160 || (i == 0 && !strings.Contains(m.Text, "dial *384*123#")) {
			t.Errorf("SMS help %d (%d characters):\n%s", i, utf8.RuneCountInString(m.Text), m.Text)
		}
	}
	// The gateway posts the same message again (it did not hear our 200):
	// answered 200, and not answered again.
	status, _ = g.post("/gw/"+gatewayToken+"/sms", url.Values{"from": {"+254712000111"}, "to": {"22384"},
		"text": {"help nairobi"}, "date": {"2026-03-12"}, "id": {"1"}, "linkId": {"x"}})
	g.env.Clock.Add(2 * time.Second)
	if _, err := g.env.App.Jobs.RunDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	if again := g.sms.WithoutAlerts(); status != 200 || len(again) != 2 {
		t.Errorf("the same inbound SMS id posted twice: %d, %d replies in all, want 2", status, len(again))
	}

	logs := g.env.Logs.String()
	for _, needle := range []string{gatewayToken, "wrong-token", "712000111", "help nairobi"} {
		if strings.Contains(logs, needle) {
			t.Errorf("logs hold %q", needle)
		}
	}
	if g.contains("712000111") {
		t.Error("database holds the SMS sender's number")
	}

	// Without a token nothing is mounted.
	env := apptest.New(t, storetest.NewDB(t, store.SQLite))
	if env.App.GatewayMounted {
		t.Fatal("mounted without a token")
	}
	srv := httptest.NewServer(env.App.Handler())
	defer srv.Close()
	resp, err = http.PostForm(srv.URL+"/gw/anything-at-all-here-x/ussd", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("no token configured: %d", resp.StatusCode)
	}
	if env.App.Nudger != nil {
		t.Error("nudges on without a USSD code")
	}
}
