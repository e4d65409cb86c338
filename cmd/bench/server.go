package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/netip"
	"net/url"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/salama-ke/salama/internal/app"
	"github.com/salama-ke/salama/internal/seal"
	"github.com/salama-ke/salama/internal/web"
)

// Config chooses what the bench runs on.
type Config struct {
	// Database is a PostgreSQL server URL to create the bench's database on,
	// or "" for SQLite in a temporary directory.
	Database  string
	KDFParams seal.KDFParams
	// KDFConcurrency is how many argon2id evaluations the server runs at
	// once; 0 means one per CPU, the server's default.
	KDFConcurrency int
	Logger         *slog.Logger
	Sizes          Sizes    // zero means FullSizes
	Only           []string // section names; empty runs all
}

// Sizes are how much work each section does.
type Sizes struct {
	Name string
	// Levels are the concurrent reporters of the throughput section and
	// how many reports each level sends in all.
	Levels []Level
	// FloorRepeats is how often the cryptographic floor is measured.
	FloorRepeats int
	// MemoryReporters report at once, MemoryRounds reports each, while the
	// memory section watches the peak.
	MemoryReporters, MemoryRounds int
	// Inbox are the numbers of reports the inbox is timed at, ascending;
	// the budget compares the last with the first.
	Inbox []int
	// InboxSamples is how many times each inbox page is fetched.
	InboxSamples int
	// Conns connections at once ask for the report form for ConnSeconds
	// while the connection-memory section watches the peak.
	Conns       int
	ConnSeconds float64
	// RateConns are the connections at once the page-rate section runs
	// Salama and the trivial server at, RateRounds times RateSeconds each.
	RateConns   []int
	RateSeconds float64
	RateRounds  int
	// SlowBytes of report are sent at SlowRate bytes per second.
	SlowBytes, SlowRate int
}

// Level is one load level: Reporters at once sending Reports in all.
type Level struct{ Reporters, Reports int }

// FullSizes are the documented run's; QuickSizes (-quick) a CI smoke run's.
var (
	FullSizes = Sizes{Name: "full", Levels: []Level{{1, 12}, {8, 48}, {32, 128}}, FloorRepeats: 12,
		MemoryReporters: 50, MemoryRounds: 2, Inbox: []int{10_000, 100_000, 1_000_000}, InboxSamples: 51,
		Conns: 1000, ConnSeconds: 20, RateConns: []int{100, 1000}, RateSeconds: 5, RateRounds: 4,
		SlowBytes: 300 * KB, SlowRate: 2 * KB}
	// The quick slow upload is 100 KB (50 s at 2 KB/s), within even the old
	// 2-minute write timeout: a smoke run. The full run's 300 KB takes
	// 150 s, and internal/web's TestSlowUploadGetsReceipt proves the phase
	// logic with shortened limits.
	QuickSizes = Sizes{Name: "quick", Levels: []Level{{1, 3}, {8, 8}, {32, 32}}, FloorRepeats: 4,
		MemoryReporters: 50, MemoryRounds: 1, Inbox: []int{1_000, 10_000, 100_000}, InboxSamples: 21,
		Conns: 1000, ConnSeconds: 5, RateConns: []int{100}, RateSeconds: 2, RateRounds: 2,
		SlowBytes: 100 * KB, SlowRate: 2 * KB}
)

// Env describes the run, for the table's heading and the JSON.
type Env struct {
	Database  string   `json:"database"`
	KDF       string   `json:"kdf"`
	Transport string   `json:"transport"`
	Sizes     string   `json:"sizes"`
	Machine   string   `json:"machine"`
	Counting  string   `json:"counting"`
	Notes     []string `json:"notes,omitempty"`
}

// env is a running server and what a section needs to reach it.
type env struct {
	Env
	App  *app.App
	Base string // http://127.0.0.1:port

	cfg  Config
	kdfN int    // argon2id evaluations the server runs at once
	dsn  string // the bench's own PostgreSQL database; "" on SQLite
	dir  string
	// stopServe shuts the server down and waits until it has.
	stopServe func()
	served    chan struct{}
	slow      *slowUpload // started at the beginning, reported by its section
	dropDB    func()      // removes the bench's PostgreSQL database
	floor     *floorOp
	floors    floors // the floor's measurements, by parallelism
}

func (e *env) note(format string, args ...any) {
	e.Notes = append(e.Notes, fmt.Sprintf(format, args...))
}

// start builds the app as `salama serve --demo` does and serves it on a
// loopback port.
func start(ctx context.Context, c Config) (*env, error) {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Sizes.Name == "" {
		c.Sizes = FullSizes
	}
	if c.KDFConcurrency <= 0 {
		c.KDFConcurrency = runtime.NumCPU() // app's default, made explicit for the memory budget
	}
	dir, err := os.MkdirTemp("", "salama-bench-")
	if err != nil {
		return nil, err
	}
	e := &env{cfg: c, kdfN: c.KDFConcurrency, dir: dir, dropDB: func() {}}
	if c.Database != "" {
		if e.dsn, e.dropDB, err = createPostgresDB(ctx, c.Database); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	// The load comes from many survivors, each behind their own address: the
	// reporters name theirs in X-Forwarded-For (documentation addresses,
	// 2001:db8::/32) and the server believes loopback as its proxy, as it
	// would believe a real reverse proxy. Without that, every report would
	// come from 127.0.0.1 and the gentle per-address limit would refuse
	// most of them.
	wc := web.DefaultConfig()
	wc.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	a, err := app.New(ctx, app.Options{DataDir: dir, Database: e.dsn, KDFParams: c.KDFParams,
		KDFConcurrency: c.KDFConcurrency, Web: wc, Demo: true, Logger: c.Logger,
		Gateway: app.GatewayOptions{Token: benchGatewayToken, USSDCode: "*384*123#"}})
	if err != nil {
		e.dropDB()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("starting the app: %w", err)
	}
	if a.Demo == nil {
		a.Close()
		e.dropDB()
		os.RemoveAll(dir)
		return nil, errors.New("the database already had a network: the bench needs the demo network it seeds itself")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		a.Close()
		e.dropDB()
		os.RemoveAll(dir)
		return nil, err
	}
	e.App, e.Base = a, "http://"+ln.Addr().String()
	// The server as `salama serve` runs it: the same limits, deadlines and
	// shutdown.
	serveCtx, stop := context.WithCancel(context.Background())
	e.stopServe = func() {
		stop()
		<-e.served
	}
	e.served = make(chan struct{})
	go func() {
		defer close(e.served)
		if err := a.Web.Serve(serveCtx, ln, "", ""); err != nil {
			c.Logger.Error("bench: serve", "err", err)
		}
	}()

	e.Database = "SQLite (temporary directory)"
	if c.Database != "" {
		e.Database = "PostgreSQL " + postgresVersion(ctx, e.dsn) // never the URL: it may carry a password
	}
	e.KDF = fmt.Sprintf("%s, %d at once", a.KDFParams, c.KDFConcurrency)
	e.Transport = "HTTP/1.1 on loopback, no TLS"
	e.Sizes = c.Sizes.Name + " sizes"
	e.Machine = machine()
	e.note("Load average at start: %s (other processes on the machine slow the timed figures).", loadAverage())
	e.Counting = "Bytes are counted on the socket: a response is its status line, headers and gzip body " +
		"(with chunk framing) as received; requests carry a mobile browser's usual headers. " +
		"TCP/IP and TLS overhead are not counted."
	return e, nil
}

// Close stops the server and removes the temporary data.
func (e *env) Close() {
	e.stopServe()
	e.App.Close()
	e.dropDB()
	os.RemoveAll(e.dir)
}

// createPostgresDB makes a database of the bench's own on the server the
// admin URL reaches, and returns its URL and a function that drops it.
func createPostgresDB(ctx context.Context, adminURL string) (string, func(), error) {
	u, err := url.Parse(adminURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", nil, errors.New("-database must be a postgres:// URL") // not the URL: it may carry a password
	}
	admin, err := sql.Open("pgx", adminURL)
	if err != nil {
		return "", nil, errors.New("-database: invalid PostgreSQL URL")
	}
	admin.SetMaxOpenConns(1)
	var b [6]byte
	rand.Read(b[:])
	name := "salama_bench_" + hex.EncodeToString(b[:])
	if _, err := admin.ExecContext(ctx, `CREATE DATABASE `+name); err != nil {
		admin.Close()
		return "", nil, fmt.Errorf("creating the bench's database (the -database role needs CREATEDB): %w", err)
	}
	drop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		admin.ExecContext(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`)
		admin.Close()
	}
	u.Path = "/" + name
	return u.String(), drop, nil
}

func postgresVersion(ctx context.Context, dsn string) string {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return ""
	}
	defer db.Close()
	var v string
	db.QueryRowContext(ctx, `SHOW server_version`).Scan(&v)
	return v
}

// loadAverage is the 1, 5 and 15 minute load averages.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// machine names what the figures were measured on.
func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	return fmt.Sprintf("Machine: %s, %d CPUs (GOMAXPROCS %d), %s %s/%s.", model, runtime.NumCPU(), runtime.GOMAXPROCS(0),
		runtime.Version(), runtime.GOOS, runtime.GOARCH)
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
	xff    string // X-Forwarded-For, as a proxy in front would add it; "" for none
	client *http.Client
	m      *meter
}

func (e *env) newVisitor(acceptLanguage string) *visitor {
	return newVisitorAt(e.Base, acceptLanguage)
}

func newVisitorAt(base, acceptLanguage string) *visitor {
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
	return &visitor{base: base, lang: acceptLanguage, m: m, client: &http.Client{
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
	if v.xff != "" {
		h.Set("X-Forwarded-For", v.xff)
	}
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
