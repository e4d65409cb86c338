package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"io/fs"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/letsencrypt/challtestsrv"
	"github.com/letsencrypt/pebble/v2/ca"
	"github.com/letsencrypt/pebble/v2/db"
	"github.com/letsencrypt/pebble/v2/va"
	"github.com/letsencrypt/pebble/v2/wfe"

	"github.com/salama-ke/salama/internal/app"
	"github.com/salama-ke/salama/internal/testkit"
)

// freeAddr returns a loopback address with a port nothing listens on now
// (TCP, and UDP too when udp is set).
func freeAddr(t *testing.T, udp bool) string {
	t.Helper()
	for range 20 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		if !udp {
			return addr
		}
		if pc, err := net.ListenPacket("udp", addr); err == nil {
			pc.Close()
			return addr
		}
	}
	t.Fatal("no free port")
	return ""
}

// TestACMEObtainsAndServesHTTPS runs the whole issuance against a real ACME
// server, Pebble, in this process: its web front end, CA and validation
// authority, which resolves the test domain through an in-process DNS
// server to 127.0.0.1 and fetches the HTTP-01 challenge from salama
// serve's --acme-http-addr. Pebble's TLS-ALPN-01 port points nowhere, so
// autocert's first choice fails and the certificate comes through the
// HTTP-01 challenge on the plain-HTTP listener (as behind a firewall that
// lets only port 80 through), after a new order. Then an HTTPS request that trusts only
// Pebble's root reaches the site, plain HTTP redirects to it, and the
// certificate cache is for the server's user only.
func TestACMEObtainsAndServesHTTPS(t *testing.T) {
	for _, v := range []string{"SALAMA_DATA", "SALAMA_DATABASE", "SALAMA_SIGNING_KEY", "SALAMA_NETWORK_SECRET", "SALAMA_BEHIND_TLS",
		"SALAMA_TRUSTED_PROXIES", "SALAMA_ADDR", "SALAMA_TLS_CERT", "SALAMA_TLS_KEY", "SALAMA_ACME_DOMAIN", "SALAMA_METRICS_ADDR"} {
		t.Setenv(v, "")
	}
	if testing.Short() {
		t.Skip("seeds a network with the production argon2id parameters")
	}
	t.Setenv("PEBBLE_VA_NOSLEEP", "1")      // validate at once, not after a random pause
	t.Setenv("PEBBLE_WFE_NONCEREJECT", "0") // x/crypto/acme retries bad nonces; keep the test quick
	const domain = "salama.test"
	quiet := log.New(io.Discard, "", 0)
	if os.Getenv("DEBUG_PEBBLE") != "" {
		quiet = log.New(os.Stderr, "pebble ", 0)
	}

	dnsAddr := freeAddr(t, true)
	dns, err := challtestsrv.New(challtestsrv.Config{DNSAddrs: []string{dnsAddr}, Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	dns.SetDefaultDNSIPv4("127.0.0.1")
	dns.SetDefaultDNSIPv6("")
	go dns.Run()
	defer dns.Shutdown()

	httpAddr, httpsAddr := freeAddr(t, false), freeAddr(t, false)
	_, p, _ := net.SplitHostPort(httpAddr)
	httpPort, _ := strconv.Atoi(p)
	store := db.NewMemoryStore()
	authority := ca.New(quiet, store, "", "ecdsa", 0, 1, map[string]ca.Profile{"default": {Description: "default"}})
	validator := va.New(quiet, httpPort, 0, false, dnsAddr, store)
	front := wfe.New(quiet, store, validator, authority, []string{"pebble.letsencrypt.org"}, false, false, 3, 5)
	acmeSrv := httptest.NewTLSServer(front.Handler())
	defer acmeSrv.Close()
	acmeHTTPClient = acmeSrv.Client()
	defer func() { acmeHTTPClient = nil }()

	dir := t.TempDir()
	a, err := app.New(t.Context(), app.Options{DataDir: dir, Demo: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	a.Close()

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	stdout, stderr := &testkit.LogBuffer{}, &testkit.LogBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, []string{"--data", dir, "--acme-domain", domain, "--acme-directory", acmeSrv.URL + wfe.DirectoryPath,
			"--acme-https-addr", httpsAddr, "--acme-http-addr", httpAddr}, stdout, stderr)
	}()
	deadline := time.Now().Add(2 * time.Minute)
	for !strings.Contains(stderr.String(), "HTTPS certificate ready") {
		select {
		case err := <-done:
			t.Fatalf("serve ended: %v\n%s\n%s", err, stdout, stderr)
		default:
		}
		if strings.Contains(stderr.String(), "no HTTPS certificate yet") || time.Now().After(deadline) {
			t.Fatalf("no certificate:\n%s\n%s", stdout, stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// HTTPS, trusting Pebble's root and nothing else.
	roots := x509.NewCertPool()
	roots.AddCert(authority.GetRootCert(0).Cert)
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: domain},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, httpsAddr)
		}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	_, httpsPort, _ := net.SplitHostPort(httpsAddr)
	resp, err := client.Get("https://" + domain + ":" + httpsPort + "/en/")
	if err != nil {
		t.Fatalf("HTTPS request validated against Pebble's root: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Strict-Transport-Security") == "" {
		t.Errorf("HTTPS: %d, HSTS %q", resp.StatusCode, resp.Header.Get("Strict-Transport-Security"))
	}
	if cs := resp.TLS.PeerCertificates; len(cs) == 0 || cs[0].VerifyHostname(domain) != nil {
		t.Errorf("the certificate is not for %s", domain)
	}

	// Plain HTTP: pages redirect to HTTPS on our domain only; posts do not.
	plain := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tc := range []struct{ host, want string }{
		{domain, "https://" + domain + ":" + httpsPort + "/en/report?x=1"},
		{"evil.example", "https://" + domain + ":" + httpsPort + "/en/report?x=1"},
	} {
		req, _ := http.NewRequest("GET", "http://"+httpAddr+"/en/report?x=1", nil)
		req.Host = tc.host
		resp, err := plain.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != tc.want {
			t.Errorf("http://%s/en/report: %d to %q, want 301 to %q", tc.host, resp.StatusCode, resp.Header.Get("Location"), tc.want)
		}
	}
	if resp, err := plain.Post("http://"+httpAddr+"/en/report", "application/x-www-form-urlencoded", strings.NewReader("narrative=x")); err != nil {
		t.Fatal(err)
	} else if resp.Body.Close(); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a post over plain HTTP: %d, want 403", resp.StatusCode)
	}

	// The cache: the account key and the certificate's private key, for
	// the server's user only.
	cache := filepath.Join(dir, "acme")
	files := 0
	filepath.WalkDir(cache, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		fi, _ := d.Info()
		switch {
		case d.IsDir() && fi.Mode().Perm() != 0o700:
			t.Errorf("%s: mode %v, want 0700", path, fi.Mode().Perm())
		case !d.IsDir():
			files++
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("%s: mode %v, want 0600", path, fi.Mode().Perm())
			}
		}
		return nil
	})
	if files < 2 {
		t.Errorf("%d files in the cache, want the account key and the certificate", files)
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v\n%s", err, stderr)
	}
	if _, err := os.Stat(filepath.Join(cache, domain)); err != nil {
		t.Errorf("no certificate cached for %s: %v", domain, err)
	}
}

// TestACMEFlagsRefused: --acme-domain with a certificate of its own, with
// --behind-tls, or with something that is not a domain name is refused
// before anything starts.
func TestACMEFlagsRefused(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--acme-domain", "salama.example.org", "--tls-cert", "c.pem", "--tls-key", "k.pem"}, "not both"},
		{[]string{"--acme-domain", "salama.example.org", "--behind-tls"}, "--behind-tls"},
		{[]string{"--acme-domain", "https://salama.example.org/"}, "not a domain name"},
		{[]string{"--acme-domain", "192.0.2.1"}, "not a domain name"},
		{[]string{"--acme-domain", "localhost"}, "not a domain name"},
		{[]string{"--onion-address", "salama.onion"}, "not a Tor v3 onion address"},
	} {
		err := serve(t.Context(), append([]string{"--data", t.TempDir()}, tc.args...), io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want an error saying %q", tc.args, err, tc.want)
		}
	}
}

// FuzzACMEDomains: whatever --acme-domain holds, the list is refused or is
// lower-case host names with a dot, no scheme, port, path or wildcard.
func FuzzACMEDomains(f *testing.F) {
	for _, s := range []string{"salama.example.org", "a.example,b.example", "HTTPS://x.example/", "x.example.:443", "*.example.org", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ds, err := acmeSettings{Domain: s}.domainList()
		if err != nil {
			return
		}
		for _, d := range ds {
			if d == "" || !strings.Contains(d, ".") || strings.Trim(d, "abcdefghijklmnopqrstuvwxyz0123456789.-") != "" || net.ParseIP(d) != nil {
				t.Errorf("%q gave the domain %q", s, d)
			}
		}
	})
}
