package app

import (
	"crypto/tls"
	"errors"
	"net/url"
	"strings"

	"github.com/salama-ke/salama/internal/health"
	"github.com/salama-ke/salama/internal/notify"
	"github.com/salama-ke/salama/internal/sms"
)

// AlertOptions configure staff alerts (internal/notify).
type AlertOptions struct {
	// PublicURL is where people reach this Salama
	// (https://salama.example.org): the console link in every alert.
	PublicURL string
	// SMTPURL (smtp://user:password@host:587 for STARTTLS, smtps://…:465
	// for TLS) and SMTPFrom send alert emails; without SMTPURL they are
	// logged, not sent.
	SMTPURL, SMTPFrom string
	// SMTPTLS, if set, replaces the TLS settings of the SMTP connection
	// (tests trust their own certificate with it).
	SMTPTLS *tls.Config
	// Mailer, if set, sends alert emails instead of SMTP (tests).
	Mailer notify.Mailer
}

// setUpAlerts builds the alert service and registers its jobs. Alert SMS go
// through the network's SMS provider.
func (a *App) setUpAlerts(o Options) error {
	ao := o.Alerts
	if a.SMS = o.Gateway.SMS; a.SMS == nil {
		a.SMS = sms.LogSender{Log: o.Logger}
	}
	// Every SMS (nudges, replies, alerts) and every alert email is
	// counted for the health page and the metrics.
	a.SMS = health.CountSMS(a.SMS, a.SMSProvider)
	if ao.PublicURL != "" {
		u, err := url.Parse(ao.PublicURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return errors.New("the public URL must be where people reach Salama, such as https://salama.example.org")
		}
		ao.PublicURL = strings.TrimRight(u.String(), "/")
	}
	mail := ao.Mailer
	if mail == nil && ao.SMTPURL != "" {
		smtp, err := notify.NewSMTP(ao.SMTPURL, ao.SMTPFrom, ao.SMTPTLS)
		if err != nil {
			return err
		}
		mail = smtp
	}
	if mail != nil {
		a.MailProvider = health.NewProvider("email", o.Now)
		mail = health.CountMail(mail, a.MailProvider)
	}
	svc, err := notify.New(notify.Config{Store: a.Store, Secret: a.Secret, Audit: a.Audit, Mail: mail, SMS: a.SMS,
		PublicURL: ao.PublicURL, Log: o.Logger, Now: o.Now})
	if err != nil {
		return err
	}
	svc.Register(a.Jobs)
	a.Alerts = svc
	return nil
}
