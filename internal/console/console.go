// Package console serves the caseworkers' pages under /console: login with
// password and TOTP, enrolment, the inbox, a report, the thread with the
// survivor, notes, status, assignment, classification, members. Pages are
// server-rendered, work without JavaScript and on a phone.
//
// Every route is declared once in routes(), with the least role it needs;
// the access test walks that table as every role of two organisations and
// as an anonymous visitor. It must never show one organisation anything of
// another's reports, and never log content.
package console

import (
	"bytes"
	"embed"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/salama-ke/salama/internal/network"
	"github.com/salama-ke/salama/internal/report"
	"github.com/salama-ke/salama/internal/staff"

	"github.com/salama-ke/salama/internal/casework"
	"github.com/salama-ke/salama/internal/health"
	"github.com/salama-ke/salama/internal/notify"
	"github.com/salama-ke/salama/internal/ratelimit"
	"github.com/salama-ke/salama/internal/reporting"
)

//go:embed templates/*.html
var templateFS embed.FS

// CSS is the console's stylesheet, inlined in every console page; the web
// server allows it by hash in its Content-Security-Policy.
//
//go:embed console.css
var CSS string

// cookieName carries a console login: session id and session key.
const cookieName = "salama_console"

// Config is what the operator chooses.
type Config struct {
	ExitURL string
	TLS     bool
	// LoginRule limits login attempts per address; per-account lockout is
	// in staff.
	LoginRule ratelimit.Rule
	// ClientAddr returns the rate-limit address of a request (the web
	// server's, which knows the trusted proxies).
	ClientAddr func(*http.Request) netip.Addr
	// StatsK is the statistics' suppression threshold (0 means 5), the
	// public page's: see stats.go.
	StatsK int
	// Alerts keeps the organisations' staff alert contacts (alerts.go).
	Alerts *notify.Service
	// Reporting takes the reports caseworkers enter on a survivor's
	// behalf (intake.go), as the public form's reports are made.
	Reporting *reporting.Service
	// Network edits the directory and the routing rules (directory.go,
	// routing.go).
	Network *network.Service
	// Health gathers the health page's report (health.go).
	Health *health.Checker
	// Staff logs caseworkers in and keeps an organisation's members
	// (auth.go, members.go); casework, given to New, does the rest.
	Staff *staff.Service
}

// Console is the caseworkers' site.
type Console struct {
	cfg    Config
	cw     *casework.Service
	staff  *staff.Service
	log    *slog.Logger
	pages  map[string]*template.Template
	logins *ratelimit.Limiter
}

// New parses every console template.
func New(cfg Config, cw *casework.Service, log *slog.Logger) (*Console, error) {
	if cfg.LoginRule.Burst == 0 {
		cfg.LoginRule = ratelimit.Rule{Burst: 10, Every: time.Minute}
	}
	c := &Console{cfg: cfg, cw: cw, staff: cfg.Staff, log: log, pages: map[string]*template.Template{}, logins: ratelimit.New(cfg.LoginRule)}
	if cfg.Alerts == nil {
		return nil, errors.New("console: no alert service")
	}
	if cfg.Staff == nil {
		return nil, errors.New("console: no staff service")
	}
	if cfg.ClientAddr == nil {
		// The web site's, which knows the trusted proxies: a second way
		// of reading the address would key the login limit differently.
		return nil, errors.New("console: no client address function")
	}
	if cfg.Health == nil {
		return nil, errors.New("console: no health checker")
	}
	if cfg.Network == nil {
		return nil, errors.New("console: no network service")
	}
	if cfg.Reporting == nil {
		return nil, errors.New("console: no reporting service")
	}
	for _, name := range append([]string{"login", "enrol", "enrol_totp", "inbox", "case", "members", "password", "message", "clusters", "alerts", "referral_form", "export", "intake", "intake_done", "health"}, directoryPages...) {
		files := []string{"templates/layout.html", "templates/" + name + ".html"}
		switch name {
		case "case":
			files = append(files, "templates/referrals.html", "templates/evidence.html")
		case "referral_form":
			files = append(files, "templates/referrals.html")
		}
		t, err := template.New("layout").Funcs(funcs).ParseFS(templateFS, files...)
		if err != nil {
			return nil, err
		}
		c.pages[name] = t
	}
	return c, nil
}

// handler is a console handler; p is nil on public routes.
type handler func(w http.ResponseWriter, r *http.Request, p *staff.Principal)

// Route is one console route and the least role it needs ("" for public).
type Route struct {
	Method, Pattern string
	Role            staff.Role
	h               handler
}

func (c *Console) routes() []Route {
	pub, cw, admin := staff.Role(""), staff.RoleCaseworker, staff.RoleOrgAdmin
	return []Route{
		{"GET", "/console/login", pub, c.loginForm},
		{"POST", "/console/login", pub, c.login},
		{"GET", "/console/enrol", pub, c.enrolForm},
		{"POST", "/console/enrol", pub, c.enrolStart},
		{"POST", "/console/enrol/finish", pub, c.enrolFinish},
		{"GET", "/console/{$}", cw, c.inbox},
		{"GET", "/console/intake", cw, c.intakeForm},
		{"POST", "/console/intake", cw, c.takeReport},
		{"GET", "/console/reports/{id}", cw, c.showCase},
		{"GET", "/console/reports/{id}/attachments/{att}", cw, c.attachment},
		{"GET", "/console/reports/{id}/attachments/{att}/blurred", cw, c.attachmentBlurred},
		{"POST", "/console/reports/{id}/bundle", cw, c.exportBundle},
		{"POST", "/console/reports/{id}/status", cw, c.setStatus},
		{"POST", "/console/reports/{id}/assign", cw, c.assign},
		{"POST", "/console/reports/{id}/classify", cw, c.classify},
		{"POST", "/console/reports/{id}/note", cw, c.addNote},
		{"POST", "/console/reports/{id}/message", cw, c.sendMessage},
		{"POST", "/console/reports/{id}/referrals", cw, c.createReferral},
		{"POST", "/console/referrals/{rid}/{action}", cw, c.referralAction},
		{"GET", "/console/password", cw, c.passwordForm},
		{"POST", "/console/password", cw, c.changePassword},
		{"POST", "/console/logout", cw, c.logout},
		{"GET", "/console/members", admin, c.members},
		{"POST", "/console/members", admin, c.addMember},
		{"POST", "/console/members/{id}/disable", admin, c.disableMember},
		{"POST", "/console/members/{id}/enable", admin, c.enableMember},
		{"POST", "/console/members/{id}/unlock", admin, c.unlockMember},
		{"GET", "/console/alerts", admin, c.alerts},
		{"POST", "/console/alerts", admin, c.addAlertContact},
		{"POST", "/console/alerts/{contact}/delete", admin, c.removeAlertContact},
		{"GET", "/console/health", admin, c.health},
		{"GET", "/console/export", admin, c.exportForm},
		{"POST", "/console/export", admin, c.export},
		{"GET", "/console/directory", admin, c.directoryList},
		{"GET", "/console/directory/new", admin, c.directoryNew},
		{"POST", "/console/directory", admin, c.directoryCreate},
		{"GET", "/console/directory/export", admin, c.directoryExport},
		{"GET", "/console/directory/services/{id}", admin, c.directoryEdit},
		{"POST", "/console/directory/services/{id}", admin, c.directoryUpdate},
		{"POST", "/console/directory/services/{id}/delete", admin, c.directoryDelete},
		{"GET", "/console/network/clusters", staff.RoleCoordinator, c.clusters},
		{"GET", "/console/network/stats", staff.RoleCoordinator, c.networkStats},
		{"GET", "/console/routing", staff.RoleCoordinator, c.routing},
		{"POST", "/console/routing", staff.RoleCoordinator, c.routingAdd},
		{"GET", "/console/routing/{id}", staff.RoleCoordinator, c.routingEdit},
		{"POST", "/console/routing/{id}", staff.RoleCoordinator, c.routingUpdate},
		{"POST", "/console/routing/{id}/delete", staff.RoleCoordinator, c.routingDelete},
		{"POST", "/console/routing/{id}/up", staff.RoleCoordinator, c.routingUp},
		{"POST", "/console/routing/{id}/down", staff.RoleCoordinator, c.routingDown},
	}
}

// Routes lists the console's routes, for the access test.
func (c *Console) Routes() []Route { return c.routes() }

// Register adds the console's routes to mux.
func (c *Console) Register(mux *http.ServeMux) {
	for _, rt := range c.routes() {
		mux.HandleFunc(rt.Method+" "+rt.Pattern, c.wrap(rt))
	}
}

// wrap resolves the session, checks the role and, on POST, the CSRF token.
func (c *Console) wrap(rt Route) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		cut := false
		if rt.Method == "POST" {
			var ok bool
			if cut, ok = c.readForm(w, r, rt); !ok {
				return
			}
		}
		if rt.Role == "" {
			if rt.Method == "POST" && !c.checkFormToken(r.PostForm.Get("form_token")) {
				// Audited like a failed login, and within the same
				// per-address budget, so that nobody can fill the log.
				if ok, _ := c.logins.Allow(c.cfg.ClientAddr(r)); ok {
					c.staff.Refused(r.Context(), nil, "form_token")
				}
				c.fail(w, r, nil, http.StatusForbidden, "This form expired. Please open the page again.")
				return
			}
			if cut {
				c.tooLong(w, r, nil)
				return
			}
			rt.h(w, r, nil)
			return
		}
		p := c.principal(w, r)
		if p == nil {
			return
		}
		defer p.Close()
		if !p.Can(rt.Role) {
			c.fail(w, r, p, http.StatusNotFound, "This page does not exist.")
			return
		}
		if rt.Method == "POST" && !c.staff.VerifyCSRF(p, r.PostForm.Get("csrf")) {
			c.staff.Refused(r.Context(), p, "csrf")
			c.fail(w, r, p, http.StatusForbidden, "This form could not be checked. Please open the page again.")
			return
		}
		if cut {
			c.tooLong(w, r, p)
			return
		}
		rt.h(w, r, p)
	}
}

func (c *Console) principal(w http.ResponseWriter, r *http.Request) *staff.Principal {
	ck, err := r.Cookie(cookieName)
	if err == nil {
		p, err := c.staff.Session(r.Context(), ck.Value)
		if err == nil {
			return p
		}
		if !errors.Is(err, casework.ErrNoSession) {
			c.log.Error("console session lookup failed", "err", err)
			c.fail(w, r, nil, http.StatusServiceUnavailable, "Something went wrong. Please try again in a minute.")
			return nil
		}
	}
	c.clearCookie(w)
	to := "/console/login"
	if err == nil {
		// A cookie that opens nothing any more (logged out, expired, the
		// member disabled, or tampered with): say so on the login page.
		to += "?ended=1"
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

func (c *Console) setCookie(w http.ResponseWriter, value string) {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: value, Path: "/console", HttpOnly: true, Secure: c.cfg.TLS, SameSite: http.SameSiteStrictMode})
}

func (c *Console) clearCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/console", MaxAge: -1, HttpOnly: true, Secure: c.cfg.TLS, SameSite: http.SameSiteStrictMode})
}

// A form token protects the forms shown before login (login, enrolment)
// against cross-site posting (internal/token), valid two hours.
func (c *Console) formToken() string { return c.staff.FormToken() }

func (c *Console) checkFormToken(tok string) bool { return c.staff.CheckFormToken(tok) }

// view is what every console template gets.
type view struct {
	Title     string
	P         *staff.Principal
	CSRF      string
	FormToken string
	ExitURL   string
	CSS       template.CSS
	Flash     string
	Problem   string
	Data      any
}

func (c *Console) render(w http.ResponseWriter, status int, name string, v *view) {
	v.ExitURL, v.CSS = c.cfg.ExitURL, template.CSS(CSS)
	if v.P != nil {
		v.CSRF = c.staff.CSRF(v.P)
	} else {
		v.FormToken = c.formToken()
	}
	var buf bytes.Buffer
	if err := c.pages[name].ExecuteTemplate(&buf, "layout", v); err != nil {
		c.log.Error("console template failed", "page", name, "err", err)
		http.Error(w, "Something went wrong.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

func (c *Console) fail(w http.ResponseWriter, r *http.Request, p *staff.Principal, status int, text string) {
	c.render(w, status, "message", &view{Title: "Salama console", P: p, Problem: text})
}

// eat is East Africa Time, the console's clock.
var eat = time.FixedZone("EAT", 3*3600)

var funcs = template.FuncMap{
	"date": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.In(eat).Format("2 Jan 2006 15:04")
	},
	// pep: sexual violence still happening or in the last 72 hours.
	"pep": report.WithinPEPWindow,
	"has": func(list []string, v string) bool {
		for _, x := range list {
			if x == v {
				return true
			}
		}
		return false
	},
	"label": label,
}
