package web

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/salama-ke/salama/internal/seal"
)

// contentSecurityPolicy allows exactly our inline stylesheet and quick-exit
// script, by hash, and nothing from anywhere else; images and audio only
// from our own origin (the console plays a revealed voice note from its
// authenticated attachment route).
func contentSecurityPolicy(extraStyles ...string) string {
	h := func(b string) string {
		sum := sha256.Sum256([]byte(b))
		return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
	}
	styles := h(css)
	for _, x := range extraStyles {
		styles += " " + h(x)
	}
	return "default-src 'none'; style-src " + styles + "; script-src " + h(exitJS) + " " + h(shrinkJS) +
		"; img-src 'self' data:; media-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
}

// securityHeaders sets SPEC §9's headers on every response, once, here.
func (s *Server) securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", s.csp)
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		// Every page may carry report content or a form token: nothing is
		// kept in a shared phone's cache.
		h.Set("Cache-Control", "no-store")
		if s.cfg.TLS {
			h.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
		}
		if s.cfg.OnionOrigin != "" && isPublicPage(r) {
			h.Set("Onion-Location", s.cfg.OnionOrigin+r.URL.RequestURI())
		}
		next.ServeHTTP(w, r)
	})
}

// isPublicPage: the survivors' pages, which Tor Browser may offer to open
// on the onion service; not the console, the gateway callbacks or the
// health check.
func isPublicPage(r *http.Request) bool {
	p := r.URL.Path
	return (r.Method == http.MethodGet || r.Method == http.MethodHead) &&
		!strings.HasPrefix(p, "/console") && !strings.HasPrefix(p, "/gw/") && p != "/healthz"
}

// OnionOrigin checks an --onion-address (a v3 onion service name, with or
// without http://) and returns the origin Onion-Location names.
func OnionOrigin(addr string) (string, error) {
	host := strings.TrimSpace(addr)
	host = strings.TrimPrefix(strings.TrimPrefix(host, "http://"), "https://")
	host = strings.TrimSuffix(host, "/")
	if !seal.ValidOnionV3(host) {
		return "", fmt.Errorf("%q is not a Tor v3 onion address (56 letters and digits, then .onion; see hostname in the HiddenServiceDir)", addr)
	}
	return "http://" + strings.ToLower(host), nil
}

// recoverer turns a panic into the generic error page; the panic value is
// logged without the request's content.
func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("panic serving request", "route", r.Pattern, "panic", v)
				s.fail(w, r, http.StatusInternalServerError, "error.internal")
			}
		}()
		next.ServeHTTP(w, r)
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// logRequests logs the route pattern (never the path, the query, the
// address or the User-Agent), the status and the duration: at debug level
// (--log-level debug), since at thousands of requests a second they would
// fill the disk, and at warn when the server failed (5xx).
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		took := time.Since(start)
		if s.cfg.OnRequest != nil {
			s.cfg.OnRequest(r.Pattern, sw.status, took)
		}
		level := slog.LevelDebug
		if sw.status >= 500 {
			level = slog.LevelWarn
		}
		if s.log.Enabled(r.Context(), level) {
			s.log.Log(r.Context(), level, "request", "method", r.Method, "route", r.Pattern, "status", sw.status,
				"ms", took.Milliseconds())
		}
	})
}

// lifecycle is the outermost middleware: it counts the request in and out
// for a graceful shutdown (serve.go), marks one that arrives while shutting
// down, and gives the connection the deadlines of the request's phase:
// while the body arrives, a read deadline that moves on as long as the
// body makes progress; once the response starts, a write deadline per part
// written. A slow upload therefore never eats the time its answer needs.
func (s *Server) lifecycle(next http.Handler) http.Handler {
	lim := s.cfg.Limits
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		refused := s.life.enter()
		defer s.life.leave(refused)
		if refused {
			r = r.WithContext(context.WithValue(r.Context(), refusedKey{}, true))
		}
		s.warnForwarded(r)
		rc := http.NewResponseController(w)
		// A deadline left by the previous response on this connection
		// must not cut this one's.
		rc.SetWriteDeadline(time.Time{})
		pw := &phaseWriter{ResponseWriter: w, rc: rc, idle: lim.WriteIdle, life: &s.life}
		if r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0 {
			now := time.Now()
			b := &phaseBody{ReadCloser: r.Body, rc: rc, idle: lim.BodyIdle, min: lim.MinBodyProgress,
				max: now.Add(lim.BodyMax), deadline: now.Add(lim.BodyIdle)}
			rc.SetReadDeadline(b.deadline)
			r.Body = b
		}
		next.ServeHTTP(pw, r)
	})
}

// phaseBody moves the read deadline on while the body makes progress: at
// least min bytes since the last move push it to idle from now, never past
// max. At the end of the body the deadline goes: the handler may then take
// its time (a submission waits for its argon2id turn) without the
// server's background read cancelling the request.
type phaseBody struct {
	io.ReadCloser
	rc            *http.ResponseController
	idle          time.Duration
	min           int64
	max, deadline time.Time
	got           int64
	done          bool
}

func (b *phaseBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if b.done {
		return n, err
	}
	b.got += int64(n)
	if err == io.EOF {
		b.done = true
		b.rc.SetReadDeadline(time.Time{})
		return n, err
	}
	if err == nil && b.got >= b.min && b.deadline.Before(b.max) {
		d := time.Now().Add(b.idle)
		if d.After(b.max) {
			d = b.max
		}
		// Moving a deadline costs a timer update: not for every read of a
		// fast upload, only once it would move by a second or more.
		if d.Sub(b.deadline) >= time.Second || d.Equal(b.max) {
			b.rc.SetReadDeadline(d)
			b.deadline, b.got = d, 0
		}
	}
	return n, err
}

// writeChunk is how much of a response one write deadline covers.
const writeChunk = 16 << 10

// phaseWriter gives every part of the response its own write deadline, so
// a response is cut only when the client stops taking it, and closes the
// connection after the response while the server shuts down.
type phaseWriter struct {
	http.ResponseWriter
	rc      *http.ResponseController
	idle    time.Duration
	life    *lifecycle
	started bool
}

func (w *phaseWriter) start() {
	if !w.started {
		w.started = true
		if w.life.isDraining() {
			w.Header().Set("Connection", "close")
		}
	}
}

func (w *phaseWriter) WriteHeader(code int) {
	w.start()
	w.ResponseWriter.WriteHeader(code)
}

func (w *phaseWriter) Write(b []byte) (int, error) {
	w.start()
	n := 0
	for len(b) > 0 {
		part := b[:min(len(b), writeChunk)]
		w.rc.SetWriteDeadline(time.Now().Add(w.idle))
		m, err := w.ResponseWriter.Write(part)
		n += m
		if err != nil {
			return n, err
		}
		b = b[m:]
	}
	return n, nil
}

func (w *phaseWriter) Flush() {
	w.start()
	w.rc.SetWriteDeadline(time.Now().Add(w.idle))
	w.rc.Flush()
}

func (w *phaseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// refuseNew answers a request that arrived while the server shuts down.
// Pages are still shown (they are cheap, and a survivor may need the help
// numbers); a report, a tip or a reply goes to its handler, which gives
// the words back with "try again in a minute"; any other post gets a 503
// page.
func (s *Server) refuseNew(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !refused(r) || r.Method == http.MethodGet || r.Method == http.MethodHead {
			mux.ServeHTTP(w, r)
			return
		}
		if _, pattern := mux.Handler(r); keepsWords[pattern] {
			mux.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Retry-After", "60")
		s.fail(w, r, http.StatusServiceUnavailable, "error.restarting")
	})
}

// keepsWords are the routes whose handlers answer a refused request with
// what was typed (refused, restarting).
var keepsWords = map[string]bool{
	"POST /{lang}/report":      true,
	"POST /{lang}/tip":         true,
	"POST /{lang}/check/reply": true,
}

// clientAddr is the one place that reads the client's address, and it is
// used only as a rate-limiter key (hashed there under a daily key). It
// believes X-Forwarded-For only from proxies the operator named, taking the
// right-most address that is not one of them.
func (s *Server) clientAddr(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return netip.IPv4Unspecified()
	}
	addr = addr.Unmap()
	if !s.trusted(addr) {
		return addr
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return addr
		}
		a = a.Unmap()
		if !s.trusted(a) {
			return a
		}
		addr = a
	}
	return addr
}

func (s *Server) trusted(a netip.Addr) bool {
	for _, p := range s.cfg.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
