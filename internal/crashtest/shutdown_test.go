package crashtest

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/salama-ke/salama/internal/store/storetest"
)

// How the shutdown test pushes: survivors who opened the form before the
// SIGTERM and send it around it, and how short the grace period is, so
// that some submissions finish within it and the rest are cut by it.
const (
	termSenders = 16 // sending as the SIGTERM comes
	termLate    = 6  // sending just after it
	termGrace   = "2s"
)

// TestTerminateDuringSubmissions is issue 17.7: at SIGTERM with survivors
// submitting, every request gets a complete answer, a receipt or the form
// back with every word (503, "try again in a minute"), never a cut
// connection; every receipt given opens its report after the restart; and
// nothing half-written is stored.
func TestTerminateDuringSubmissions(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary")
	}
	bin := buildSalama(t)
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			// The two engines' servers run side by side: most of the time
			// is the demo network's argon2id at start, and the package
			// must stay within go test's ten minutes on a busy machine.
			t.Parallel()
			db := storetest.NewDB(t, engine)
			dataDir := db.DataDir
			if dataDir == "" {
				dataDir = t.TempDir()
			}
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
			defer cancel()
			srv := startServer(t, ctx, bin, dataDir, db.DSN, "--shutdown-grace", termGrace)

			// Every survivor opens the form first, on connections of her
			// own, kept alive as a browser keeps them.
			type survivor struct {
				c         *http.Client
				xff       string
				token     string
				narrative string
			}
			all := make([]*survivor, termSenders+termLate)
			for i := range all {
				jar, _ := cookiejar.New(nil)
				sv := &survivor{c: &http.Client{Jar: jar, Timeout: 2 * time.Minute, Transport: &http.Transport{}},
					xff:       fmt.Sprintf("2001:db8:ee:%x::1", i),
					narrative: fmt.Sprintf("Survivor %d: he \"threatens\" <me> & my sister every night. Ref %d.", i, time.Now().UnixNano())}
				resp, body, err := do(ctx, sv.c, "GET", srv.base+"/en/report", sv.xff, "", nil)
				m := tokenRE.FindStringSubmatch(body)
				if err != nil || resp.StatusCode != 200 || m == nil {
					t.Fatalf("survivor %d: the form: %v %v", i, statusOf(resp), err)
				}
				sv.token = html.UnescapeString(m[1])
				all[i] = sv
			}

			type outcome struct {
				i       int
				receipt string
				late    bool
				err     error
			}
			results := make(chan outcome, len(all))
			var wg sync.WaitGroup
			send := func(i int, late bool) {
				defer wg.Done()
				sv := all[i]
				receipt, err := sendKeepingWords(ctx, sv.c, srv.base, sv.xff, sv.token, sv.narrative)
				results <- outcome{i, receipt, late, err}
			}
			for i := range termSenders {
				wg.Add(1)
				go send(i, false)
			}
			// SIGTERM once the first receipts are back: the others are in
			// flight, waiting for their argon2id turn.
			var got []outcome
			for len(got) < 3 {
				o := <-results
				got = append(got, o)
			}
			srv.cmd.Process.Signal(syscall.SIGTERM)
			termAt := time.Now()
			// Survivors who press Send just after.
			time.Sleep(100 * time.Millisecond)
			for i := termSenders; i < len(all); i++ {
				wg.Add(1)
				go send(i, true)
			}
			wg.Wait()
			close(results)
			for o := range results {
				got = append(got, o)
			}
			select {
			case <-srv.done:
			case <-time.After(time.Minute):
				t.Fatal("the server did not exit within a minute of SIGTERM")
			}
			t.Logf("exited %.1f s after SIGTERM", time.Since(termAt).Seconds())
			if code := srv.cmd.ProcessState.ExitCode(); code != 0 {
				t.Errorf("exit code %d after SIGTERM\n%s", code, srv.output.String())
			}

			var receipts []ack
			refused := 0
			for _, o := range got {
				switch {
				case o.err != nil:
					t.Errorf("survivor %d (late %v): %v", o.i, o.late, o.err)
				case o.receipt != "":
					if o.late {
						t.Errorf("survivor %d sent after SIGTERM and got a receipt: new work was taken", o.i)
					}
					receipts = append(receipts, ack{o.receipt, all[o.i].narrative})
				default:
					refused++
				}
			}
			t.Logf("%d receipts, %d told to try again with their words kept, of %d", len(receipts), refused, len(all))
			if refused < termLate {
				t.Errorf("only %d refusals: the survivors who sent after SIGTERM were not all refused", refused)
			}

			srv = startServer(t, ctx, bin, dataDir, db.DSN)
			for i, a := range receipts {
				checkReceipt(t, ctx, srv.base, fmt.Sprintf("2001:db8:ef:%x::1", i), a)
			}
			checkNoHalfReports(t, ctx, engine, dataDir, db.DSN)
			srv.stop(t)
		})
	}
}

// sendKeepingWords sends the report form and returns its receipt, or ""
// when the server answered 503 with the form and every word in it. Any
// other answer, or none, is an error.
func sendKeepingWords(ctx context.Context, c *http.Client, base, xff, token, narrative string) (string, error) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for _, f := range [][2]string{{"token", token}, {"about", "me"}, {"what", "sextortion"},
		{"age", "18-24"}, {"county", "nairobi"}, {"when", "month"}, {"danger", "no"}, {"help", "takedown"},
		{"narrative", narrative}, {"contact", "code"}, {"share", "ask"}, {"send", "1"}} {
		mw.WriteField(f[0], f[1])
	}
	mw.Close()
	resp, body, err := do(ctx, c, "POST", base+"/en/report", xff, mw.FormDataContentType(), &b)
	if err != nil {
		return "", fmt.Errorf("no complete answer: %w", err)
	}
	switch resp.StatusCode {
	case http.StatusOK:
		r := receiptRE.FindStringSubmatch(body)
		if r == nil {
			return "", fmt.Errorf("200 without a receipt")
		}
		return r[1], nil
	case http.StatusServiceUnavailable:
		if !strings.Contains(body, html.EscapeString(narrative)) || !strings.Contains(body, "in a minute") {
			return "", fmt.Errorf("503 without the words or without saying to try again:\n%s", body)
		}
		return "", nil
	default:
		return "", fmt.Errorf("status %d", resp.StatusCode)
	}
}
