// Package metrics exports Salama's numbers to Prometheus on a listener of
// its own (salama serve --metrics-addr, off by default): reports by
// channel, referrals by state, jobs by kind and state, SMS and email sent
// and failed, the argon2id queue, HTTP request durations by route, and
// database faults.
//
// What it must never do: put anything but fixed words in a label. Label
// values are a channel, a state, a job kind, a provider's name, a route
// pattern as registered on the mux ("POST /{lang}/check", never the path a
// client asked for) and a status class. No receipt, phone number,
// identifier, report id, address or raw path can reach a label, and the
// test scrapes after real traffic to prove it. The counts themselves are
// only counts: the endpoint is still best kept on a private address.
package metrics

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/salama-ke/salama/internal/health"
	"github.com/salama-ke/salama/internal/seal"
	"github.com/salama-ke/salama/internal/store"
)

// Sources are what the metrics read at each scrape.
type Sources struct {
	Store     *store.Store
	KDF       *seal.KDF
	Providers []*health.Provider
	Version   string
}

// Metrics is one registry and the request histogram the web server feeds.
type Metrics struct {
	reg  *prometheus.Registry
	http *prometheus.HistogramVec
}

// New builds the registry.
func New(src Sources) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.http = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "salama_http_request_duration_seconds",
		Help: "Time to answer a request, by route pattern and status class.",
		// USSD providers cut a screen off at 10 s; argon2id takes about 1 s.
		Buckets: []float64{.005, .025, .1, .25, .5, 1, 2, 4, 8, 15, 30},
	}, []string{"route", "status"})
	m.reg.MustRegister(m.http, &collector{src: src},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// ObserveRequest counts one answered request. route is the mux pattern
// that served it ("" when none matched).
func (m *Metrics) ObserveRequest(route string, status int, took time.Duration) {
	if route == "" {
		route = "unmatched"
	}
	if status == 0 {
		status = http.StatusOK // the handler wrote nothing
	}
	m.http.WithLabelValues(route, statusClass(status)).Observe(took.Seconds())
}

func statusClass(code int) string {
	if code < 100 || code > 599 {
		return "other"
	}
	return strconv.Itoa(code/100) + "xx"
}

// Handler serves /metrics, and health at /healthz (the same check as the
// main listener's, so a monitor can use either).
func (m *Metrics) Handler(healthz http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}))
	mux.Handle("GET /healthz", healthz)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("Salama metrics: /metrics (Prometheus), /healthz\n"))
	})
	return mux
}

var (
	descReports    = prometheus.NewDesc("salama_reports", "Reports in the database, by channel.", []string{"channel"}, nil)
	descReferrals  = prometheus.NewDesc("salama_referrals", "Referrals, by state.", []string{"state"}, nil)
	descJobs       = prometheus.NewDesc("salama_jobs", "Background jobs, by kind and state (periodic jobs waiting for their turn are not counted).", []string{"kind", "state"}, nil)
	descSent       = prometheus.NewDesc("salama_messages_sent_total", "Messages handed to a provider and accepted, by provider (sms, email).", []string{"provider"}, nil)
	descFailed     = prometheus.NewDesc("salama_messages_failed_total", "Attempts to send a message that failed, by provider (sms, email); jobs retry them.", []string{"provider"}, nil)
	descKDFQueued  = prometheus.NewDesc("salama_argon2_queue_depth", "argon2id evaluations and screenshot decodes waiting for a slot.", nil, nil)
	descKDFRunning = prometheus.NewDesc("salama_argon2_in_flight", "argon2id evaluations running.", nil, nil)
	descKDFWait    = prometheus.NewDesc("salama_argon2_wait_seconds", "Time waited for an argon2id slot (sum and count of turns).", nil, nil)
	descKDFEvals   = prometheus.NewDesc("salama_argon2_evaluations_total", "argon2id evaluations run.", nil, nil)
	descDBErrors   = prometheus.NewDesc("salama_database_errors_total", "Database faults met: failed transactions, engine errors, lost connections, failed pings.", nil, nil)
	descDBUp       = prometheus.NewDesc("salama_database_up", "1 when the database answered the scrape's queries.", nil, nil)
	descInfo       = prometheus.NewDesc("salama_build_info", "The running version.", []string{"version"}, nil)
)

// collector reads the database and the counters at each scrape.
type collector struct{ src Sources }

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descReports, descReferrals, descJobs, descSent, descFailed, descKDFQueued,
		descKDFRunning, descKDFWait, descKDFEvals, descDBErrors, descDBUp, descInfo} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	up := 1.0
	if cs, err := c.src.Store.ReportsByChannel(ctx); err == nil {
		for _, x := range cs {
			ch <- prometheus.MustNewConstMetric(descReports, prometheus.GaugeValue, float64(x.N), x.Key)
		}
	} else {
		up = 0
	}
	if cs, err := c.src.Store.ReferralsByState(ctx); err == nil {
		for _, x := range cs {
			ch <- prometheus.MustNewConstMetric(descReferrals, prometheus.GaugeValue, float64(x.N), x.Key)
		}
	} else {
		up = 0
	}
	if js, err := c.src.Store.JobCounts(ctx); err == nil {
		for _, j := range js {
			ch <- prometheus.MustNewConstMetric(descJobs, prometheus.GaugeValue, float64(j.N), j.Kind, j.State)
		}
	} else {
		up = 0
	}
	ch <- prometheus.MustNewConstMetric(descDBUp, prometheus.GaugeValue, up)
	ch <- prometheus.MustNewConstMetric(descDBErrors, prometheus.CounterValue, float64(c.src.Store.Errors()))
	for _, p := range c.src.Providers {
		st := p.Status()
		ch <- prometheus.MustNewConstMetric(descSent, prometheus.CounterValue, float64(st.Sent), st.Name)
		ch <- prometheus.MustNewConstMetric(descFailed, prometheus.CounterValue, float64(st.Failed), st.Name)
	}
	if k := c.src.KDF; k != nil {
		ch <- prometheus.MustNewConstMetric(descKDFQueued, prometheus.GaugeValue, float64(k.Queued()))
		ch <- prometheus.MustNewConstMetric(descKDFRunning, prometheus.GaugeValue, float64(k.InFlight()))
		turns, waited := k.WaitTotals()
		ch <- prometheus.MustNewConstSummary(descKDFWait, uint64(turns), waited.Seconds(), nil)
		ch <- prometheus.MustNewConstMetric(descKDFEvals, prometheus.CounterValue, float64(k.Evaluations()))
	}
	ch <- prometheus.MustNewConstMetric(descInfo, prometheus.GaugeValue, 1, c.src.Version)
}
