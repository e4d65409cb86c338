package notify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// Mailer sends one email. Implementations must not log the address or the
// text, and their errors must carry neither.
type Mailer interface {
	Send(ctx context.Context, to, subject, body string) error
}

// Provider returns the mailer underneath wrappers (a counter for the
// metrics) that have an Unwrap method, to say which mail server is set.
func Provider(m Mailer) Mailer {
	for {
		u, ok := m.(interface{ Unwrap() Mailer })
		if !ok {
			return m
		}
		m = u.Unwrap()
	}
}

// ErrRefused means the mail server refused the message for good (a 5xx
// answer: no such mailbox, relaying denied); sending it again will not help.
var ErrRefused = errors.New("notify: the mail server refused the message")

// SMTP sends email through a mail server, always encrypted: STARTTLS on
// smtp:// (port 587 unless given; a server that does not offer STARTTLS is
// refused), implicit TLS on smtps:// (port 465 unless given). The
// certificate is checked against the system's roots. A user and password
// in the URL are used to log in, only ever over TLS.
type SMTP struct {
	host     string
	port     int
	implicit bool
	user     string
	password string
	from     string
	tls      *tls.Config
	timeout  time.Duration
}

// NewSMTP reads an smtp:// or smtps:// URL (smtp://user:pass@host:587) and
// the From address. tlsConfig may be nil (the system's roots, the URL's
// host); tests pass one that trusts their own certificate. Errors never
// include the URL, which may carry a password.
func NewSMTP(rawURL, from string, tlsConfig *tls.Config) (*SMTP, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, errors.New("notify: the SMTP URL does not parse (smtp://user:password@host:587 or smtps://…:465)")
	}
	s := &SMTP{host: u.Hostname(), timeout: 30 * time.Second}
	switch u.Scheme {
	case "smtp":
		s.port = 587
	case "smtps":
		s.port, s.implicit = 465, true
	default:
		return nil, errors.New("notify: the SMTP URL must start with smtp:// (STARTTLS) or smtps:// (TLS)")
	}
	if s.host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return nil, errors.New("notify: the SMTP URL must be smtp(s)://[user:password@]host[:port] and nothing more")
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return nil, errors.New("notify: the SMTP URL's port is not a port number")
		}
		s.port = n
	}
	if u.User != nil {
		s.user = u.User.Username()
		s.password, _ = u.User.Password()
	}
	a, err := mail.ParseAddress(from)
	if err != nil || !strings.Contains(a.Address, "@") {
		return nil, errors.New("notify: --smtp-from must be an email address (Salama <alerts@example.org>)")
	}
	s.from = a.String()
	if tlsConfig != nil {
		s.tls = tlsConfig.Clone()
	} else {
		s.tls = &tls.Config{}
	}
	if s.tls.ServerName == "" {
		s.tls.ServerName = s.host
	}
	s.tls.MinVersion = max(s.tls.MinVersion, tls.VersionTLS12)
	return s, nil
}

// Describe says where mail goes, for the start-up lines: host, port and
// the kind of TLS, never the user or password.
func (s *SMTP) Describe() string {
	kind := "STARTTLS"
	if s.implicit {
		kind = "TLS"
	}
	return fmt.Sprintf("%s (%s)", net.JoinHostPort(s.host, strconv.Itoa(s.port)), kind)
}

// Send delivers one plain-text message to one address.
func (s *SMTP) Send(ctx context.Context, to, subject, body string) error {
	m := gomail.NewMsg()
	if err := m.From(s.from); err != nil {
		return errors.New("notify: the From address is not usable")
	}
	if err := m.To(to); err != nil {
		return fmt.Errorf("%w: the address is not usable", ErrRefused)
	}
	m.Subject(subject)
	m.SetDate()
	m.SetMessageID()
	m.SetBodyString(gomail.TypeTextPlain, body)
	opts := []gomail.Option{gomail.WithPort(s.port), gomail.WithTimeout(s.timeout), gomail.WithTLSConfig(s.tls)}
	if s.implicit {
		opts = append(opts, gomail.WithSSL())
	} else {
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if s.user != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover), gomail.WithUsername(s.user), gomail.WithPassword(s.password))
	}
	c, err := gomail.NewClient(s.host, opts...)
	if err != nil {
		return errors.New("notify: smtp: the client could not be set up")
	}
	if err := c.DialAndSendWithContext(ctx, m); err != nil {
		return smtpError(err)
	}
	return nil
}

// smtpError turns a delivery error into one that says what went wrong and
// whether to try again, without the address: go-mail's errors name the
// recipients.
func smtpError(err error) error {
	var se *gomail.SendError
	if errors.As(err, &se) {
		code := se.ErrorCode()
		what := fmt.Sprintf("notify: smtp: %s", se.Reason)
		if code > 0 {
			what += fmt.Sprintf(" (code %d", code)
			if es := se.EnhancedStatusCode(); es != "" {
				what += " " + es
			}
			what += ")"
		}
		if !se.IsTemp() && code >= 500 && code < 600 {
			return fmt.Errorf("%w: %s", ErrRefused, what)
		}
		return errors.New(what)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return errors.New("notify: smtp: timed out")
	}
	return errors.New("notify: smtp: " + scrub(err.Error()))
}

// scrub drops every word that could be an address from an error's text.
func scrub(s string) string {
	words := strings.Fields(s)
	for i, w := range words {
		if strings.Contains(w, "@") {
			words[i] = "<address>"
		}
	}
	out := strings.Join(words, " ")
	if len(out) > 200 {
		out = out[:200] + "…"
	}
	return out
}

// LogMailer sends nothing: it logs that an alert email would have gone,
// without the address or the text. It is what runs when no --smtp-url is
// set, so that the demo's alerts show in the log.
type LogMailer struct{ Log *slog.Logger }

// Send logs the message's existence.
func (l LogMailer) Send(ctx context.Context, to, subject, body string) error {
	if to == "" {
		return ErrRefused
	}
	log := l.Log
	if log == nil {
		log = slog.Default()
	}
	log.InfoContext(ctx, "alert email not sent: no SMTP server is set (--smtp-url); the log provider stands in")
	return nil
}
