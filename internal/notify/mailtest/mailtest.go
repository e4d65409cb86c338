// Package mailtest is a real SMTP server for tests (github.com/emersion/go-smtp),
// listening on loopback with STARTTLS, or implicit TLS, on the test
// certificate of net/http/httptest, with PLAIN authentication. It keeps
// every message it accepted, with what the client said in the envelope, and
// can be made to refuse (a temporary 4xx or a permanent 5xx) or to go away.
//
// It is imported only by tests.
package mailtest

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Message is one message the server accepted.
type Message struct {
	From string
	To   []string
	Data string // as received: headers, blank line, body
	TLS  bool   // the session was encrypted when the message came
	User string // who logged in
}

// Server is a running test SMTP server.
type Server struct {
	Addr     string // host:port on 127.0.0.1
	User     string // the login it accepts, with Password
	Password string
	// Roots trusts the server's certificate; CertFile is the same as a
	// PEM file (for SSL_CERT_FILE in a subprocess).
	Roots    *x509.CertPool
	CertFile string

	srv   *smtp.Server
	ln    net.Listener
	mu    sync.Mutex
	msgs  []Message
	fail  *smtp.SMTPError
	tries int
}

// Options choose how the server behaves.
type Options struct {
	// Implicit serves TLS from the first byte (smtps); otherwise the
	// server offers STARTTLS, unless NoTLS.
	Implicit bool
	// NoTLS offers no encryption at all: a client that requires it must
	// refuse to send.
	NoTLS bool
}

// Start runs a server until t ends.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	// httptest's certificate is valid for 127.0.0.1: borrow it.
	hs := httptest.NewUnstartedServer(nil)
	hs.StartTLS()
	cert, root := hs.TLS.Certificates[0], hs.Certificate()
	hs.Close()
	s := &Server{User: "alerts@example.org", Password: "test-smtp-password", Roots: x509.NewCertPool()}
	s.Roots.AddCert(root)
	s.CertFile = filepath.Join(t.TempDir(), "smtp-test-ca.pem")
	if err := os.WriteFile(s.CertFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: root.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &session{s: s, c: c}, nil }))
	s.srv.Domain = "localhost"
	s.srv.ReadTimeout, s.srv.WriteTimeout = 30*time.Second, 30*time.Second
	s.srv.MaxMessageBytes = 1 << 20
	s.srv.ErrorLog = nopLogger{}
	tlsConfig := &tls.Config{Certificates: []tls.Certificate{cert}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case o.Implicit:
		ln = tls.NewListener(ln, tlsConfig)
	case !o.NoTLS:
		s.srv.TLSConfig = tlsConfig
	}
	s.ln, s.Addr = ln, ln.Addr().String()
	go s.srv.Serve(ln)
	t.Cleanup(func() { s.srv.Close() })
	return s
}

// Port is the server's port.
func (s *Server) Port() string {
	_, p, _ := net.SplitHostPort(s.Addr)
	return p
}

// ClientTLS is a TLS configuration that trusts the server.
func (s *Server) ClientTLS() *tls.Config { return &tls.Config{RootCAs: s.Roots} }

// Messages returns the messages accepted so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// Attempts is how many recipients clients asked for, accepted or refused.
func (s *Server) Attempts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tries
}

// Refuse makes the server answer every RCPT TO with code (4xx: try later;
// 5xx: never); 0 accepts again.
func (s *Server) Refuse(code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if code == 0 {
		s.fail = nil
		return
	}
	enh := smtp.EnhancedCode{4, 3, 0}
	if code >= 500 {
		enh = smtp.EnhancedCode{5, 1, 1}
	}
	s.fail = &smtp.SMTPError{Code: code, EnhancedCode: enh, Message: "refused by the test server"}
}

type session struct {
	s    *Server
	c    *smtp.Conn
	user string
	msg  Message
}

func (ss *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (ss *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != ss.s.User || password != ss.s.Password {
			return errors.New("invalid credentials")
		}
		ss.user = username
		return nil
	}), nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	ss.msg = Message{From: from}
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.s.mu.Lock()
	fail := ss.s.fail
	ss.s.tries++
	ss.s.mu.Unlock()
	if fail != nil {
		return fail
	}
	ss.msg.To = append(ss.msg.To, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	var b bytes.Buffer
	if _, err := io.Copy(&b, r); err != nil {
		return err
	}
	_, isTLS := ss.c.TLSConnectionState()
	ss.msg.Data, ss.msg.TLS, ss.msg.User = b.String(), isTLS, ss.user
	ss.s.mu.Lock()
	ss.s.msgs = append(ss.s.msgs, ss.msg)
	ss.s.mu.Unlock()
	return nil
}

func (ss *session) Reset()        { ss.msg = Message{} }
func (ss *session) Logout() error { return nil }

type nopLogger struct{}

func (nopLogger) Printf(string, ...interface{}) {}
func (nopLogger) Println(...interface{})        {}
