// Package web serves Salama's public pages: landing, report, tip, help and
// the receipt check. Every page works without JavaScript, fits one TCP
// initial window gzipped, loads nothing from another host and sets no cookie
// until a survivor logs in with their receipt.
//
// It must never log or store a client address, a User-Agent, a receipt or
// anything a survivor typed. The only code that sees the client address is
// clientAddr, and only to feed the rate limiter's keyed hash.
package web

import (
	"log/slog"
	"net/http"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/salama-ke/salama/internal/formbody"
	"github.com/salama-ke/salama/internal/locale"
	"github.com/salama-ke/salama/internal/ratelimit"
	"github.com/salama-ke/salama/internal/reporting"
)

// Config is what the operator chooses.
type Config struct {
	// ExitURL is where Quick exit goes: a neutral site.
	ExitURL string
	// MaxUpload is the largest screenshot accepted, in bytes.
	MaxUpload int64
	// TrustedProxies are the proxies whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix
	// TLS says the site is served over HTTPS (directly or by a proxy), so
	// cookies are Secure and HSTS is sent.
	TLS bool
	// ReceiptRule and ReportRule limit receipt guesses (hard) and report
	// submissions (gently: many survivors share one carrier-NAT address).
	// PostRule limits every post of the report and tip forms (sent, or
	// redrawn to add a row) before its body is read: a flood from one
	// address is refused before anything of it is held.
	ReceiptRule ratelimit.Rule
	ReportRule  ratelimit.Rule
	PostRule    ratelimit.Rule
	// UploadMemory bounds the screenshot bytes held by all submissions at
	// once; a submission whose screenshots find no room within UploadWait
	// comes back with its words and a "try again in a minute".
	UploadMemory int64
	UploadWait   time.Duration
	// PublicStats switches on the public statistics page, /{lang}/stats;
	// StatsK is its suppression threshold (0 means DefaultStatsK).
	PublicStats bool
	StatsK      int
	// Limits bound each phase of a request and each client's connections
	// (serve.go); zero fields take DefaultLimits.
	Limits Limits
	// DiskLow, if set, says the disk under the data directory is nearly
	// full; /healthz then says so (reports are being refused).
	DiskLow func() bool
	// OnRequest, if set, is told of every answered request: the route
	// pattern that served it (never the path), the status and the time
	// taken (internal/metrics).
	OnRequest func(route string, status int, took time.Duration)
	// OnionOrigin, if set ("http://….onion"), is announced on public pages
	// with an Onion-Location header, so Tor Browser offers the onion
	// service (salama serve --onion-address).
	OnionOrigin string
}

// DefaultConfig returns the production defaults.
func DefaultConfig() Config {
	return Config{
		ExitURL:     "https://www.google.com/search?q=weather",
		MaxUpload:   5 << 20,
		ReceiptRule: ratelimit.Rule{Burst: 5, Every: 2 * time.Minute},
		ReportRule:  ratelimit.Rule{Burst: 30, Every: 20 * time.Second},
		Limits:      DefaultLimits(),
		PostRule:    ratelimit.Rule{Burst: 60, Every: 5 * time.Second},
		// Measured by the bench's upload memory section: with this much,
		// ten worst-case uploads at once stay within SPEC §8's budget.
		UploadMemory: 12 << 20,
		UploadWait:   30 * time.Second,
	}
}

// Server holds the public site.
type Server struct {
	cfg      Config
	cat      *locale.Catalog
	rep      *reporting.Service
	log      *slog.Logger
	pages    map[string]*page
	receipts *ratelimit.Limiter
	reports  *ratelimit.Limiter
	posts    *ratelimit.Limiter
	uploads  *formbody.Budget
	held     *heldFiles
	csp      string
	mounts   []func(*http.ServeMux)
	styles   []string // inline stylesheets of mounted parts, allowed by hash
	cache    *pageCache
	life     lifecycle
	// xffWarned: the X-Forwarded-For warning was given (once a process).
	xffWarned atomic.Bool
}

// New builds the server and parses every template; a template that does not
// parse is an error here, at start, not on a survivor's request.
func New(cfg Config, cat *locale.Catalog, rep *reporting.Service, log *slog.Logger) (*Server, error) {
	cfg.Limits = cfg.Limits.withDefaults()
	if cfg.PostRule.Burst == 0 {
		cfg.PostRule = DefaultConfig().PostRule
	}
	if cfg.UploadMemory <= 0 {
		cfg.UploadMemory = DefaultConfig().UploadMemory
	}
	if cfg.UploadWait <= 0 {
		cfg.UploadWait = DefaultConfig().UploadWait
	}
	s := &Server{cfg: cfg, cat: cat, rep: rep, log: log, cache: newPageCache(),
		receipts: ratelimit.New(cfg.ReceiptRule), reports: ratelimit.New(cfg.ReportRule),
		posts: ratelimit.New(cfg.PostRule), uploads: formbody.NewBudget(cfg.UploadMemory, cfg.UploadWait),
		held: newHeldFiles(cfg.UploadMemory)}
	if err := s.parseTemplates(); err != nil {
		return nil, err
	}
	s.csp = contentSecurityPolicy()
	return s, nil
}

// Mount adds another part of the site (the console) behind the same
// middleware: deadlines by phase, graceful shutdown, security headers,
// gzip, logging without addresses. Its inline
// stylesheets are allowed by hash in the Content-Security-Policy.
func (s *Server) Mount(register func(*http.ServeMux), styles ...string) {
	s.mounts = append(s.mounts, register)
	s.styles = append(s.styles, styles...)
	s.csp = contentSecurityPolicy(s.styles...)
}

// Uploads is the budget screenshots are held in while submissions are read,
// for the benchmark to watch.
func (s *Server) Uploads() *formbody.Budget { return s.uploads }

// ClientAddr is the address rate limiters key on (see clientAddr).
func (s *Server) ClientAddr(r *http.Request) netip.Addr { return s.clientAddr(r) }

// Handler returns the site with its middleware.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.inLang(s.landing))
	mux.HandleFunc("GET /{lang}/{$}", s.inLang(s.landing))
	reportForm := s.inLang(s.showForm(reporting.KindReport))
	mux.HandleFunc("GET /{lang}/report", reportForm)
	mux.HandleFunc("POST /{lang}/report", s.inLang(s.submit(reporting.KindReport)))
	mux.HandleFunc("GET /{lang}/tip", s.inLang(s.showForm(reporting.KindTip)))
	mux.HandleFunc("POST /{lang}/tip", s.inLang(s.submit(reporting.KindTip)))
	mux.HandleFunc("GET /{lang}/help", s.inLang(s.help))
	mux.HandleFunc("GET /{lang}/stats", s.statsHandler())
	mux.HandleFunc("GET /{lang}/check", s.inLang(s.checkForm))
	mux.HandleFunc("POST /{lang}/check", s.inLang(s.checkLogin))
	mux.HandleFunc("GET /{lang}/check/report", s.inLang(s.checkReport))
	mux.HandleFunc("POST /{lang}/check/reply", s.threadPost(replyLimits, s.checkReply))
	mux.HandleFunc("POST /{lang}/check/withdraw", s.threadButton(s.checkWithdraw))
	mux.HandleFunc("POST /{lang}/check/referral", s.threadButton(s.checkReferral))
	mux.HandleFunc("POST /{lang}/check/identifiers", s.threadPost(foundLimits, s.checkFound))
	mux.HandleFunc("POST /{lang}/check/logout", s.threadButton(s.checkLogout))
	mux.HandleFunc("GET "+exitPath, s.quickExit)
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /robots.txt", s.robots)
	mux.HandleFunc("GET /ripoti", shortLink(locale.Kiswahili, reportForm))
	mux.HandleFunc("GET /report", shortLink(locale.English, reportForm))
	// Pages declare an empty icon; old browsers ask anyway. Answer with
	// nothing rather than a redirect and a 404 page.
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.HandleFunc("/", s.notFound)
	for _, m := range s.mounts {
		m(mux)
	}
	return s.lifecycle(s.recoverer(s.securityHeaders(compressed(s.logRequests(s.refuseNew(mux))))))
}

// HealthHandler is /healthz, for the metrics listener to serve too.
func (s *Server) HealthHandler() http.Handler { return http.HandlerFunc(s.healthz) }

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	if s.life.isDraining() {
		// A load balancer sends no one new here while it shuts down.
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	if err := s.rep.Store.Ping(r.Context()); err != nil {
		http.Error(w, "database unavailable", http.StatusServiceUnavailable)
		return
	}
	if s.cfg.DiskLow != nil && s.cfg.DiskLow() {
		// Still 200: logins, reading and replies work, and a load
		// balancer must not take the only instance out. Monitors look
		// for the word; the log says where and how much.
		w.Write([]byte("degraded: low disk space, new reports are refused\n"))
		return
	}
	w.Write([]byte("ok\n"))
}
