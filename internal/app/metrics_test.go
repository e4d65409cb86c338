package app_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/salama-ke/salama/internal/app"
	"github.com/salama-ke/salama/internal/app/apptest"
	"github.com/salama-ke/salama/internal/store"
	"github.com/salama-ke/salama/internal/store/storetest"
	"github.com/salama-ke/salama/internal/web"
)

// TestMetricsCarryNoSecrets sends real reports (with phone numbers for
// contact, identifiers, receipts), logs in with the receipts, has a
// caseworker write (an SMS nudge), asks for a path that does not exist and
// runs the jobs; then scrapes the metrics listener's handler, parses it as
// Prometheus does, checks the counts are there, and proves that no label
// value carries a receipt, a phone number, an identifier, a report id or a
// path a client asked for.
func TestMetricsCarryNoSecrets(t *testing.T) {
	storetest.EachDB(t, func(t *testing.T, db storetest.DB) {
		e := apptest.New(t, db, func(o *app.Options) { o.Gateway.USSDCode = "*384*123#" })
		srv := httptest.NewServer(e.App.Handler())
		defer srv.Close()
		in := &instance{name: "metrics", app: e.App, url: srv.URL}

		secrets := []string{"/en/no-such-page-7a7a7a"}
		var reportIDs []string
		for i, id := range []struct{ phone, idPhone, handle string }{
			{"0712 345 678", "+254 733 111 222", "@mtesaji_wa_siri"},
			{"+254 722 987 654", "0700 555 444", "https://instagram.com/predator.account.x"},
		} {
			u := newUser(t)
			form := u.get(in, "/en/report", http.StatusOK)
			narrative := "He keeps sending threats " + string(rune('A'+i))
			page := u.post(in, "/en/report", url.Values{"token": {match(t, tokenRE, form)}, "about": {"me"}, "what": {"sextortion"},
				"narrative": {narrative}, "contact": {"phone"}, "phone": {id.phone}, "share": {"ask"},
				"id_type": {"phone", "handle"}, "id_platform": {"whatsapp", "instagram"}, "id_value": {id.idPhone, id.handle},
				"send": {"1"}}, http.StatusOK)
			receipt := match(t, receiptRE, page)
			u.logIn(in, "en", receipt)
			u.get(in, "/en/check/report", web.StatusReport)
			rid := e.ReportOfReceipt(receipt)
			reportIDs = append(reportIDs, rid)
			secrets = append(secrets, receipt, strings.ReplaceAll(receipt, " ", ""), id.phone, digits(id.phone), id.idPhone,
				digits(id.idPhone), id.handle, narrative, rid)
			// A caseworker writes back: the survivor chose SMS contact, so
			// a nudge is queued for their number.
			if err := e.App.Casework.SendMessage(e.Ctx(), e.Principal("demo-caseworker"), rid, "We read your report."); err != nil {
				t.Logf("message to %s: %v (the report may be routed elsewhere)", rid, err)
			}
		}
		u := newUser(t)
		u.get(in, secrets[0], http.StatusNotFound)
		u.get(in, "/console/reports/"+reportIDs[0], http.StatusSeeOther) // not logged in
		for range 3 {
			e.Clock.Add(2 * 3600e9)
			if _, err := e.App.Jobs.RunDue(e.Ctx()); err != nil {
				t.Fatal(err)
			}
		}

		msrv := httptest.NewServer(e.App.Metrics.Handler(e.App.Web.HealthHandler()))
		defer msrv.Close()
		if body := get(t, msrv.URL+"/healthz"); body != "ok\n" {
			t.Errorf("/healthz on the metrics listener: %q", body)
		}
		text := get(t, msrv.URL+"/metrics")
		p := expfmt.NewTextParser(model.UTF8Validation)
		fams, err := p.TextToMetricFamilies(strings.NewReader(text))
		if err != nil {
			t.Fatalf("the scrape does not parse: %v\n%s", err, text)
		}

		// Every label value is a fixed word or a route pattern.
		wordRE := regexp.MustCompile(`^[A-Za-z0-9_. /{}$:-]{1,80}$`)
		longDigits := regexp.MustCompile(`[0-9]{6,}`)
		routes := map[string]bool{}
		for name, f := range fams {
			for _, m := range f.GetMetric() {
				for _, l := range m.GetLabel() {
					v := l.GetValue()
					if name == "salama_http_request_duration_seconds" && l.GetName() == "route" {
						routes[v] = true
					}
					if l.GetName() == "version" {
						continue // the build's own version
					}
					if !wordRE.MatchString(v) || longDigits.MatchString(v) {
						t.Errorf("%s{%s=%q}: not a fixed word", name, l.GetName(), v)
					}
					for _, s := range secrets {
						if s != "" && strings.Contains(v, s) {
							t.Errorf("%s{%s=%q} carries %q", name, l.GetName(), v, s)
						}
					}
				}
			}
		}
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("the scrape carries %q", s)
			}
		}
		for _, want := range []string{"POST /{lang}/report", "POST /{lang}/check", "GET /{lang}/check/report", "GET /console/reports/{id}"} {
			if !routes[want] {
				t.Errorf("no request duration for route %q; routes: %v", want, routes)
			}
		}
		if !routes["/"] && !routes["unmatched"] {
			t.Errorf("the 404 is not counted under the catch-all pattern; routes: %v", routes)
		}

		if n := value(fams, "salama_reports", "channel", store.ChannelWeb); n < 2 {
			t.Errorf("salama_reports{channel=web} = %v, want at least the 2 sent", n)
		}
		if n := value(fams, "salama_database_up", "", ""); n != 1 {
			t.Errorf("salama_database_up = %v", n)
		}
		if f := fams["salama_argon2_wait_seconds"]; f == nil || f.GetMetric()[0].GetSummary().GetSampleCount() == 0 {
			t.Error("no argon2id turns counted, though receipts were made and opened")
		}
		if n := value(fams, "salama_messages_sent_total", "provider", "sms"); n < 1 {
			t.Errorf("salama_messages_sent_total{provider=sms} = %v, want the nudges and alerts sent", n)
		}
		for _, name := range []string{"salama_referrals", "salama_jobs", "salama_messages_failed_total", "salama_argon2_queue_depth",
			"salama_database_errors_total", "salama_build_info"} {
			if _, ok := fams[name]; !ok && name != "salama_referrals" {
				t.Errorf("no %s in the scrape", name)
			}
		}
	})
}

func digits(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func get(t *testing.T, u string) string {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", u, resp.StatusCode, b)
	}
	return string(b)
}

// value sums the family's samples whose label is v ("" label: all).
func value(fams map[string]*dto.MetricFamily, name, label, v string) float64 {
	var sum float64
	for _, m := range fams[name].GetMetric() {
		ok := label == ""
		for _, l := range m.GetLabel() {
			if l.GetName() == label && l.GetValue() == v {
				ok = true
			}
		}
		if !ok {
			continue
		}
		switch {
		case m.GetGauge() != nil:
			sum += m.GetGauge().GetValue()
		case m.GetCounter() != nil:
			sum += m.GetCounter().GetValue()
		}
	}
	return sum
}
