package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"sync/atomic"
	"time"

	"github.com/salama-ke/salama/internal/app"
	"github.com/salama-ke/salama/internal/seal"
	"github.com/salama-ke/salama/internal/web"
)

// Config chooses what the bench runs on.
type Config struct {
	Database  string // "" for SQLite in a temporary directory
	KDFParams seal.KDFParams
	Logger    *slog.Logger
}

// Env describes the run, for the table's heading and the JSON.
type Env struct {
	Database  string `json:"database"`
	KDF       string `json:"kdf"`
	Transport string `json:"transport"`
	Counting  string `json:"counting"`
}

// env is a running server and what a section needs to reach it.
type env struct {
	Env
	App  *app.App
	Base string // http://127.0.0.1:port

	srv *http.Server
	dir string
}

// start builds the app as `salama serve --demo` does and serves it on a
// loopback port.
func start(ctx context.Context, c Config) (*env, error) {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	dir, err := os.MkdirTemp("", "salama-bench-")
	if err != nil {
		return nil, err
	}
	a, err := app.New(ctx, app.Options{DataDir: dir, Database: c.Database, KDFParams: c.KDFParams,
		Web: web.DefaultConfig(), Demo: true, Logger: c.Logger})
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("starting the app: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		a.Close()
		os.RemoveAll(dir)
		return nil, err
	}
	e := &env{App: a, Base: "http://" + ln.Addr().String(), dir: dir,
		srv: &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 10 * time.Second}}
	go e.srv.Serve(ln)

	e.Database = "SQLite (temporary directory)"
	if c.Database != "" {
		e.Database = "PostgreSQL" // never the URL: it may carry a password
	}
	e.KDF = a.KDFParams.String()
	e.Transport = "HTTP/1.1 on loopback, no TLS"
	e.Counting = "Bytes are counted on the socket: a response is its status line, headers and gzip body " +
		"(with chunk framing) as received; requests carry a mobile browser's usual headers. " +
		"TCP/IP and TLS overhead are not counted."
	return e, nil
}

// Close stops the server and removes the temporary data.
func (e *env) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	e.srv.Shutdown(ctx)
	e.App.Close()
	os.RemoveAll(e.dir)
}

// meter counts the bytes a visitor's connections send and receive.
type meter struct{ sent, received atomic.Int64 }

type meteredConn struct {
	net.Conn
	m *meter
}

func (c meteredConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.m.received.Add(int64(n))
	return n, err
}

func (c meteredConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.m.sent.Add(int64(n))
	return n, err
}

// visitor is one browser: its own connections (kept alive, as a browser
// does), its own cookies, and a browser's request headers. It follows no
// redirect by itself, so that every request is counted.
type visitor struct {
	base   string
	lang   string // Accept-Language
	client *http.Client
	m      *meter
}

func (e *env) newVisitor(acceptLanguage string) *visitor {
	m := &meter{}
	var d net.Dialer
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return meteredConn{Conn: c, m: m}, nil
		},
		// We ask for gzip ourselves and count the body as it came.
		DisableCompression:  true,
		MaxIdleConnsPerHost: 1,
	}
	jar, _ := cookiejar.New(nil)
	return &visitor{base: e.Base, lang: acceptLanguage, m: m, client: &http.Client{
		Transport:     tr,
		Jar:           jar,
		Timeout:       2 * time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

func (v *visitor) close() { v.client.CloseIdleConnections() }

// exchange is one request and its response, with what each cost on the wire.
type exchange struct {
	Status   int
	Header   http.Header
	Gzipped  bool
	Body     []byte // as received: gzip when Gzipped
	HTML     []byte // decoded
	Sent     int64  // request: request line, headers, body
	Received int64  // response: status line, headers, body as received
}

// HeaderBytes is the part of Received that is not the body.
func (x *exchange) HeaderBytes() int64 { return x.Received - int64(len(x.Body)) }

// browserHeaders are what a mobile Chrome sends with a navigation; they are
// counted as sent bytes.
func (v *visitor) browserHeaders(h http.Header) {
	h.Set("User-Agent", "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Mobile Safari/537.36")
	h.Set("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8")
	h.Set("Accept-Encoding", "gzip, deflate, br, zstd")
	h.Set("Accept-Language", v.lang)
}

func (v *visitor) get(ctx context.Context, path string) (*exchange, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.base+path, nil)
	if err != nil {
		return nil, err
	}
	return v.do(req)
}

func (v *visitor) post(ctx context.Context, path, contentType string, body []byte) (*exchange, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, v.base+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Origin", v.base)
	return v.do(req)
}

func (v *visitor) do(req *http.Request) (*exchange, error) {
	v.browserHeaders(req.Header)
	sent0, recv0 := v.m.sent.Load(), v.m.received.Load()
	resp, err := v.client.Do(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	// The whole response has been read from the socket once the body
	// reached its end (the chunked terminator included), and nothing else
	// arrives on an idle keep-alive connection.
	x := &exchange{Status: resp.StatusCode, Header: resp.Header, Body: body, HTML: body,
		Sent: v.m.sent.Load() - sent0, Received: v.m.received.Load() - recv0}
	if resp.Header.Get("Content-Encoding") == "gzip" {
		x.Gzipped = true
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, err)
		}
		if x.HTML, err = io.ReadAll(zr); err != nil {
			return nil, fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, err)
		}
	}
	return x, nil
}

// expect fails unless the response has the wanted status.
func (x *exchange) expect(status int, what string) error {
	if x.Status != status {
		return fmt.Errorf("%s: status %d, want %d", what, x.Status, status)
	}
	return nil
}

var errNoMatch = errors.New("not found in the page")
