package cli

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/salama-ke/salama/internal/app"

	"github.com/salama-ke/salama/internal/version"
)

var servingRE = regexp.MustCompile(`Salama is serving on https?://(\S+?)/\n`)

// Issue 12 (lower): `salama serve` says once, at start, when cookies cannot
// be Secure (a reachable address without TLS), and once per process when
// X-Forwarded-For arrives while no proxy is trusted.
func TestServeWarnings(t *testing.T) {
	for _, v := range []string{"SALAMA_DATA", "SALAMA_DATABASE", "SALAMA_SIGNING_KEY", "SALAMA_NETWORK_SECRET",
		"SALAMA_BEHIND_TLS", "SALAMA_TRUSTED_PROXIES", "SALAMA_ADDR"} {
		t.Setenv(v, "")
	}
	if testing.Short() {
		t.Skip("seeds a network with the production argon2id parameters")
	}
	// The network is made once, beforehand (with the production argon2id
	// parameters, which serve insists on), and served three times.
	dir := t.TempDir()
	a, err := app.New(t.Context(), app.Options{DataDir: dir, Demo: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	a.Close()

	const insecure = "cookies are not marked Secure"
	const forwarded = "X-Forwarded-For but --trusted-proxies is not set"
	for _, tc := range []struct {
		name                      string
		args                      []string
		wantInsecure, wantForward bool
	}{
		{"public address, no TLS", []string{"--addr", "0.0.0.0:0"}, true, true},
		{"public address behind a TLS proxy", []string{"--addr", "0.0.0.0:0", "--behind-tls", "--trusted-proxies", "127.0.0.0/8"}, false, false},
		{"loopback", []string{"--addr", "127.0.0.1:0"}, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, stop := startServe(t, append([]string{"--data", dir}, tc.args...)...)
			_, port, _ := net.SplitHostPort(servingRE.FindStringSubmatch(stdout.String())[1])
			for range 3 {
				req, _ := http.NewRequest("GET", "http://127.0.0.1:"+port+"/en/", nil)
				req.Header.Set("X-Forwarded-For", "197.248.33.71")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			stop()
			logs := stderr.String()
			for _, c := range []struct {
				what string
				want bool
			}{{insecure, tc.wantInsecure}, {forwarded, tc.wantForward}} {
				n := strings.Count(logs, c.what)
				if c.want && n != 1 || !c.want && n != 0 {
					t.Errorf("%q said %d times, want it %v once:\n%s", c.what, n, c.want, logs)
				}
			}
			if !strings.Contains(logs, `"msg":"salama starting","version":"`+version.String()+`"`) {
				t.Errorf("the start is not logged with the version %q:\n%s", version.String(), logs)
			}
			if strings.Contains(logs, "197.248.33.71") {
				t.Errorf("the log names the forwarded address:\n%s", logs)
			}
		})
	}
}
