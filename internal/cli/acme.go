package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"
)

// HTTPS by itself: with --acme-domain, salama serve obtains and renews its
// certificates from an ACME certificate authority (Let's Encrypt unless
// --acme-directory says otherwise), keeps them in the data directory
// (acme/, 0700, files 0600), serves the site over HTTPS on
// --acme-https-addr, and on --acme-http-addr answers the CA's HTTP-01
// challenges and sends everything else to HTTPS.

// acmeHTTPClient, when set by a test, is the client the ACME account talks
// to the CA with (to trust a test CA's own certificate).
var acmeHTTPClient *http.Client

// acmeSettings are the --acme-* flags; check fills Domains from Domain.
type acmeSettings struct {
	Domain    string   // --acme-domain: comma- or space-separated host names
	Domains   []string // Domain read by domainList
	Email     string   // --acme-email: for the CA's expiry notices
	Directory string   // --acme-directory: the ACME directory URL
	HTTPSAddr string   // --acme-https-addr: where the site is served
	HTTPAddr  string   // --acme-http-addr: challenges and redirects to HTTPS
}

func (f flags) acme(a *acmeSettings) {
	f.str(&a.Domain, "acme-domain", "", "serve HTTPS with certificates obtained and renewed automatically (Let's Encrypt) for this domain; several comma-separated. Needs ports 80 and 443 reachable from the internet")
	f.str(&a.Email, "acme-email", "", "with --acme-domain: an address the certificate authority may write to about expiring certificates (optional)")
	f.str(&a.Directory, "acme-directory", autocert.DefaultACMEDirectory, "with --acme-domain: the ACME directory URL (Let's Encrypt's staging one to try things out)")
	f.str(&a.HTTPSAddr, "acme-https-addr", ":443", "with --acme-domain: the address HTTPS is served on")
	f.str(&a.HTTPAddr, "acme-http-addr", ":80", "with --acme-domain: the address that answers the certificate authority's challenges and redirects to HTTPS")
}

// domainList reads --acme-domain: comma- or space-separated host names.
func (a acmeSettings) domainList() ([]string, error) {
	var out []string
	for _, d := range strings.FieldsFunc(a.Domain, func(r rune) bool { return r == ',' || r == ' ' }) {
		d = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(d), "."))
		if d == "" {
			continue
		}
		bad := strings.IndexFunc(d, func(r rune) bool { return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '.') }) >= 0
		if bad || !strings.Contains(d, ".") || strings.HasPrefix(d, ".") || strings.Contains(d, "..") || net.ParseIP(d) != nil {
			return nil, fmt.Errorf("--acme-domain: %q is not a domain name such as salama.example.org (an internationalised name is written in its xn-- form)", d)
		}
		if !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	return out, nil
}

// acmeSite is the certificate manager and the plain-HTTP server beside the
// HTTPS site.
type acmeSite struct {
	m       *autocert.Manager
	domains []string
	http    *http.Server
	httpLn  net.Listener
	// httpsPort is added to redirects when it is not 443 (tests).
	httpsPort string
	log       *slog.Logger
}

func newACMESite(a acmeSettings, dataDir string, log *slog.Logger) (*acmeSite, error) {
	domains := a.Domains
	cache := filepath.Join(dataDir, "acme")
	// The account key and the certificates' private keys: for this
	// process's user only.
	if err := os.MkdirAll(cache, 0o700); err != nil {
		return nil, fmt.Errorf("--acme-domain: %w", err)
	}
	if err := os.Chmod(cache, 0o700); err != nil {
		return nil, fmt.Errorf("--acme-domain: %w", err)
	}
	m := &autocert.Manager{
		Prompt:     autocert.AcceptTOS,
		HostPolicy: hostPolicy(domains),
		Cache:      autocert.DirCache(cache),
		Email:      strings.TrimSpace(a.Email),
		Client:     &acme.Client{DirectoryURL: a.Directory, HTTPClient: acmeHTTPClient},
	}
	s := &acmeSite{m: m, domains: domains, log: log}
	if _, port, err := net.SplitHostPort(a.HTTPSAddr); err == nil && port != "443" && port != "https" {
		s.httpsPort = port
	}
	return s, nil
}

// hostPolicy allows our domains only. The HTTP-01 handler checks the Host
// header as sent, with a port when the challenge port is not 80: the port
// is not part of the name.
func hostPolicy(domains []string) autocert.HostPolicy {
	allow := autocert.HostWhitelist(domains...)
	return func(ctx context.Context, host string) error {
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		return allow(ctx, host)
	}
}

// listen opens the plain-HTTP listener and starts answering on it.
func (s *acmeSite) listen(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("--acme-http-addr: %w", err)
	}
	s.httpLn = ln
	s.http = &http.Server{Handler: s.m.HTTPHandler(http.HandlerFunc(s.redirect)), ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: time.Minute, MaxHeaderBytes: 16 << 10,
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelDebug)}
	go func() {
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("the HTTP listener (ACME challenges, redirects) stopped", "err", err)
		}
	}()
	return nil
}

// redirect sends a plain-HTTP request to the same page over HTTPS, on one
// of our own domains only (never to a host the request names otherwise).
// Only GET and HEAD: a form posted over plain HTTP has already crossed the
// network readable, and is not sent again.
func (s *acmeSite) redirect(w http.ResponseWriter, r *http.Request) {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(host)
	if !slices.Contains(s.domains, host) {
		host = s.domains[0]
	}
	if s.httpsPort != "" {
		host = net.JoinHostPort(host, s.httpsPort)
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, "Use https://"+host+"/\n")
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, "https://"+host+r.URL.RequestURI(), http.StatusMovedPermanently)
}

// warm obtains each domain's certificate now rather than at the first
// visitor's handshake, and says in the log whether it worked: an operator
// starting the server learns at once that DNS or port 80 is wrong.
func (s *acmeSite) warm(ctx context.Context) {
	for _, d := range s.domains {
		hello := &tls.ClientHelloInfo{ServerName: d, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256},
			SignatureSchemes: []tls.SignatureScheme{tls.ECDSAWithP256AndSHA256}, SupportedCurves: []tls.CurveID{tls.CurveP256}}
		c, err := s.m.GetCertificate(hello)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			s.log.Error("no HTTPS certificate yet: check that the domain's DNS points at this server and that port 80 is reachable "+
				"from the internet; the next visitor's connection tries again (docs/operating.md, HTTPS)", "domain", d, "err", err)
			continue
		}
		s.log.Info("HTTPS certificate ready; it is renewed automatically", "domain", d, "expires", c.Leaf.NotAfter.UTC().Format(time.RFC3339))
	}
}

func (s *acmeSite) close() {
	if s.http == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.http.Shutdown(ctx)
}
