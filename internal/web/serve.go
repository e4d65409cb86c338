package web

import (
	"context"
	"crypto/tls"
	"errors"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/salama-ke/salama/internal/ratelimit"
)

// Limits bound how long a connection may take over each phase of a request
// and how many connections one client may hold. They follow the phase a
// request is in, not the clock since it began: a survivor on 2G may take
// minutes to send a screenshot and still gets her receipt, while a client
// that sends nothing is cut within BodyIdle.
type Limits struct {
	// HeaderTimeout is how long a client has to send the request line and
	// headers (and, with TLS, the handshake).
	HeaderTimeout time.Duration
	// BodyIdle: a request body must deliver MinBodyProgress bytes within
	// every BodyIdle, or it is cut. BodyMax bounds a whole body, however
	// steadily it arrives.
	BodyIdle        time.Duration
	MinBodyProgress int64
	BodyMax         time.Duration
	// WriteIdle: the client must take each part of the response (at most
	// writeChunk bytes) within WriteIdle. The clock starts when the
	// response does, never while the request body is still arriving.
	WriteIdle time.Duration
	// IdleTimeout closes a keep-alive connection with no request.
	IdleTimeout time.Duration
	// ConnsPerClient caps the connections one address (an IPv6 /64) holds
	// at once; connections from trusted proxies are not capped here (the
	// proxy caps its clients: docs/operating.md). 0 means no cap.
	ConnsPerClient int
	// ShutdownGrace is how long requests in flight at shutdown may take to
	// finish; those still running then are told to try again.
	ShutdownGrace time.Duration
}

// DefaultLimits are the production limits (docs/operating.md explains them).
func DefaultLimits() Limits {
	return Limits{
		HeaderTimeout: 20 * time.Second,
		// A 2G phone sends about 2 KB/s, 60 KB per 30 s; a slow-body attack
		// that trickles a byte at a time is cut after 30 s.
		BodyIdle:        30 * time.Second,
		MinBodyProgress: 1000,
		// Five 5 MB screenshots at 2 KB/s would take three and a half hours;
		// 30 minutes is a 3.6 MB upload at that speed.
		BodyMax:        30 * time.Minute,
		WriteIdle:      time.Minute,
		IdleTimeout:    2 * time.Minute,
		ConnsPerClient: 32,
		// systemd's default TimeoutStopSec is 90 s.
		ShutdownGrace: time.Minute,
	}
}

// withDefaults fills what a Config built by hand left zero.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	orDefault(&l.HeaderTimeout, d.HeaderTimeout)
	orDefault(&l.BodyIdle, d.BodyIdle)
	orDefault(&l.MinBodyProgress, d.MinBodyProgress)
	orDefault(&l.BodyMax, d.BodyMax)
	orDefault(&l.WriteIdle, d.WriteIdle)
	orDefault(&l.IdleTimeout, d.IdleTimeout)
	orDefault(&l.ShutdownGrace, d.ShutdownGrace)
	return l
}

// orDefault sets *v to d when it is zero or less.
func orDefault[T time.Duration | int64](v *T, d T) {
	if *v <= 0 {
		*v = d
	}
}

// Serve serves the site on ln (HTTPS when certFile is set) until ctx ends,
// then shuts down without dropping a request:
//
//  1. New requests are refused: a report or tip form sent now comes back
//     with everything typed and "try again in a minute" (503), other
//     posts get a 503 page, pages are still shown, /healthz says 503, and
//     every response closes its connection.
//  2. Requests already in flight finish, for up to ShutdownGrace. Those
//     still running then have their context cancelled, so a submission
//     waiting for its turn answers with the form and its words instead of
//     being cut off.
//  3. The listener and idle connections are closed, and Serve returns once
//     every handler has returned, so the caller may close the database.
func (s *Server) Serve(ctx context.Context, ln net.Listener, certFile, keyFile string) error {
	return s.serve(ctx, ln, certFile, keyFile, nil)
}

// ServeTLS is Serve over HTTPS with cfg's certificates (from ACME:
// salama serve --acme-domain).
func (s *Server) ServeTLS(ctx context.Context, ln net.Listener, cfg *tls.Config) error {
	return s.serve(ctx, ln, "", "", cfg)
}

func (s *Server) serve(ctx context.Context, ln net.Listener, certFile, keyFile string, tlsCfg *tls.Config) error {
	lim := s.cfg.Limits
	secure := certFile != "" || tlsCfg != nil
	s.startupWarnings(ln.Addr())
	if lim.ConnsPerClient > 0 {
		ln = &capListener{Listener: ln, slots: ratelimit.NewSlots(lim.ConnsPerClient), trusted: s.trusted,
			refusing: make(chan struct{}, 64), plain: !secure}
	}
	hard, cut := context.WithCancel(context.Background())
	defer cut()
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: lim.HeaderTimeout,
		// No ReadTimeout or WriteTimeout: both run from the start of a
		// request, so a slow upload used up the time its receipt needed.
		// The lifecycle middleware sets each deadline by phase instead.
		IdleTimeout:    lim.IdleTimeout,
		MaxHeaderBytes: 16 << 10,
		ErrorLog:       log.New(&errorLog{log: s.log}, "", 0),
		BaseContext:    func(net.Listener) context.Context { return hard },
		TLSConfig:      tlsCfg,
	}
	errc := make(chan error, 1)
	go func() {
		if secure {
			errc <- srv.ServeTLS(ln, certFile, keyFile)
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}

	work := s.life.beginDrain()
	s.log.Info("shutting down: new requests are refused, requests in flight finish", "in_flight", work,
		"grace_s", lim.ShutdownGrace.Seconds())
	grace, cancel := context.WithTimeout(context.Background(), lim.ShutdownGrace)
	defer cancel()
	if !s.life.waitWork(grace) {
		s.log.Warn("shutdown grace period over: the requests still in flight are told to try again",
			"in_flight", s.life.inFlight())
		cut()
	}
	// Responses being written, and requests refused meanwhile, get a few
	// more seconds; Shutdown closes the listener and idle connections.
	final, cancelFinal := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancelFinal()
	if err := srv.Shutdown(final); err != nil {
		srv.Close()
	}
	cut()
	// The caller closes the database next: no handler may still use it.
	last, cancelLast := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancelLast()
	if !s.life.waitAll(last) {
		s.log.Error("handlers still running after shutdown", "in_flight", s.life.inFlight())
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// InFlight is the number of requests whose handlers are running, for tests
// and metrics.
func (s *Server) InFlight() int { return s.life.inFlight() }

// lifecycle counts the requests in flight and knows whether the server is
// shutting down.
type lifecycle struct {
	mu       sync.Mutex
	draining bool
	work     int // requests that arrived before the drain began
	all      int // every request whose handler is running
}

// enter counts a request in and reports whether it arrived during the
// drain (then it is refused).
func (l *lifecycle) enter() (refused bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.all++
	if !l.draining {
		l.work++
	}
	return l.draining
}

func (l *lifecycle) leave(refused bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.all--
	if !refused {
		l.work--
	}
}

func (l *lifecycle) beginDrain() (work int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.draining = true
	return l.work
}

func (l *lifecycle) isDraining() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.draining
}

func (l *lifecycle) inFlight() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.all
}

func (l *lifecycle) waitWork(ctx context.Context) bool {
	return l.wait(ctx, func() bool { return l.work == 0 })
}

func (l *lifecycle) waitAll(ctx context.Context) bool {
	return l.wait(ctx, func() bool { return l.all == 0 })
}

// wait polls, as http.Server.Shutdown does: shutting down is rare and a
// 20 ms step is nothing next to the requests it waits for.
func (l *lifecycle) wait(ctx context.Context, done func() bool) bool {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		l.mu.Lock()
		ok := done()
		l.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
	}
}

type refusedKey struct{}

// refused reports whether r arrived after shutdown began.
func refused(r *http.Request) bool {
	v, _ := r.Context().Value(refusedKey{}).(bool)
	return v
}

// restarting reports whether a request that could not finish failed
// because the server is shutting down, so its page can say "try again in a
// minute" rather than "something went wrong".
func (s *Server) restarting(r *http.Request) bool {
	return refused(r) || s.life.isDraining()
}

// capListener refuses a connection from an address (an IPv6 /64) that
// already holds ConnsPerClient, so that one client's slow bodies cannot take
// every descriptor. Addresses are counted under the rate limiter's keyed
// hash, never kept.
type capListener struct {
	net.Listener
	slots    *ratelimit.Slots
	trusted  func(netip.Addr) bool
	refusing chan struct{} // bounds the refusals being written at once
	// plain: the connection speaks HTTP, so the refusal can be a page.
	// On a TLS port it would be garbage before the handshake: the
	// connection is just closed.
	plain bool
}

func (l *capListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		addr := peerAddr(c.RemoteAddr())
		if l.trusted(addr) {
			return c, nil
		}
		release, ok := l.slots.Take(addr)
		if ok {
			return &releasingConn{Conn: c, release: release}, nil
		}
		if !l.plain {
			c.Close()
			continue
		}
		select {
		case l.refusing <- struct{}{}:
			go func() {
				defer func() { <-l.refusing }()
				refuseConn(c)
			}()
		default:
			c.Close() // a flood: no answer is cheaper than any answer
		}
	}
}

// tooManyConns is the whole answer to a connection over the cap, in both
// languages, written before the request is read.
var tooManyConns = func() string {
	body := "Too many connections from your network at once. Please try again in a minute.\n" +
		"Miunganisho mingi mno kutoka mtandao wako kwa wakati mmoja. Tafadhali jaribu tena baada ya dakika moja.\n"
	return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n" +
		"Retry-After: 10\r\nConnection: close\r\nCache-Control: no-store\r\nContent-Length: " +
		strconv.Itoa(len(body)) + "\r\n\r\n" + body
}()

func refuseConn(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	c.Write([]byte(tooManyConns))
	// Read what the client sent, so that closing does not reset the
	// connection before it reads the answer.
	if tc, ok := c.(interface{ CloseWrite() error }); ok {
		tc.CloseWrite()
	}
	buf := make([]byte, 1024)
	for {
		if _, err := c.Read(buf); err != nil {
			return
		}
	}
}

type releasingConn struct {
	net.Conn
	release func() // idempotent
}

func (c *releasingConn) Close() error {
	c.release()
	return c.Conn.Close()
}

func peerAddr(a net.Addr) netip.Addr {
	if ta, ok := a.(*net.TCPAddr); ok {
		if ip, ok := netip.AddrFromSlice(ta.IP); ok {
			return ip.Unmap()
		}
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.IPv4Unspecified()
	}
	return ap.Addr().Unmap()
}

// errorLog receives net/http's own error log (TLS handshake failures,
// panics, accept errors), which names the client's address: the addresses
// are removed before the line reaches the log. Failed handshakes are what
// every scanner on the internet causes, so they are logged at debug.
type errorLog struct{ log *slog.Logger }

func (e *errorLog) Write(p []byte) (int, error) {
	line := redactAddrs(strings.TrimSpace(string(p)))
	level := slog.LevelWarn
	if strings.Contains(line, "TLS handshake error") {
		level = slog.LevelDebug
	}
	e.log.Log(context.Background(), level, "http server", "err", line)
	return len(p), nil
}

var ipv4RE = regexp.MustCompile(`\d{1,3}(\.\d{1,3}){3}(:\d+)?`)

// redactAddrs replaces every IP address (with or without a port, IPv4 or
// IPv6, bracketed or not) in a log line by "[client]".
func redactAddrs(line string) string {
	words := strings.Fields(line)
	for i, w := range words {
		parts := strings.Split(w, "->")
		for j, part := range parts {
			core := strings.TrimRight(strings.TrimLeft(part, `("'`), `)"',;:.`)
			if core == "" {
				continue
			}
			if isAddr(core) {
				parts[j] = strings.Replace(part, core, "[client]", 1)
				continue
			}
			// "127.0.0.1:54321:" loses its last colon above but an
			// IPv6 address may end in one ("fe80::"): try with it.
			if withColon := strings.TrimRight(strings.TrimLeft(part, `("'`), `)"',;.`); withColon != core && isAddr(withColon) {
				parts[j] = strings.Replace(part, withColon, "[client]", 1)
			}
		}
		words[i] = strings.Join(parts, "->")
	}
	return ipv4RE.ReplaceAllString(strings.Join(words, " "), "[client]")
}

func isAddr(s string) bool {
	if _, err := netip.ParseAddrPort(s); err == nil {
		return true
	}
	_, err := netip.ParseAddr(strings.Trim(s, "[]"))
	return err == nil
}

// startupWarnings says once, at start, what the configuration gives away.
func (s *Server) startupWarnings(addr net.Addr) {
	if !s.cfg.TLS && !peerAddr(addr).IsLoopback() {
		s.log.Warn("Salama listens on an address other computers can reach, without TLS: cookies are not marked Secure "+
			"and receipt logins and console passwords cross the network readable. Serve HTTPS with --tls-cert and --tls-key, "+
			"or put a TLS proxy in front and pass --behind-tls (docs/operating.md).", "listen", addr.String())
	}
}

// warnForwarded says once per process that X-Forwarded-For arrives while no
// proxy is trusted: either a proxy is in front and --trusted-proxies is
// missing (then every survivor shares the proxy's rate-limit bucket), or
// clients send the header themselves (it is ignored, rightly).
func (s *Server) warnForwarded(r *http.Request) {
	if len(s.cfg.TrustedProxies) > 0 || s.xffWarned.Load() {
		return
	}
	if _, ok := r.Header["X-Forwarded-For"]; !ok {
		return
	}
	if s.xffWarned.CompareAndSwap(false, true) {
		s.log.Warn("a request came with X-Forwarded-For but --trusted-proxies is not set: the header is ignored, so " +
			"if a reverse proxy is in front, every client shares its rate-limit bucket and connection cap. " +
			"Name the proxy with --trusted-proxies (docs/operating.md). Said once.")
	}
}
