// Package health tells the operator whether this Salama is well: the
// database answers, background jobs are not piling up or failing, the SMS
// and email providers take what they are given, a backup was taken
// lately, the disk has room, and which version runs. The console's health
// page shows it in words to organisation admins; internal/metrics exports
// the same numbers to Prometheus; salama serve warns at start about what a
// deployment should not go on without (Warnings).
//
// What it must never do: carry anything a survivor wrote, an identifier, a
// phone number, an address or a report id. It holds counts, times and fixed
// words (a job kind, a provider's name), so that what it shows may be
// scraped, graphed and read over a shoulder. A provider's error text is not
// kept: it can name the number or mailbox it failed for.
package health

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/salama-ke/salama/internal/diskspace"
	"github.com/salama-ke/salama/internal/notify"
	"github.com/salama-ke/salama/internal/sms"
	"github.com/salama-ke/salama/internal/store"
)

// Provider counts what one outside service (the SMS provider, the mail
// server) was given to send and how much of it failed.
type Provider struct {
	Name        string // "sms" or "email"
	sent, fails atomic.Int64
	lastFail    atomic.Int64 // unix nanoseconds; 0 for never
	lastSent    atomic.Int64
	now         func() time.Time
}

// NewProvider returns a provider's counters; now nil means time.Now.
func NewProvider(name string, now func() time.Time) *Provider {
	if now == nil {
		now = time.Now
	}
	return &Provider{Name: name, now: now}
}

// Done counts one attempt to send: sent when err is nil, failed otherwise.
func (p *Provider) Done(err error) {
	t := p.now().UnixNano()
	if err != nil {
		p.fails.Add(1)
		p.lastFail.Store(t)
		return
	}
	p.sent.Add(1)
	p.lastSent.Store(t)
}

// ProviderStatus is a provider's counters at one moment.
type ProviderStatus struct {
	Name                 string
	Sent, Failed         int64
	LastSent, LastFailed time.Time // zero for never
}

// Status reads the counters.
func (p *Provider) Status() ProviderStatus {
	st := ProviderStatus{Name: p.Name, Sent: p.sent.Load(), Failed: p.fails.Load()}
	if t := p.lastSent.Load(); t != 0 {
		st.LastSent = time.Unix(0, t)
	}
	if t := p.lastFail.Load(); t != 0 {
		st.LastFailed = time.Unix(0, t)
	}
	return st
}

// CountSMS wraps an SMS sender so that every message is counted in p.
func CountSMS(s sms.Sender, p *Provider) sms.Sender { return countedSMS{s, p} }

type countedSMS struct {
	sms.Sender
	p *Provider
}

func (c countedSMS) Unwrap() sms.Sender { return c.Sender }

func (c countedSMS) Send(ctx context.Context, to, message string) error {
	err := c.Sender.Send(ctx, to, message)
	c.p.Done(err)
	return err
}

// CountMail wraps a mailer so that every message is counted in p.
func CountMail(m notify.Mailer, p *Provider) notify.Mailer { return countedMail{m, p} }

type countedMail struct {
	notify.Mailer
	p *Provider
}

func (c countedMail) Unwrap() notify.Mailer { return c.Mailer }

func (c countedMail) Send(ctx context.Context, to, subject, body string) error {
	err := c.Mailer.Send(ctx, to, subject, body)
	c.p.Done(err)
	return err
}

// lastBackupKey is the setting salama backup writes when a backup is
// complete: the time, unix seconds, as text.
const lastBackupKey = "last_backup"

// RecordBackup notes that a complete backup was taken at t.
func RecordBackup(ctx context.Context, st *store.Store, t time.Time) error {
	return st.SetSetting(ctx, lastBackupKey, []byte(strconv.FormatInt(t.Unix(), 10)))
}

// LastBackup returns when the last complete backup was taken, and false
// if none was ever recorded.
func LastBackup(ctx context.Context, st *store.Store) (time.Time, bool, error) {
	v, ok, err := st.Setting(ctx, lastBackupKey)
	if err != nil || !ok {
		return time.Time{}, false, err
	}
	n, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("health: the recorded backup time %q is not a time", v)
	}
	return time.Unix(n, 0), true, nil
}

// BackupDue is how old the last backup may be before the health page and
// the start-up warnings say so.
const BackupDue = 7 * 24 * time.Hour

// Checker gathers a Report.
type Checker struct {
	Store     *store.Store
	Disk      *diskspace.Monitor // nil when the check is off
	Providers []*Provider
	Version   string
	// Queue returns how many argon2id evaluations wait for a slot now.
	Queue func() int
	Now   func() time.Time
}

// JobKind is the state of one kind of background job.
type JobKind struct {
	Kind             string
	Waiting, Running int64
	Failed           int64
	LastFailed       time.Time // when the latest failed one gave up
	FirstDue         time.Time // when the earliest waiting one was due
}

// Report is the state of this Salama at one moment.
type Report struct {
	At         time.Time
	Version    string
	DatabaseOK bool
	Jobs       []JobKind // kinds with something waiting, running or failed
	Providers  []ProviderStatus
	LastBackup time.Time // zero when none was ever recorded
	BackupOld  bool      // none, or older than BackupDue
	Disk       diskspace.Status
	DiskOff    bool // --min-free-disk 0, or PostgreSQL without a local data directory
	KDFQueued  int
}

// Check gathers a report. A database that does not answer is reported,
// not returned as an error; the other parts are read as far as they can be.
func (c *Checker) Check(ctx context.Context) *Report {
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	r := &Report{At: now(), Version: c.Version}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	r.DatabaseOK = c.Store.Ping(ctx) == nil
	if r.DatabaseOK {
		if js, err := c.Store.JobCounts(ctx); err == nil {
			r.Jobs = jobKinds(js)
		} else {
			r.DatabaseOK = false
		}
		if t, ok, err := LastBackup(ctx, c.Store); err == nil && ok {
			r.LastBackup = t
		}
	}
	r.BackupOld = r.LastBackup.IsZero() || r.At.Sub(r.LastBackup) > BackupDue
	for _, p := range c.Providers {
		r.Providers = append(r.Providers, p.Status())
	}
	if c.Disk == nil {
		r.DiskOff = true
	} else {
		r.Disk = c.Disk.Status()
	}
	if c.Queue != nil {
		r.KDFQueued = c.Queue()
	}
	return r
}

func jobKinds(cs []store.JobCount) []JobKind {
	by := map[string]*JobKind{}
	for _, c := range cs {
		if c.State == store.JobDone {
			continue
		}
		k := by[c.Kind]
		if k == nil {
			k = &JobKind{Kind: c.Kind}
			by[c.Kind] = k
		}
		switch c.State {
		case store.JobPending:
			k.Waiting, k.FirstDue = c.N, c.FirstDue
		case store.JobRunning:
			k.Running = c.N
		case store.JobFailed:
			k.Failed, k.LastFailed = c.N, c.Latest
		}
	}
	out := make([]JobKind, 0, len(by))
	for _, k := range by {
		out = append(out, *k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Kind < out[j].Kind })
	return out
}
