package notify

import (
	"context"
	"errors"
	"io"
	"mime/quotedprintable"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/salama-ke/salama/internal/notify/mailtest"
)

// readBody parses a delivered message and returns its headers and its body
// decoded.
func readBody(t *testing.T, data string) (mail.Header, string) {
	t.Helper()
	m, err := mail.ReadMessage(strings.NewReader(data))
	if err != nil {
		t.Fatalf("delivered message does not parse: %v\n%s", err, data)
	}
	var r io.Reader = m.Body
	if strings.EqualFold(m.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
		r = quotedprintable.NewReader(r)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return m.Header, strings.ReplaceAll(string(b), "\r\n", "\n")
}

func smtpURL(scheme string, s *mailtest.Server, withLogin bool) string {
	u := url.URL{Scheme: scheme, Host: s.Addr}
	if withLogin {
		u.User = url.UserPassword(s.User, s.Password)
	}
	return u.String()
}

// TestSMTPDeliversEncrypted sends an alert through a real SMTP server, by
// STARTTLS with a login and by implicit TLS, and reads back exactly what
// arrived: the fixed words and the console link, nothing else.
func TestSMTPDeliversEncrypted(t *testing.T) {
	for _, tc := range []struct {
		name     string
		implicit bool
		scheme   string
		login    bool
	}{{"starttls", false, "smtp", true}, {"implicit-tls", true, "smtps", false}} {
		t.Run(tc.name, func(t *testing.T) {
			srv := mailtest.Start(t, mailtest.Options{Implicit: tc.implicit})
			m, err := NewSMTP(smtpURL(tc.scheme, srv, tc.login), "Salama <alerts@salama.example.org>", srv.ClientTLS())
			if err != nil {
				t.Fatal(err)
			}
			msg := alertFor(whyNew, "https://salama.example.org")
			if err := m.Send(context.Background(), "duty@ngo.example.org", msg.Subject, msg.Body); err != nil {
				t.Fatal(err)
			}
			got := srv.Messages()
			if len(got) != 1 {
				t.Fatalf("%d messages delivered", len(got))
			}
			d := got[0]
			if !d.TLS {
				t.Error("the message travelled unencrypted")
			}
			if tc.login && d.User != srv.User {
				t.Errorf("logged in as %q", d.User)
			}
			if d.From != "alerts@salama.example.org" || !slices.Equal(d.To, []string{"duty@ngo.example.org"}) {
				t.Errorf("envelope %q → %q", d.From, d.To)
			}
			h, body := readBody(t, d.Data)
			if h.Get("Subject") != "A new report is waiting in Salama" || h.Get("To") != "<duty@ngo.example.org>" ||
				h.Get("From") != `"Salama" <alerts@salama.example.org>` {
				t.Errorf("headers %v", h)
			}
			want := "A new report is waiting in Salama.\n\nOpen the console to read it:\nhttps://salama.example.org/console/\n\n" +
				"This message says nothing about the report, on purpose. Please do not reply to it.\n"
			if body != want {
				t.Errorf("body\n%q\nwant\n%q", body, want)
			}
			for k := range h {
				switch k {
				case "Date", "Message-Id", "Mime-Version", "Content-Type", "Content-Transfer-Encoding", "From", "To", "Subject", "User-Agent", "X-Mailer":
				default:
					t.Errorf("unexpected header %s: %q", k, h.Get(k))
				}
			}
		})
	}
}

// TestSMTPRefusesWithoutTLS: a server that offers no STARTTLS gets nothing,
// not even the envelope, and a wrong certificate is refused too.
func TestSMTPRefusesWithoutTLS(t *testing.T) {
	plain := mailtest.Start(t, mailtest.Options{NoTLS: true})
	m, err := NewSMTP(smtpURL("smtp", plain, true), "alerts@salama.example.org", plain.ClientTLS())
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Send(context.Background(), "duty@ngo.example.org", "s", "b"); err == nil {
		t.Fatal("sent through a server without TLS")
	}
	if len(plain.Messages()) != 0 {
		t.Fatal("a message reached a server without TLS")
	}
	tlsSrv := mailtest.Start(t, mailtest.Options{})
	untrusting, err := NewSMTP(smtpURL("smtp", tlsSrv, true), "alerts@salama.example.org", nil) // system roots only
	if err != nil {
		t.Fatal(err)
	}
	if err := untrusting.Send(context.Background(), "duty@ngo.example.org", "s", "b"); err == nil || len(tlsSrv.Messages()) != 0 {
		t.Fatalf("sent to a server whose certificate is not trusted: %v", err)
	}
}

// TestSMTPErrors: a 5xx is a refusal (never retried), a 4xx is not, and no
// error names the address or the password.
func TestSMTPErrors(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{})
	m, err := NewSMTP(smtpURL("smtp", srv, true), "alerts@salama.example.org", srv.ClientTLS())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		code    int
		refused bool
	}{{550, true}, {451, false}} {
		srv.Refuse(tc.code)
		err := m.Send(context.Background(), "secret.person@ngo.example.org", "s", "b")
		if err == nil || errors.Is(err, ErrRefused) != tc.refused {
			t.Errorf("%d: %v (refused %v)", tc.code, err, tc.refused)
			continue
		}
		if strings.Contains(err.Error(), "secret.person") || strings.Contains(err.Error(), "ngo.example") || strings.Contains(err.Error(), srv.Password) {
			t.Errorf("%d: error names the address: %v", tc.code, err)
		}
	}
	srv.Refuse(0)
	bad, _ := NewSMTP("smtp://"+srv.User+":wrong-password@"+srv.Addr, "alerts@salama.example.org", srv.ClientTLS())
	if err := bad.Send(context.Background(), "duty@ngo.example.org", "s", "b"); err == nil || strings.Contains(err.Error(), "wrong-password") || errors.Is(err, ErrRefused) {
		t.Errorf("wrong password: %v (a login failure is retried: the operator may fix it)", err)
	}
	down, _ := NewSMTP("smtp://127.0.0.1:1", "alerts@salama.example.org", nil)
	if err := down.Send(context.Background(), "duty@ngo.example.org", "s", "b"); err == nil || errors.Is(err, ErrRefused) {
		t.Errorf("no server: %v, want a temporary error", err)
	}
}

func TestNewSMTPChecksItsSettings(t *testing.T) {
	for _, tc := range []struct{ url, from string }{
		{"http://mail.example.org", "a@example.org"},
		{"smtp://", "a@example.org"},
		{"smtp://mail.example.org:99999", "a@example.org"},
		{"smtp://mail.example.org/path", "a@example.org"},
		{"smtp://mail.example.org?x=1", "a@example.org"},
		{"smtp://mail.example.org", ""},
		{"smtp://mail.example.org", "not an address"},
	} {
		if _, err := NewSMTP(tc.url, tc.from, nil); err == nil {
			t.Errorf("accepted %q from %q", tc.url, tc.from)
		}
	}
	_, err := NewSMTP("smtp://user:hunter2-secret@mail.example.org:99999", "a@example.org", nil)
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error shows the password: %v", err)
	}
	s, err := NewSMTP("smtps://u:p@mail.example.org", "Salama <a@example.org>", nil)
	if err != nil || s.Describe() != "mail.example.org:465 (TLS)" {
		t.Errorf("%v %v", s, err)
	}
	s, err = NewSMTP("smtp://mail.example.org", "a@example.org", nil)
	if err != nil || s.Describe() != "mail.example.org:587 (STARTTLS)" || strings.Contains(s.Describe(), "u:p") {
		t.Errorf("%v %v", s, err)
	}
}

func TestParseAddress(t *testing.T) {
	for _, tc := range []struct{ channel, in, want string }{
		{"email", "Duty@NGO.Example.org", "Duty@ngo.example.org"},
		{"email", " duty@ngo.example.org ", "duty@ngo.example.org"},
		{"email", "Duty <duty@ngo.example.org>", ""},
		{"email", "duty@localhost", ""},
		{"email", "duty@", ""},
		{"email", "a b@ngo.example.org", ""},
		{"email", "duty@ngo.example.org\r\nBcc: x@y.org", ""},
		{"email", strings.Repeat("a", 250) + "@x.org", ""},
		{"sms", "0712 345 678", "+254712345678"},
		{"sms", "+254 712 345 678", "+254712345678"},
		{"sms", "020 222 3333", ""},
		{"fax", "0712345678", ""},
	} {
		got, err := ParseAddress(tc.channel, tc.in)
		if got != tc.want || (err == nil) != (tc.want != "") {
			t.Errorf("ParseAddress(%s, %q) = %q, %v; want %q", tc.channel, tc.in, got, err, tc.want)
		}
	}
}

// TestAlertWords: every alert, by email or SMS, says the same few words and
// the link, whatever it is about; an SMS fits one message in the GSM
// alphabet.
func TestAlertWords(t *testing.T) {
	for _, why := range []string{whyNew, whyDigest, whyEscalated} {
		a := alertFor(why, "https://salama.example.org")
		if !strings.Contains(a.Body, "https://salama.example.org/console/") || !strings.HasSuffix(a.SMS, "https://salama.example.org/console/") {
			t.Errorf("%s: no link: %+v", why, a)
		}
		if len(a.SMS) > 160 {
			t.Errorf("%s: SMS of %d characters", why, len(a.SMS))
		}
		if n := alertFor(why, ""); strings.Contains(n.Body, "http") || strings.Contains(n.SMS, "http") {
			t.Errorf("%s: a link without a public URL: %+v", why, n)
		}
	}
}
