package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/salama-ke/salama/internal/app"
	"github.com/salama-ke/salama/internal/app/apptest"
	"github.com/salama-ke/salama/internal/audit"
	"github.com/salama-ke/salama/internal/reporting"
	"github.com/salama-ke/salama/internal/sms"
	"github.com/salama-ke/salama/internal/sms/smstest"
	"github.com/salama-ke/salama/internal/store"
	"github.com/salama-ke/salama/internal/store/storetest"
)

// smsSite is a site whose SMS go to a fake Africa's Talking, through the
// real client with a short timeout (so a stalled provider costs the test
// little), with nudges on.
func smsSite(t *testing.T, db storetest.DB) (*site, *smstest.AT) {
	t.Helper()
	prov := smstest.NewAT(t)
	s := newSite(t, db, func(o *app.Options) {
		at, err := sms.NewAfricasTalking("salama", "test-api-key", "", prov.URL)
		if err != nil {
			t.Fatal(err)
		}
		at.Client = &http.Client{Timeout: 300 * time.Millisecond}
		o.Gateway = app.GatewayOptions{SMS: at, USSDCode: "*384*123#"}
	})
	// The demo's example SMS alert contact would share the provider with
	// the nudges; these tests count nudges alone.
	intake := s.IntakeOrg().Org.ID
	cs, err := s.App.Alerts.Contacts(s.Ctx(), intake)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if c.Channel == store.AlertSMS {
			if err := s.App.Alerts.RemoveContact(s.Ctx(), audit.ActorSystem, intake, c.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	return s, prov
}

// runJobs runs every job due at the site's clock.
func (s *site) runJobs(t *testing.T) {
	t.Helper()
	if _, err := s.App.Jobs.RunDue(s.Ctx()); err != nil {
		t.Fatal(err)
	}
}

// reply posts a caseworker's reply through the console.
func (b *browser) reply(t *testing.T, csrf, reportID, text string) {
	t.Helper()
	r := b.post("/console/reports/"+reportID+"/message", url.Values{"csrf": {csrf}, "text": {text}})
	if r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/console/reports/"+reportID) {
		t.Fatalf("reply: %d to %q\n%.2000s", r.StatusCode, r.Header.Get("Location"), r.body)
	}
}

// nudgeStates lists the "SMS nudge: …" lines of a report's thread.
func (b *browser) nudgeStates(t *testing.T, reportID string) []string {
	t.Helper()
	r := b.get("/console/reports/" + reportID)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("report page: %d", r.StatusCode)
	}
	var out []string
	for _, part := range strings.Split(r.body, "SMS nudge: ")[1:] {
		state, _, _ := strings.Cut(part, "</small>")
		out = append(out, state)
	}
	return out
}

// TestNudgeThroughProviderOutage is issue 14's "messages that are never
// lost" for nudges, through the console: a caseworker's reply while the SMS
// provider answers 503, or stalls, returns without calling the provider; the
// nudge is queued, retried, and sent once the provider recovers, and the
// thread shows queued → sent. A provider's refusal (4xx) is not retried
// and shows as failed. The quiet period starts only when a nudge was sent.
// No number is stored in clear, and no payload outlives its job.
func TestNudgeThroughProviderOutage(t *testing.T) {
	storetest.EachDB(t, func(t *testing.T, db storetest.DB) {
		s, prov := smsSite(t, db)
		const phone, e164 = "0722 111 999", "+254722111999"
		sub := s.Submit(apptest.Report(func(in *reporting.Input) {
			in.ContactPref, in.Phone, in.SafeTimes = "phone", phone, "evenings"
		}))
		id := sub.Report.ID
		b := s.login(t, "demo-caseworker")
		csrf := b.csrf()
		if r := b.get("/console/reports/" + id); !r.has("They chose SMS contact") {
			t.Error("the reply form does not say that the survivor is nudged by SMS")
		}

		// Down (503): the reply returns without a call to the provider.
		prov.Fail(http.StatusServiceUnavailable)
		s.runJobs(t) // the app's own periodic jobs, out of the way
		b.reply(t, csrf, id, "Habari, tuko hapa kukusaidia.")
		if n := prov.Requests(); n != 0 {
			t.Fatalf("the reply called the SMS provider %d times inside the request", n)
		}
		if got := b.nudgeStates(t, id); len(got) != 1 || !strings.HasPrefix(got[0], "queued") {
			t.Fatalf("thread after the reply: %q, want queued", got)
		}
		s.runJobs(t)
		if prov.Requests() != 1 || len(prov.Sent()) != 0 {
			t.Fatalf("provider: %d requests, %d sent", prov.Requests(), len(prov.Sent()))
		}
		jobsOf := func(kind string) []store.Job {
			all, err := s.App.Store.Jobs(s.Ctx(), "", 500)
			if err != nil {
				t.Fatal(err)
			}
			var out []store.Job
			for _, j := range all {
				if j.Kind == kind {
					out = append(out, j)
				}
			}
			return out
		}
		if js := jobsOf(sms.JobNudge); len(js) != 1 || js[0].State != store.JobPending || !strings.Contains(js[0].LastError, "503") {
			t.Fatalf("nudge job after a 503: %+v", js)
		}
		// A second reply while the first nudge waits is covered by it.
		b.reply(t, csrf, id, "Tafadhali piga simu ukiweza.")
		if js := jobsOf(sms.JobNudge); len(js) != 1 {
			t.Errorf("%d nudge jobs for two replies while one waits, want 1", len(js))
		}

		// Stalled: the attempt times out and is retried later.
		prov.Stall()
		s.Clock.Add(time.Minute)
		s.runJobs(t)
		if len(prov.Sent()) != 0 || prov.Requests() != 2 {
			t.Fatalf("stalled provider: %d requests, %d sent", prov.Requests(), len(prov.Sent()))
		}
		if got := b.nudgeStates(t, id); len(got) != 1 || !strings.HasPrefix(got[0], "queued") {
			t.Fatalf("thread while the provider stalls: %q", got)
		}
		// A reply on another report while the provider stalls: the request
		// does not reach the provider at all, so it cannot wait on it.
		other := s.Submit(apptest.Report(func(in *reporting.Input) {
			in.ContactPref, in.Phone = "phone", "0711 999 000"
		}))
		stalled := prov.Requests()
		b.reply(t, csrf, other.Report.ID, "Tuko hapa.")
		if prov.Requests() != stalled {
			t.Fatal("a reply called the stalled SMS provider inside the request")
		}
		if got := b.nudgeStates(t, other.Report.ID); len(got) != 1 || !strings.HasPrefix(got[0], "queued") {
			t.Fatalf("thread of a reply while the provider stalls: %q", got)
		}

		// Back: sent once, to the number, in the network's wording.
		prov.Work()
		s.Clock.Add(5 * time.Minute)
		s.runJobs(t)
		var sent []smstest.Message
		for _, m := range prov.Sent() {
			if m.To == e164 {
				sent = append(sent, m)
			}
		}
		if len(sent) != 1 || sent[0].Text != s.App.Nudger.Text() || len(prov.Sent()) != 2 {
			t.Fatalf("sent %q", prov.Sent())
		}
		if got := b.nudgeStates(t, id); len(got) != 1 || !strings.HasPrefix(got[0], "sent") {
			t.Fatalf("thread after the provider came back: %q, want sent", got)
		}
		s.Clock.Add(time.Hour)
		s.runJobs(t)
		if len(prov.Sent()) != 2 {
			t.Errorf("%d nudges went, want 2 (one per report)", len(prov.Sent()))
		}
		b = s.login(t, "demo-caseworker") // the hour ended the console session
		csrf = b.csrf()

		// Within the quiet period a new reply's nudge waits for its end.
		b.reply(t, csrf, id, "Tuko hapa.")
		if got := b.nudgeStates(t, id); len(got) != 2 || !strings.Contains(got[1], "goes out after") {
			t.Fatalf("thread within the quiet period: %q", got)
		}
		s.runJobs(t)
		if len(prov.Sent()) != 2 {
			t.Fatal("a nudge went out within the quiet period")
		}
		s.Clock.Add(sms.DefaultNudgeQuiet)
		s.runJobs(t)
		if len(prov.Sent()) != 3 {
			t.Fatalf("the waiting nudge did not go after the quiet period: %d sent", len(prov.Sent()))
		}

		// Refused (4xx): failed at once, visibly; no retry.
		b = s.login(t, "demo-caseworker")
		csrf = b.csrf()
		sub2 := s.Submit(apptest.Report(func(in *reporting.Input) {
			in.ContactPref, in.Phone = "phone", "0733 222 888"
		}))
		prov.Fail(http.StatusBadRequest)
		b.reply(t, csrf, sub2.Report.ID, "Habari.")
		s.runJobs(t)
		before := prov.Requests()
		s.Clock.Add(time.Hour)
		s.runJobs(t)
		if prov.Requests() != before {
			t.Error("a refused nudge was tried again")
		}
		b = s.login(t, "demo-caseworker")
		csrf = b.csrf()
		if got := b.nudgeStates(t, sub2.Report.ID); len(got) != 1 || !strings.HasPrefix(got[0], "failed: the SMS provider refused it") {
			t.Fatalf("thread after a refusal: %q", got)
		}
		// The failed nudge started no quiet period: the next reply's nudge
		// goes at once.
		prov.Work()
		b.reply(t, csrf, sub2.Report.ID, "Habari tena.")
		s.runJobs(t)
		if sent := prov.Sent(); len(sent) != 4 || sent[3].To != "+254733222888" {
			t.Fatalf("after a failed nudge, the next one: %q", sent)
		}

		// Nothing in the database holds a number in clear, and every
		// finished nudge job's payload is gone.
		for _, needle := range []string{"722111999", "733222888", "0722 111 999"} {
			if s.dbContains(t, []byte(needle)) {
				t.Errorf("the database holds %q in clear", needle)
			}
		}
		for _, j := range jobsOf(sms.JobNudge) {
			if (j.State == store.JobDone || j.State == store.JobFailed) && len(j.Payload) != 0 {
				t.Errorf("finished nudge job keeps its payload: %+v", j)
			}
		}
	})
}
