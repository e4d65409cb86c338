package cli

import (
	"bytes"
	"io"
	"log/slog"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/salama-ke/salama/internal/app"
	"github.com/salama-ke/salama/internal/app/apptest"
	"github.com/salama-ke/salama/internal/sms"
	"github.com/salama-ke/salama/internal/store"
	"github.com/salama-ke/salama/internal/store/storetest"
)

// The simulator against the real server, as `serve --demo --gateway-token`
// runs it: a report from the keyboard, then a check with its receipt.
func TestUSSDSimulator(t *testing.T) {
	const token = "simulator-token-0123456789"
	env := apptest.New(t, storetest.NewDB(t, store.SQLite), func(o *app.Options) {
		o.Gateway = app.GatewayOptions{Token: token, USSDCode: "*384*123#"}
	})
	srv := httptest.NewServer(env.App.Handler())
	defer srv.Close()
	run := func(input string, args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := ussdCmd(append([]string{"--url", srv.URL + "/gw/" + token + "/ussd", "--phone", "+254700111222"}, args...),
			strings.NewReader(input), &out, &errOut)
		return out.String(), err
	}

	out, err := run("1\n1\n3\nnakuru\n2\n4\n1\n")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	receipt := regexp.MustCompile(`\d{4} \d{4} \d{4} \d{4}`).FindString(out)
	for _, want := range []string{"| 1 Report what happened", "CON, ", "| Which county?", "END, ", "Sent. Your code:"} {
		if !strings.Contains(out, want) {
			t.Errorf("simulator output lacks %q:\n%s", want, out)
		}
	}
	if receipt == "" || strings.Count(out, "> ") != 7 || strings.Contains(out, "TOO LONG") {
		t.Fatalf("simulator output:\n%s", out)
	}

	// Check, then hang up (end of input).
	out, err = run("2\n" + receipt + "\n")
	if err != nil || !strings.Contains(out, "Your report: received") || !strings.Contains(out, "(hung up)") {
		t.Errorf("check: %v\n%s", err, out)
	}
	// In Kiswahili, 00 back to the menu.
	out, _ = run("4\n3\n00\n")
	if !strings.Contains(out, "| 1 Ripoti kilichotokea") || !strings.Contains(out, "| 999 au 112: polisi, dharura") {
		t.Errorf("Kiswahili:\n%s", out)
	}

	// A wrong token or a bad URL is an error that says what to check.
	var o, e bytes.Buffer
	if err := ussdCmd([]string{"--url", srv.URL + "/gw/wrong-token-wrong-token/ussd"}, strings.NewReader(""), &o, &e); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("wrong token: %v", err)
	}
	if err := ussdCmd([]string{"--url", "ftp://x"}, strings.NewReader(""), &o, &e); err == nil {
		t.Error("ftp URL accepted")
	}
	if err := ussdCmd(nil, strings.NewReader(""), &o, &e); err == nil {
		t.Error("no URL accepted")
	}
}

func TestGatewayFlags(t *testing.T) {
	parse := func(args ...string) (app.GatewayOptions, error) {
		f := newFlags("serve", io.Discard)
		c := f.newConfig()
		var s gatewaySettings
		f.gateway(&c.Gateway, &s)
		if err := f.Parse(args); err != nil {
			return app.GatewayOptions{}, err
		}
		err := s.check(&c.Gateway, c.secrets.ATAPIKey)
		return c.Gateway, err
	}
	o, err := parse()
	if err != nil || o.Token != "" || o.Lang != "en" || o.Nudge != sms.DefaultNudge {
		t.Errorf("defaults: %+v %v", o, err)
	}
	// The log provider: app logs messages with serve's logger
	// (sms.LogSender) when no sender is given.
	if o.SMS != nil {
		t.Errorf("default provider %T", o.SMS)
	}
	for _, args := range [][]string{
		{"--gateway-token", "short"},
		{"--ussd-language", "fr"},
		{"--sms-provider", "carrier-pigeon"},
		{"--sms-provider", "africastalking", "--at-username", "salama", "--ussd-code", "*384*1#"}, // no API key
	} {
		if _, err := parse(args...); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
	t.Setenv(atAPIKeyEnv, "key-from-env")
	if _, err := parse("--sms-provider", "africastalking", "--at-username", "salama"); err == nil {
		t.Error("africastalking without a USSD code for the nudge accepted")
	}
	o, err = parse("--sms-provider", "africastalking", "--at-username", "sandbox", "--at-sandbox", "--ussd-code", "*384*1#",
		"--gateway-token", "a-long-enough-gateway-token", "--ussd-language", "sw")
	if err != nil {
		t.Fatal(err)
	}
	at, ok := o.SMS.(*sms.AfricasTalking)
	if !ok || at.APIKey != "key-from-env" || at.Endpoint != sms.ATSandboxEndpoint || o.Lang != "sw" || o.USSDCode != "*384*1#" {
		t.Errorf("options %+v %+v", o, at)
	}
	t.Setenv("SALAMA_GATEWAY_TOKEN", "token-from-the-environment-1")
	if o, err := parse(); err != nil || o.Token != "token-from-the-environment-1" {
		t.Errorf("token from the environment: %q %v", o.Token, err)
	}
}

func TestAlertFlags(t *testing.T) {
	t.Setenv("SALAMA_SMTP_URL", "smtps://u:secret@mail.example.org")
	f := newFlags("serve", io.Discard)
	var given app.AlertOptions
	f.alerts(&given)
	if err := f.Parse([]string{"--smtp-from", "Salama <a@example.org>"}); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	build := func(log *slog.Logger, addr string, tls, behind bool, acmeDomain string) app.AlertOptions {
		o := given
		checkAlerts(&o, addr, tls, behind, acmeDomain)
		warnNoLink(log, o)
		return o
	}
	o := build(log, "127.0.0.1:8080", false, false, "")
	if o.SMTPURL != "smtps://u:secret@mail.example.org" || o.SMTPFrom != "Salama <a@example.org>" || o.PublicURL != "http://127.0.0.1:8080" {
		t.Errorf("options %+v", o)
	}
	for _, tc := range []struct {
		addr        string
		tls, behind bool
		want        string
	}{
		{"127.0.0.1:8443", true, false, "https://127.0.0.1:8443"},
		{"localhost:8080", false, false, "http://localhost:8080"},
		{"0.0.0.0:8080", false, false, ""},
		{":8080", false, false, ""},
		{"127.0.0.1:0", false, false, ""},
		{"127.0.0.1:8080", false, true, ""}, // behind a proxy: its public name is not ours to guess
	} {
		logs.Reset()
		if o := build(log, tc.addr, tc.tls, tc.behind, ""); o.PublicURL != tc.want {
			t.Errorf("%s: public URL %q, want %q", tc.addr, o.PublicURL, tc.want)
		} else if tc.want == "" && !strings.Contains(logs.String(), "no --public-url") {
			t.Errorf("%s: no warning that alerts carry no link", tc.addr)
		}
		if strings.Contains(logs.String(), "secret") {
			t.Error("the log shows the SMTP password")
		}
	}
}
