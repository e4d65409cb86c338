package cli

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"

	"github.com/salama-ke/salama/internal/app"
)

// alerts binds serve's flags for staff alerts. The SMTP URL may carry a
// password: it is never printed, and its help prefers the environment.
func (f flags) alerts(o *app.AlertOptions) {
	f.str(&o.PublicURL, "public-url", "", "where people reach this Salama, e.g. https://salama.example.org: the console link in staff alerts. Empty: derived from --addr when that is a loopback address, otherwise alerts carry no link")
	f.str(&o.SMTPURL, "smtp-url", "", "mail server for staff alerts: smtp://user:password@host:587 (STARTTLS, required) or smtps://user:password@host:465 (TLS). Empty: alert emails are logged, not sent. It holds a password: prefer the environment variable")
	f.str(&o.SMTPFrom, "smtp-from", "", "From address of alert emails, e.g. \"Salama <alerts@example.org>\"; needed with --smtp-url")
}

// checkAlerts trims the alert flags and, without --public-url, derives
// the console link from --acme-domain (its first domain) or a loopback
// --addr; serve warns when there is none.
func checkAlerts(o *app.AlertOptions, addr string, tls, behindProxy bool, acmeDomain string) {
	o.PublicURL, o.SMTPURL, o.SMTPFrom = strings.TrimSpace(o.PublicURL), strings.TrimSpace(o.SMTPURL), strings.TrimSpace(o.SMTPFrom)
	if o.PublicURL == "" && acmeDomain != "" {
		o.PublicURL = "https://" + acmeDomain
	}
	if o.PublicURL == "" && !behindProxy {
		o.PublicURL = loopbackURL(addr, tls)
	}
}

// warnNoLink says in the log when staff alerts will carry no link to the
// console.
func warnNoLink(log *slog.Logger, o app.AlertOptions) {
	if o.PublicURL == "" {
		log.Warn("no --public-url: staff alerts will not link to the console; set it to the address people reach Salama at")
	}
}

// loopbackURL is the address of a server listening on a loopback address
// with a fixed port, good enough for a link on the same machine (the demo);
// "" otherwise.
func loopbackURL(addr string, tls bool) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "0" || port == "" {
		return ""
	}
	ip, err := netip.ParseAddr(host)
	if host != "localhost" && (err != nil || !ip.IsLoopback()) {
		return ""
	}
	scheme := "http"
	if tls {
		scheme = "https"
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

// printAlerts says at start how staff alerts leave. It never prints the SMTP
// URL, which may hold a password.
func printAlerts(w io.Writer, a *app.App, o app.AlertOptions) {
	email, sms := a.Alerts.Channels()
	fmt.Fprintf(w, "Staff alerts: %s %s\n", email, sms)
	if o.PublicURL != "" {
		fmt.Fprintf(w, "Alerts link to %s/console/\n", strings.TrimRight(o.PublicURL, "/"))
	}
	if a.Demo != nil && len(a.Demo.AlertContacts) > 0 {
		fmt.Fprintf(w, "Example alert addresses (console: Alerts): %s\n", strings.Join(a.Demo.AlertContacts, "; "))
	}
}
