package cli

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/salama-ke/salama/internal/testkit"
)

var (
	ussdCmdRE = regexp.MustCompile(`\n  salama ussd --url (\S+)\n`)
	smsURLRE  = regexp.MustCompile(`\n  SMS:  POST (\S+)\n`)
)

// startServe runs serve with args until the test ends and returns its
// output so far once it listens.
func startServe(t *testing.T, args ...string) (stdout, stderr *testkit.LogBuffer, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	stdout, stderr = &testkit.LogBuffer{}, &testkit.LogBuffer{}
	done := make(chan error, 1)
	go func() { done <- serve(ctx, args, stdout, stderr) }()
	deadline := time.Now().Add(2 * time.Minute)
	for !servingRE.MatchString(stdout.String()) {
		select {
		case err := <-done:
			t.Fatalf("serve ended: %v\n%s", err, stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start:\n%s\n%s", stdout, stderr)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return stdout, stderr, func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v\n%s", err, stderr)
		}
	}
}

// Issue 16 item 16: `serve --demo` serves the USSD and SMS callbacks under
// a token of its own and prints their URLs and the simulator command, and
// that command, run as printed, dials the menus of the running server.
// An operator's own token is never printed.
func TestServeDemoUSSD(t *testing.T) {
	for _, v := range []string{"SALAMA_DATA", "SALAMA_DATABASE", "SALAMA_SIGNING_KEY", "SALAMA_NETWORK_SECRET", "SALAMA_ADDR",
		"SALAMA_GATEWAY_TOKEN", "SALAMA_USSD_CODE"} {
		t.Setenv(v, "")
	}
	if testing.Short() {
		t.Skip("seeds a network with the production argon2id parameters")
	}
	dir := t.TempDir()
	out, _, stop := startServe(t, "--data", dir, "--demo", "--addr", "127.0.0.1:0")
	text := out.String()
	if !strings.Contains(text, "SMS: log provider (messages are logged as sent, not sent)") {
		t.Errorf("serve does not say SMS goes to the log provider by default:\n%s", text)
	}
	m := ussdCmdRE.FindStringSubmatch(text)
	sm := smsURLRE.FindStringSubmatch(text)
	if m == nil || sm == nil || strings.Contains(text, "callbacks are off") {
		stop()
		t.Fatalf("serve --demo does not print the callbacks and the simulator command:\n%s", text)
	}
	// The command as printed, through the CLI's own entry point.
	var simOut, simErr testkit.LogBuffer
	err := ussdCmd([]string{"--url", m[1], "--phone", "+254700222333"}, strings.NewReader("1\n1\n3\nHoma*Bay\n2\n4\n1\n"), &simOut, &simErr)
	if err != nil || !strings.Contains(simOut.String(), "Sent. Your code:") {
		t.Errorf("salama ussd --url %s: %v\n%s%s", m[1], err, simOut.String(), simErr.String())
	}
	// The SMS callback answers too (the reply goes out by a job).
	resp, err := http.PostForm(sm[1], url.Values{"from": {"+254700222333"}, "text": {"HELP"}, "id": {"demo-1"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("SMS callback: HTTP %d", resp.StatusCode)
	}
	stop()

	// With the operator's token, it is never printed, demo or not.
	const own = "operator-token-0123456789abcdef"
	out, _, stop = startServe(t, "--data", dir, "--demo", "--addr", "127.0.0.1:0", "--gateway-token", own)
	stop()
	if text := out.String(); strings.Contains(text, own) || !strings.Contains(text, "USSD callback: POST /gw/<gateway token>/ussd") {
		t.Errorf("with --gateway-token:\n%s", text)
	}
}
