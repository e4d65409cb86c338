package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"strings"

	"github.com/salama-ke/salama/internal/locale"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static/salama.css
var css string

//go:embed static/exit.js
var exitJS string

// shrinkJS, on the report and tip forms only, lets a survivor who ticks the
// box make her screenshots smaller on the phone before they are sent: a
// megabyte is minutes on 2G. It keeps the chosen files in a variable of
// the page, never in browser storage; without it (no JavaScript, an old
// browser) the box stays hidden and the screenshots go as chosen.
//
//go:embed static/shrink.js
var shrinkJS string

// pageFiles declares every page and the templates it is built from; a test
// fails when a page is missing or does not parse.
var pageFiles = map[string][]string{
	"landing":  {"landing.html"},
	"report":   {"form.html", "report.html"},
	"tip":      {"form.html", "tip.html"},
	"received": {"helpnow.html", "received.html"},
	"help":     {"helpnow.html", "help.html"},
	"check":    {"check.html"},
	"thread":   {"thread.html"},
	"message":  {"message.html"},
	"stats":    {"stats.html"},
}

type page struct{ t *template.Template }

func (s *Server) parseTemplates() error {
	s.pages = map[string]*page{}
	for name, files := range pageFiles {
		t := template.New("layout")
		paths := []string{"templates/layout.html"}
		for _, f := range files {
			paths = append(paths, "templates/"+f)
		}
		t, err := t.ParseFS(templateFS, paths...)
		if err != nil {
			return fmt.Errorf("web: page %s: %w", name, err)
		}
		s.pages[name] = &page{t: t}
	}
	return nil
}

// view is what every page template gets.
type view struct {
	P     *locale.Printer
	Lang  locale.Lang
	Title string
	// ExitHref is where Quick exit goes: /exit, which ends the receipt
	// login before leaving for the neutral site, when the request came
	// with one; else the neutral site itself, one round trip sooner on 2G
	// when there is nothing to end.
	ExitHref string
	CSS      template.CSS
	Script   template.JS
	// SwitchForm is "report" or "tip" on those forms: the language
	// switcher is then a button that posts the form, answers and all, to
	// the same form in the other language, rather than a link that would
	// lose them.
	SwitchForm string
	// FormScript is the report and tip forms' second script (shrinkJS).
	FormScript template.JS
	Switch     []langLink
	Data       any
	// Index: search engines may list the page (the landing pages only,
	// so that a survivor searching the web finds Salama); every other
	// page carries noindex. Description is the landing page's summary
	// in search results.
	Index       bool
	Description string
}

type langLink struct {
	Code, Name, Href string
	Current          bool
}

// lang returns the request's language: the URL prefix, or for "/" the
// browser's preference. An unknown prefix is a 404.
func (s *Server) lang(r *http.Request) (locale.Lang, bool) {
	if p := r.PathValue("lang"); p != "" {
		return locale.ParseLang(p)
	}
	// Pages outside the routes (a 404) keep the language of their prefix.
	if prefix, _, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/"); ok {
		if l, ok := locale.ParseLang(prefix); ok {
			return l, true
		}
	}
	return locale.Negotiate(r.Header.Get("Accept-Language")), true
}

func (s *Server) newView(r *http.Request, l locale.Lang, titleKey string, data any) *view {
	p := s.cat.Printer(l)
	rest := r.URL.Path
	for _, o := range locale.Langs {
		if strings.HasPrefix(rest, "/"+string(o)+"/") {
			rest = strings.TrimPrefix(rest, "/"+string(o))
		}
	}
	// The switcher keeps the survivor on the same page. Pages answering a
	// POST under /check/ switch to the check page, never to a resubmission.
	switch {
	case rest == "":
		rest = "/"
	case strings.HasPrefix(rest, "/check/"):
		rest = "/check/report"
	}
	v := &view{P: p, Lang: l, Title: p.T(titleKey), ExitHref: s.cfg.ExitURL,
		CSS: template.CSS(css), Script: template.JS(exitJS), Data: data}
	if c, err := r.Cookie(checkCookie); err == nil && c.Value != "" {
		v.ExitHref = exitPath
	}
	for _, o := range locale.Langs {
		v.Switch = append(v.Switch, langLink{Code: string(o), Name: o.Name(), Href: "/" + string(o) + rest, Current: o == l})
	}
	return v
}

// render writes a page. Templates render into a buffer first so a template
// error becomes a clean error page, not half a page.
func (s *Server) render(w http.ResponseWriter, status int, name string, v *view) {
	var buf bytes.Buffer
	if err := s.pages[name].t.ExecuteTemplate(&buf, "layout", v); err != nil {
		s.log.Error("template failed", "page", name, "err", err)
		status, buf = http.StatusInternalServerError, bytes.Buffer{}
		buf.WriteString("<!doctype html><title>Salama</title><p>Error / Hitilafu. <a href=\"/\">Salama</a></p>")
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Language", string(v.Lang))
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// langHandler answers a page in the language its path names.
type langHandler func(w http.ResponseWriter, r *http.Request, l locale.Lang)

// inLang is the handler of a page under /{lang}/ (or of the bare landing
// page, whose language is negotiated): h runs in the page's language; a
// language the site does not speak is the 404 page.
func (s *Server) inLang(h langHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		l, ok := s.lang(r)
		if !ok {
			s.notFound(w, r)
			return
		}
		h(w, r, l)
	}
}

// fail shows a short page with a message in the survivor's language.
// Its heading says what kind of problem it is.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, status int, key string) {
	l, ok := s.lang(r)
	if !ok {
		l = locale.Negotiate(r.Header.Get("Accept-Language"))
	}
	title := "message.title_problem"
	if status == http.StatusNotFound {
		title = "message.title_not_found"
	}
	s.render(w, status, "message", s.newView(r, l, title, messageData{Text: s.cat.Printer(l).T(key)}))
}

type messageData struct {
	Text string
	Ok   bool
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	s.fail(w, r, http.StatusNotFound, "error.not_found")
}

func (s *Server) landing(w http.ResponseWriter, r *http.Request, l locale.Lang) {
	if r.PathValue("lang") == "" {
		w.Header().Add("Vary", "Accept-Language")
	}
	s.renderShared(w, r, sharedKey("landing", string(l), r.URL.Path), nil, nil, func([]string) (int, string, *view) {
		v := s.newView(r, l, "landing.page_title", nil)
		v.Index, v.Description = true, v.P.T("landing.description")
		return http.StatusOK, "landing", v
	})
}

// robotsTxt lets search engines find the landing pages (every other page
// says noindex itself, which a crawler must be allowed to fetch to see),
// and keeps them away from Quick exit and the console.
const robotsTxt = "User-agent: *\nDisallow: /exit\nDisallow: /console/\nAllow: /\n"

func (s *Server) robots(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte(robotsTxt))
}

// shortLink answers a short address told by word of mouth, on a poster or
// in a message (/ripoti, /report) with the report form in its language,
// at once. A redirect would cost a survivor on slow 2G another round trip
// (two seconds) before the form, and a permanent redirect is kept by the
// browser, one more trace of Salama on the phone. The form posts to the
// language's own address, its language switcher to the other language's
// form, and like every page with content it is noindex.
func shortLink(l locale.Lang, form http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.SetPathValue("lang", string(l))
		r.URL.Path = "/" + string(l) + "/report" // for the language switcher
		form(w, r)
	}
}
