package crashtest

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"html"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/salama-ke/salama/internal/store"
	"github.com/salama-ke/salama/internal/store/storetest"
	"github.com/salama-ke/salama/internal/testkit"
	"github.com/salama-ke/salama/internal/web"
)

// How hard the test pushes: reporters at once, and how many receipts must
// have reached them before the server is killed. With the production
// argon2id parameters a report costs about 0.2 s of CPU, so about 30
// submissions are sent in all, a handful of them in flight at the kill.
const (
	reporters   = 6
	killAfter   = 24
	maxAttempts = 15 // per reporter, should the kill never come
)

// TestKillDuringSubmissions is SPEC §8's "every acknowledged receipt after
// kill -9 under load: retrievable, content intact", and §3.9's "nothing
// half-written is stored".
func TestKillDuringSubmissions(t *testing.T) {
	eachEngine(t, func(t *testing.T, bin string, db storetest.DB, dataDir string) {
		ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
		defer cancel()

		srv := startServer(t, ctx, bin, dataDir, db.DSN)
		acked, inFlight := loadAndKill(t, ctx, srv)
		t.Logf("%d receipts reached reporters; %d submissions were in flight at SIGKILL", len(acked), inFlight)
		if inFlight == 0 {
			t.Error("no submission was in flight when the server was killed: the test did not kill it under load")
		}

		srv = startServer(t, ctx, bin, dataDir, db.DSN)
		for i, a := range acked {
			checkReceipt(t, ctx, srv.base, fmt.Sprintf("2001:db8:cc:%x::1", i), a)
		}
		checkNoHalfReports(t, ctx, db.Engine, dataDir, db.DSN)

		// The restarted server takes reports again.
		if _, err := submit(ctx, newClient(), srv.base, "2001:db8:cd::1", "After the restart."); err != nil {
			t.Errorf("a report after the restart: %v", err)
		}
		srv.stop(t)
	})
}

// ack is a receipt that reached a reporter, and what they had sent.
type ack struct{ receipt, narrative string }

// loadAndKill sends reports from several reporters at once and kills the
// server with SIGKILL as soon as killAfter receipts have come back, while
// the others are still being processed. It returns every receipt that
// reached a reporter, and how many submissions were in flight at the kill.
func loadAndKill(t *testing.T, ctx context.Context, srv *server) ([]ack, int64) {
	t.Helper()
	var (
		mu       sync.Mutex
		acked    []ack
		killed   atomic.Bool
		inFlight atomic.Int64
		atKill   int64
		failures []error
		wg       sync.WaitGroup
	)
	for w := range reporters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := newClient()
			xff := fmt.Sprintf("2001:db8:cb:%x::1", w) // one address per reporter, a header only
			for i := range maxAttempts {
				if killed.Load() {
					return
				}
				// Words a survivor might type, with characters the page
				// must escape, unique so that no report can pass for
				// another.
				narrative := fmt.Sprintf("Reporter %d, report %d: he said \"send them or I'll post\" & <nothing> stops him. Ref %d-%d-%d.",
					w, i, w, i, time.Now().UnixNano())
				inFlight.Add(1)
				receipt, err := submit(ctx, c, srv.base, xff, narrative)
				n := inFlight.Add(-1)
				mu.Lock()
				switch {
				case err == nil:
					acked = append(acked, ack{receipt, narrative})
					if len(acked) == killAfter {
						atKill = n
						srv.kill()
						killed.Store(true)
					}
				case !killed.Load():
					failures = append(failures, err)
				}
				mu.Unlock()
				if err != nil {
					return
				}
			}
		}()
	}
	wg.Wait()
	if !killed.Load() {
		srv.kill()
		t.Fatalf("only %d receipts came back (want %d before the kill); failures: %v", len(acked), killAfter, failures)
	}
	for _, err := range failures {
		t.Errorf("a submission failed before the kill: %v", err)
	}
	srv.wait()
	return acked, atKill
}

// checkReceipt logs in with the receipt on the restarted server and expects
// the narrative, exactly as sent.
func checkReceipt(t *testing.T, ctx context.Context, base, xff string, a ack) {
	t.Helper()
	c := newClient()
	resp, body, err := do(ctx, c, "GET", base+"/en/check", xff, "", nil)
	m := tokenRE.FindStringSubmatch(body)
	if err != nil || resp.StatusCode != http.StatusOK || m == nil {
		t.Errorf("receipt %s: the check page: status %v, %v", a.receipt, statusOf(resp), err)
		return
	}
	resp, body, err = do(ctx, c, "POST", base+"/en/check", xff, "application/x-www-form-urlencoded",
		strings.NewReader(url.Values{"receipt": {a.receipt}, "token": {html.UnescapeString(m[1])}}.Encode()))
	if err != nil {
		t.Errorf("receipt %s: %v", a.receipt, err)
		return
	}
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("receipt %s: logging in gave status %d, want 303 to the report:\n%s", a.receipt, resp.StatusCode, body)
		return
	}
	loc, err := resp.Location()
	if err != nil {
		t.Errorf("receipt %s: %v", a.receipt, err)
		return
	}
	resp, body, err = do(ctx, c, "GET", loc.String(), xff, "", nil)
	if err != nil || resp.StatusCode != web.StatusReport {
		t.Errorf("receipt %s: the report page: status %v, %v", a.receipt, statusOf(resp), err)
		return
	}
	if !strings.Contains(body, html.EscapeString(a.narrative)) {
		t.Errorf("receipt %s: the report page does not show the narrative sent, %q", a.receipt, a.narrative)
	}
}

// checkNoHalfReports reads the database itself: every report that is not
// withdrawn has its organisation's key wrap, its receipt, its narrative
// and, from the web, its form token; nothing refers to a report that does
// not exist.
func checkNoHalfReports(t *testing.T, ctx context.Context, engine, dataDir, dsn string) {
	t.Helper()
	db := openDatabase(t, engine, dataDir, dsn)
	defer db.Close()
	var reports int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM reports`).Scan(&reports); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d reports in the database after the restart", reports)
	for what, q := range map[string]string{
		"reports without their organisation's key wrap": `SELECT count(*) FROM reports r WHERE r.withdrawn_at IS NULL
			AND NOT EXISTS (SELECT 1 FROM report_wraps w WHERE w.report_id = r.id AND w.recipient = 'org:' || r.org_id)`,
		"reports without a receipt": `SELECT count(*) FROM reports r WHERE r.withdrawn_at IS NULL
			AND NOT EXISTS (SELECT 1 FROM receipts x WHERE x.report_id = r.id)`,
		"reports without a narrative": `SELECT count(*) FROM reports r WHERE r.withdrawn_at IS NULL
			AND NOT EXISTS (SELECT 1 FROM report_fields f WHERE f.report_id = r.id AND f.name = 'narrative')`,
		"web reports without their form token": `SELECT count(*) FROM reports r WHERE r.channel = 'web'
			AND NOT EXISTS (SELECT 1 FROM submit_tokens s WHERE s.report_id = r.id)`,
		"sealed fields of no report": `SELECT count(*) FROM report_fields f WHERE NOT EXISTS (SELECT 1 FROM reports r WHERE r.id = f.report_id)`,
		"key wraps of no report":     `SELECT count(*) FROM report_wraps w WHERE NOT EXISTS (SELECT 1 FROM reports r WHERE r.id = w.report_id)`,
		"receipts of no report":      `SELECT count(*) FROM receipts x WHERE NOT EXISTS (SELECT 1 FROM reports r WHERE r.id = x.report_id)`,
		"form tokens of no report":   `SELECT count(*) FROM submit_tokens s WHERE NOT EXISTS (SELECT 1 FROM reports r WHERE r.id = s.report_id)`,
	} {
		var n int
		if err := db.QueryRowContext(ctx, q).Scan(&n); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if n != 0 {
			t.Errorf("%d %s", n, what)
		}
	}
	if engine == store.SQLite {
		var ok string
		if err := db.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&ok); err != nil || ok != "ok" {
			t.Errorf("SQLite integrity check: %q, %v", ok, err)
		}
	}
}

// openDatabase opens the server's database directly, beside it.
func openDatabase(t *testing.T, engine, dataDir, dsn string) *sql.DB {
	t.Helper()
	var (
		db  *sql.DB
		err error
	)
	if engine == store.SQLite {
		db, err = sql.Open("sqlite", filepath.Join(dataDir, store.FileName)+"?_pragma=busy_timeout(5000)")
	} else {
		db, err = sql.Open("pgx", dsn)
	}
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// --- the server ----------------------------------------------------------

var (
	buildOnce sync.Once
	built     string
	buildErr  error
)

// buildSalama builds cmd/salama once for the package's tests, as an
// operator would: no race detector, so argon2id runs at its real speed.
func buildSalama(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		goBin, err := exec.LookPath("go")
		if err != nil {
			goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
		}
		dir, err := os.MkdirTemp("", "salama-crashtest-")
		if err != nil {
			buildErr = err
			return
		}
		built = filepath.Join(dir, "salama")
		cmd := exec.Command(goBin, "build", "-o", built, "github.com/salama-ke/salama/cmd/salama")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return built
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built != "" {
		os.RemoveAll(filepath.Dir(built))
	}
	os.Exit(code)
}

// server is a running `salama serve`.
type server struct {
	cmd    *exec.Cmd
	base   string
	done   chan struct{}
	output *testkit.LogBuffer // standard error: the log
	stdout *testkit.LogBuffer // what it printed for the operator
}

var servingRE = regexp.MustCompile(`Salama is serving on (http://\S+?)/?$`)

// startServer runs `salama serve --demo` on dataDir (and the PostgreSQL
// database dsn, if any) on a free loopback port. Loopback is its trusted
// proxy, so each reporter's X-Forwarded-For address is its own for the rate
// limiter, as behind a real reverse proxy.
func startServer(t *testing.T, ctx context.Context, bin, dataDir, dsn string, extra ...string) *server {
	t.Helper()
	return startServerWith(t, ctx, bin, dataDir, dsn, nil, nil)
}

// startServerWith is startServer with more flags and environment variables.
func startServerWith(t *testing.T, ctx context.Context, bin, dataDir, dsn string, extra, env []string) *server {
	t.Helper()
	args := []string{"serve", "--demo", "--data", dataDir, "--addr", "127.0.0.1:0",
		"--trusted-proxies", "127.0.0.0/8", "--log-level", "warn", "--exit-url", "http://127.0.0.1:9/"}
	args = append(args, extra...)
	if dsn != "" {
		args = append(args, "--database", dsn)
	}
	cmd := exec.Command(bin, append(args, extra...)...)
	// Nothing from the environment may choose another database.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SALAMA_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	out := &testkit.LogBuffer{}
	cmd.Stderr = out
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, done: make(chan struct{}), output: out, stdout: &testkit.LogBuffer{}}
	baseC := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			s.stdout.Write([]byte(sc.Text() + "\n"))
			if m := servingRE.FindStringSubmatch(sc.Text()); m != nil {
				baseC <- m[1]
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	go func() {
		cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() {
		s.kill()
		s.wait()
		if t.Failed() {
			t.Logf("server output:\n%s", s.output.String())
		}
	})
	// With the production parameters the demo's accounts and reports take
	// a few seconds of argon2id on first start.
	select {
	case s.base = <-baseC:
		return s
	case <-s.done:
		t.Fatalf("the server exited at start:\n%s", out.String())
	case <-time.After(3 * time.Minute):
		t.Fatalf("the server did not start in 3 minutes:\n%s", out.String())
	case <-ctx.Done():
		t.Fatalf("the server did not start: %v", ctx.Err())
	}
	return nil
}

func (s *server) kill() {
	if s.cmd.Process != nil {
		s.cmd.Process.Signal(syscall.SIGKILL)
	}
}

func (s *server) wait() { <-s.done }

// stop ends the server as an operator does (SIGTERM), or kills it.
func (s *server) stop(t *testing.T) {
	t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(15 * time.Second):
		t.Error("the server did not stop within 15 s of SIGTERM")
		s.kill()
		s.wait()
	}
}

// --- a reporter ----------------------------------------------------------

func newClient() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

var (
	tokenRE   = regexp.MustCompile(`name="token" value="([^"]+)"`)
	receiptRE = regexp.MustCompile(`class="receipt"[^>]*>\s*(\d{4} \d{4} \d{4} \d{4})\s*<`)
)

// submit opens the report form and sends it as a browser does (multipart),
// and returns the receipt the confirmation page shows.
func submit(ctx context.Context, c *http.Client, base, xff, narrative string) (string, error) {
	resp, body, err := do(ctx, c, "GET", base+"/en/report", xff, "", nil)
	if err != nil {
		return "", err
	}
	m := tokenRE.FindStringSubmatch(body)
	if resp.StatusCode != http.StatusOK || m == nil {
		return "", fmt.Errorf("the report form: status %d, token found %v", resp.StatusCode, m != nil)
	}
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for _, f := range [][2]string{{"token", html.UnescapeString(m[1])}, {"about", "me"}, {"what", "sextortion"},
		{"age", "18-24"}, {"county", "nairobi"}, {"when", "month"}, {"danger", "no"}, {"help", "takedown"},
		{"narrative", narrative}, {"contact", "code"}, {"share", "ask"}, {"send", "1"}} {
		mw.WriteField(f[0], f[1])
	}
	mw.Close()
	resp, body, err = do(ctx, c, "POST", base+"/en/report", xff, mw.FormDataContentType(), &b)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("sending the report: status %d", resp.StatusCode)
	}
	r := receiptRE.FindStringSubmatch(body)
	if r == nil {
		return "", errors.New("the confirmation shows no receipt")
	}
	return r[1], nil
}

// do sends one request and reads the whole response: a receipt counts as
// received only once its page has arrived complete.
func do(ctx context.Context, c *http.Client, method, u, xff, contentType string, body io.Reader) (*http.Response, string, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, "", err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("Origin", req.URL.Scheme+"://"+req.URL.Host)
	}
	req.Header.Set("X-Forwarded-For", xff)
	resp, err := c.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, "", err
	}
	return resp, string(b), nil
}

func statusOf(r *http.Response) any {
	if r == nil {
		return "none"
	}
	return r.StatusCode
}

// eachEngine builds the salama binary once and runs fn on a fresh database
// of each engine, with the data directory the server's keys live in (the
// SQLite database's own, or a temporary one beside PostgreSQL).
func eachEngine(t *testing.T, fn func(t *testing.T, bin string, db storetest.DB, dataDir string)) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the server binary")
	}
	bin := buildSalama(t)
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			db := storetest.NewDB(t, engine)
			dataDir := db.DataDir
			if dataDir == "" {
				dataDir = t.TempDir()
			}
			fn(t, bin, db, dataDir)
		})
	}
}
