package notify

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/salama-ke/salama/internal/audit"
	"github.com/salama-ke/salama/internal/jobs"
	"github.com/salama-ke/salama/internal/seal"
	"github.com/salama-ke/salama/internal/sms"
	"github.com/salama-ke/salama/internal/store"
)

// Kinds of the jobs this package runs, besides the store's events
// (store.JobReportNew, store.JobReportEscalated).
const (
	JobDigest = "alert.digest" // one organisation's hour of routine reports
	JobSend   = "alert.send"   // one alert to one contact
)

// DigestEvery is the length of a digest's window: routine reports are
// alerted at most once per window and organisation, at its end.
const DigestEvery = time.Hour

// SendGiveUp is how long one delivery is retried before it fails for good
// (the contact's row and `salama jobs` then show it).
const SendGiveUp = 24 * time.Hour

// Config wires a Service.
type Config struct {
	Store  *store.Store
	Secret *seal.NetworkSecret
	Audit  *audit.Log
	// Mail sends alert emails; nil logs them instead (LogMailer).
	Mail Mailer
	// SMS sends alert SMS; nil logs them instead (sms.LogSender).
	SMS sms.Sender
	// PublicURL is the address people reach Salama at
	// (https://salama.example.org), the base of the console link in every
	// alert; "" leaves the link out.
	PublicURL string
	Log       *slog.Logger
	Now       func() time.Time
}

// Service keeps alert contacts and sends alerts.
type Service struct {
	st        *store.Store
	secret    *seal.NetworkSecret
	audit     *audit.Log
	mail      Mailer
	sms       sms.Sender
	publicURL string
	log       *slog.Logger
	now       func() time.Time
}

// New returns a Service.
func New(c Config) (*Service, error) {
	if c.Store == nil || c.Secret == nil || c.Audit == nil {
		return nil, errors.New("notify: New needs the store, the network secret and the audit log")
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Mail == nil {
		c.Mail = LogMailer{Log: c.Log}
	}
	if c.SMS == nil {
		c.SMS = sms.LogSender{Log: c.Log}
	}
	return &Service{st: c.Store, secret: c.Secret, audit: c.Audit, mail: c.Mail, sms: c.SMS,
		publicURL: strings.TrimRight(c.PublicURL, "/"), log: c.Log, now: c.Now}, nil
}

// Register adds the alert jobs to q.
func (s *Service) Register(q *jobs.Queue) {
	q.Handle(store.JobReportNew, s.reportNew)
	q.Handle(store.JobReportEscalated, s.reportEscalated)
	q.Handle(JobDigest, s.digest)
	p := sms.MessagePolicy
	p.GiveUpAfter = SendGiveUp
	p.OnFail = func(ctx context.Context, j *jobs.Job, reason string) {
		var pl sendPayload
		if json.Unmarshal(j.Payload, &pl) != nil || pl.Contact == "" {
			return
		}
		s.log.ErrorContext(ctx, "alert given up", "contact", pl.Contact, "why", pl.Why, "err", reason)
		if err := s.st.AlertDelivered(ctx, pl.Contact, "gave up: "+reason, s.now().UTC()); err != nil {
			s.log.ErrorContext(ctx, "alert: recording the failure", "err", err)
		}
	}
	q.HandleWith(JobSend, s.send, p)
}

// Why an alert is sent; each has its words (message.go).
const (
	whyNew       = "new"       // an urgent report arrived
	whyDigest    = "digest"    // routine reports arrived this hour
	whyEscalated = "escalated" // nobody opened a report in the escalation period
	whyDiskLow   = "disk_low"  // the server refuses new reports for lack of disk space
)

type eventPayload struct {
	Report string `json:"report"`
}

type digestPayload struct {
	Org  string `json:"org"`
	From int64  `json:"from"`
}

type sendPayload struct {
	Contact string `json:"contact"`
	Why     string `json:"why"`
}

// reportNew handles a new report: an urgent one is alerted at once, any
// other joins its organisation's digest for the hour it arrived in.
func (s *Service) reportNew(ctx context.Context, j *jobs.Job) error {
	r, err := s.eventReport(ctx, j)
	if err != nil || r == nil {
		return err
	}
	if r.Urgency > 0 {
		return s.fanOut(ctx, r.OrgID, whyNew, "r:"+r.ID)
	}
	from := r.CreatedAt.Truncate(DigestEvery)
	payload, err := json.Marshal(digestPayload{Org: r.OrgID, From: from.Unix()})
	if err != nil {
		return err
	}
	_, err = s.st.EnqueueJob(ctx, store.NewJob{Kind: JobDigest, Payload: payload, RunAt: from.Add(DigestEvery),
		UniqueKey: fmt.Sprintf("%s:%s:%d", JobDigest, r.OrgID, from.Unix())}, s.now().UTC())
	return err
}

// reportEscalated alerts an organisation whose report nobody opened in the
// escalation period, unless someone opened it since.
func (s *Service) reportEscalated(ctx context.Context, j *jobs.Job) error {
	r, err := s.eventReport(ctx, j)
	if err != nil || r == nil || !r.OpenedAt.IsZero() {
		return err
	}
	return s.fanOut(ctx, r.OrgID, whyEscalated, "e:"+r.ID)
}

// eventReport reads an event's report; nil when its content is gone
// (withdrawn or purged): nobody is told about a report that no longer is.
func (s *Service) eventReport(ctx context.Context, j *jobs.Job) (*store.Report, error) {
	var pl eventPayload
	if err := json.Unmarshal(j.Payload, &pl); err != nil || pl.Report == "" {
		return nil, jobs.Permanent(errors.New("notify: unreadable event"))
	}
	r, err := s.st.Report(ctx, pl.Report)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if r.Destroyed() {
		return nil, nil
	}
	return r, nil
}

// digest alerts an organisation whose routine reports of one hour are not
// all opened yet.
func (s *Service) digest(ctx context.Context, j *jobs.Job) error {
	var pl digestPayload
	if err := json.Unmarshal(j.Payload, &pl); err != nil || pl.Org == "" {
		return jobs.Permanent(errors.New("notify: unreadable digest"))
	}
	from := time.Unix(pl.From, 0)
	n, err := s.st.UnopenedInWindow(ctx, pl.Org, from, from.Add(DigestEvery))
	if err != nil || n == 0 {
		return err
	}
	return s.fanOut(ctx, pl.Org, whyDigest, fmt.Sprintf("d:%s:%d", pl.Org, pl.From))
}

// fanOut queues one delivery per contact of the organisation, in one
// transaction. The unique keys make a second run of the same event queue
// nothing more.
func (s *Service) fanOut(ctx context.Context, orgID, why, event string) error {
	now := s.now().UTC()
	n := 0
	err := s.st.Tx(ctx, func(tx *sql.Tx) error {
		n = 0
		cs, err := store.AlertContactsTx(ctx, tx, orgID)
		if err != nil {
			return err
		}
		for _, c := range cs {
			payload, err := json.Marshal(sendPayload{Contact: c.ID, Why: why})
			if err != nil {
				return err
			}
			if _, err := store.EnqueueJobTx(ctx, tx, store.NewJob{Kind: JobSend, Payload: payload, RunAt: now,
				UniqueKey: JobSend + ":" + event + ":" + c.ID}, now); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err == nil && n == 0 {
		s.log.WarnContext(ctx, "alert not sent: the organisation has no alert contact (console: Alerts)", "org", orgID, "why", why)
	}
	return err
}

// DiskLow tells every organisation's alert contacts that the server has
// too little free disk space and refuses new reports (salama serve
// --min-free-disk): survivors are turned away until someone frees space,
// so the staff must hear of it, not only the log. At most once a day: the
// jobs' unique keys name the day, so the disk crossing the threshold back
// and forth does not send it again.
func (s *Service) DiskLow(ctx context.Context) error {
	orgs, err := s.st.Organisations(ctx)
	if err != nil {
		return err
	}
	day := s.now().UTC().Format("2006-01-02")
	for _, o := range orgs {
		if err := s.fanOut(ctx, o.ID, whyDiskLow, whyDiskLow+":"+day); err != nil {
			return err
		}
	}
	return nil
}

// send delivers one alert to one contact.
func (s *Service) send(ctx context.Context, j *jobs.Job) error {
	var pl sendPayload
	if err := json.Unmarshal(j.Payload, &pl); err != nil || pl.Contact == "" {
		return jobs.Permanent(errors.New("notify: unreadable alert"))
	}
	c, err := s.st.AlertContact(ctx, pl.Contact)
	if errors.Is(err, store.ErrNotFound) {
		return nil // the contact was removed meanwhile
	}
	if err != nil {
		return err
	}
	addr, err := s.secret.Open(purposeContact, c.ID, c.Sealed)
	if err != nil {
		return jobs.Permanent(errors.New("notify: the contact's address does not open with this network secret"))
	}
	defer clear(addr)
	msg := alertFor(pl.Why, s.publicURL)
	sctx, cancel := context.WithTimeout(ctx, 45*time.Second)
	defer cancel()
	switch c.Channel {
	case store.AlertEmail:
		err = s.mail.Send(sctx, string(addr), msg.Subject, msg.Body)
	case store.AlertSMS:
		err = s.sms.Send(sctx, string(addr), msg.SMS)
	default:
		return jobs.Permanent(errors.New("notify: unknown channel"))
	}
	now := s.now().UTC()
	if err != nil {
		if derr := s.st.AlertDelivered(ctx, c.ID, err.Error(), now); derr != nil {
			s.log.ErrorContext(ctx, "alert: recording the failure", "err", derr)
		}
		if errors.Is(err, ErrRefused) || errors.Is(err, sms.ErrRejected) {
			return jobs.Permanent(err)
		}
		return err
	}
	if err := s.st.AlertDelivered(ctx, c.ID, "", now); err != nil {
		s.log.ErrorContext(ctx, "alert: recording the delivery", "err", err)
	}
	s.log.InfoContext(ctx, "alert sent", "org", c.OrgID, "contact", c.ID, "channel", c.Channel, "why", pl.Why)
	return nil
}

// Channels says how alerts leave, in a sentence each, for the console's
// Alerts page and the start-up lines: where email goes (or that it is only
// logged), and whether SMS go through a provider.
func (s *Service) Channels() (email, text string) {
	switch m := Provider(s.mail).(type) {
	case *SMTP:
		email = "Email alerts go through " + m.Describe() + "."
	case LogMailer:
		email = "Email alerts are only logged, not sent: no mail server is set (--smtp-url)."
	default:
		email = "Email alerts are sent."
	}
	switch sms.Provider(s.sms).(type) {
	case sms.LogSender:
		text = "SMS alerts are only logged, not sent: no SMS provider is set (--sms-provider)."
	default:
		text = "SMS alerts go through the network's SMS provider."
	}
	return email, text
}

// WarnUncovered logs, once, each organisation nobody would be alerted for.
// It is called at start.
func (s *Service) WarnUncovered(ctx context.Context) error {
	orgs, err := s.st.OrganisationsWithoutAlertContacts(ctx)
	if err != nil {
		return err
	}
	for _, o := range orgs {
		s.log.WarnContext(ctx, "no alert contact: nobody will be told of new reports for this organisation; an admin adds one on the console's Alerts page",
			"org", o.ID, "org_name", o.Name)
	}
	return nil
}
