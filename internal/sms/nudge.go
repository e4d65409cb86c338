package sms

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	"github.com/salama-ke/salama/internal/ids"
	"github.com/salama-ke/salama/internal/jobs"
	"github.com/salama-ke/salama/internal/seal"
	"github.com/salama-ke/salama/internal/store"
)

// DefaultNudge is the nudge in both languages, because the survivor's
// language is not kept with their report. {ussd} is the network's USSD code.
// It says nothing about what the message is or who sent it.
const DefaultNudge = "You have a new message. Dial {ussd} and choose 2. / Una ujumbe mpya. Piga {ussd} uchague 2."

// DefaultNudgeQuiet is the least time between two nudges of one report: a
// caseworker who writes three times in an hour sends one SMS, not three that
// a person sharing the phone would notice.
const DefaultNudgeQuiet = 6 * time.Hour

// Nudger tells a survivor who chose SMS contact that a caseworker wrote. It
// takes a phone number and nothing else, so no receipt, case reference or
// word of the conversation can ever go into the SMS: the text is the
// network's wording, fixed at start.
//
// A nudge is a durable job (JobNudge): Queue records it in the transaction
// that stores the caseworker's message, and a worker sends it outside the
// request, retrying with back-off while the provider is down or slow and
// giving up, visibly, after NudgeGiveUp. The number travels in the job's
// payload sealed under a key derived from the network secret
// (seal.NetworkSecret.Seal), and the payload is erased when the job ends.
// At most one nudge per report waits at a time, and one is sent at most once
// per quiet period, counted from the last one actually sent: a nudge queued
// inside the quiet period waits for its end.
//
// A nil *Nudger queues nothing and returns nil, so callers need not check
// whether SMS is configured.
type Nudger struct {
	store  *store.Store
	sender Sender
	text   string
	quiet  time.Duration
	secret *seal.NetworkSecret
	log    *slog.Logger
	now    func() time.Time
}

// NudgeConfig configures a Nudger.
type NudgeConfig struct {
	Store  *store.Store
	Sender Sender
	// Wording is the message; "{ussd}" is replaced by USSDCode. Empty
	// means DefaultNudge. It must fit one SMS in the GSM 7-bit alphabet.
	Wording  string
	USSDCode string
	// Quiet is the least time between two nudges of one report; zero
	// means DefaultNudgeQuiet.
	Quiet  time.Duration
	Secret *seal.NetworkSecret
	Log    *slog.Logger
	Now    func() time.Time
}

// The nudge's job: its kind, and how it is retried and given up on.
const (
	JobNudge = "sms.nudge"
	// NudgeGiveUp is how long a nudge is retried before it is marked
	// failed on the report's thread.
	NudgeGiveUp = 24 * time.Hour
)

// MessagePolicy is how every SMS job is retried: quickly at first (a
// provider's hiccup), then every 10 minutes at most, and never for a
// refusal (ErrRejected), which sending again cannot fix.
var MessagePolicy = jobs.Policy{BaseBackoff: 10 * time.Second, MaxBackoff: 10 * time.Minute, MaxAttempts: 500}

// sendTimeout bounds one attempt at the provider: a stalled provider holds
// a worker this long, never a person's request.
const sendTimeout = 20 * time.Second

// NewNudger checks the wording and returns a Nudger.
func NewNudger(c NudgeConfig) (*Nudger, error) {
	if c.Store == nil || c.Sender == nil || c.Secret == nil {
		return nil, errors.New("sms: a nudger needs the store, a sender and the network secret")
	}
	w := c.Wording
	if w == "" {
		w = DefaultNudge
	}
	if strings.Contains(w, "{ussd}") && strings.TrimSpace(c.USSDCode) == "" {
		return nil, errors.New("sms: the nudge wording uses {ussd} but no USSD code is set (--ussd-code)")
	}
	text := strings.TrimSpace(strings.ReplaceAll(w, "{ussd}", strings.TrimSpace(c.USSDCode)))
	switch {
	case text == "":
		return nil, errors.New("sms: the nudge wording is empty")
	case !IsPlain(text):
		return nil, errors.New("sms: the nudge wording must use only the GSM 7-bit alphabet (plain letters, digits and punctuation), or feature phones may show boxes")
	case len([]rune(text)) > MaxSingle:
		return nil, fmt.Errorf("sms: the nudge wording is %d characters; one SMS holds %d", len([]rune(text)), MaxSingle)
	case hasLongDigitRun(text, 10):
		return nil, errors.New("sms: the nudge wording must not contain a long number (it could be taken for a report code)")
	}
	quiet := c.Quiet
	if quiet == 0 {
		quiet = DefaultNudgeQuiet
	}
	log := c.Log
	if log == nil {
		log = slog.Default()
	}
	now := c.Now
	if now == nil {
		now = time.Now
	}
	return &Nudger{store: c.Store, sender: c.Sender, text: text, quiet: quiet, secret: c.Secret, log: log, now: now}, nil
}

// Text is the nudge exactly as it is sent.
func (n *Nudger) Text() string {
	if n == nil {
		return ""
	}
	return n.text
}

// ErrBadNumber means the number cannot be read as a mobile number.
var ErrBadNumber = errors.New("sms: not a mobile number")

// purposeNudge names the sealing of a nudge's number (seal.NetworkSecret.Seal).
const purposeNudge = "sms-nudge"

// nudgePayload is a nudge job's payload: the nudge's id and its number,
// sealed to that id.
type nudgePayload struct {
	Nudge string `json:"nudge"`
	To    []byte `json:"to"`
}

// Queue queues the nudge for a caseworker's new message messageID on
// report reportID, inside tx, the transaction that stores the message: the
// nudge exists if and only if the message does. phone is the number the
// survivor gave, as they typed it. When a nudge of the report is queued
// already, it covers this message and nothing is added. A number that is
// not a mobile number is recorded as a failed nudge, so the caseworker sees
// that the survivor was not told.
func (n *Nudger) Queue(ctx context.Context, tx *sql.Tx, reportID, messageID, phone string) error {
	if n == nil {
		return nil
	}
	now := n.now().UTC()
	nd := &store.Nudge{ID: ids.New(), ReportID: reportID, MessageID: messageID, CreatedAt: now, NotBefore: now}
	to, ok := NormalisePhone(phone)
	if !ok {
		nd.State, nd.Failure = store.NudgeFailed, FailBadNumber
		_, err := store.InsertNudgeTx(ctx, tx, nd)
		return err
	}
	last, err := store.LastNudgeSentTx(ctx, tx, reportID)
	if err != nil {
		return err
	}
	if next := last.Add(n.quiet); !last.IsZero() && next.After(now) {
		nd.NotBefore = next
	}
	if added, err := store.InsertNudgeTx(ctx, tx, nd); err != nil || !added {
		return err
	}
	sealed, err := n.secret.Seal(purposeNudge, nd.ID, []byte(to))
	if err != nil {
		return err
	}
	payload, err := json.Marshal(nudgePayload{Nudge: nd.ID, To: sealed})
	if err != nil {
		return err
	}
	_, err = store.EnqueueJobTx(ctx, tx, store.NewJob{Kind: JobNudge, Payload: payload, RunAt: nd.NotBefore, UniqueKey: store.NudgeJobKey(nd.ID)}, now)
	return err
}

// Reasons a nudge failed, as stored and shown on the thread.
const (
	FailBadNumber = "bad_number" // the survivor's number is not a mobile number
	FailRejected  = "rejected"   // the provider refused it
	FailGaveUp    = "gave_up"    // not sent within NudgeGiveUp
	FailStopped   = "stopped"    // the number texted STOP
)

// Register adds the nudge's job to q.
func (n *Nudger) Register(q *jobs.Queue) {
	if n == nil {
		return
	}
	p := MessagePolicy
	p.GiveUpAfter = NudgeGiveUp
	p.OnFail = func(ctx context.Context, j *jobs.Job, _ string) {
		var pl nudgePayload
		if json.Unmarshal(j.Payload, &pl) != nil || pl.Nudge == "" {
			return
		}
		if _, err := n.store.NudgeFailed(ctx, pl.Nudge, FailGaveUp, n.now().UTC()); err != nil {
			n.log.ErrorContext(ctx, "sms nudge: recording the failure", "err", err)
		}
	}
	q.HandleWith(JobNudge, n.send, p)
}

// send is the nudge job.
func (n *Nudger) send(ctx context.Context, j *jobs.Job) error {
	var pl nudgePayload
	if err := json.Unmarshal(j.Payload, &pl); err != nil || pl.Nudge == "" {
		return jobs.Permanent(errors.New("sms nudge: unreadable payload"))
	}
	nd, err := n.store.Nudge(ctx, pl.Nudge)
	if errors.Is(err, store.ErrNotFound) {
		return nil // the report was withdrawn or purged meanwhile
	}
	if err != nil {
		return err
	}
	if nd.State != store.NudgeQueued {
		return nil // sent or failed already: a job run again after a crash
	}
	to, err := n.secret.Open(purposeNudge, nd.ID, pl.To)
	if err != nil {
		return jobs.Permanent(errors.New("sms nudge: the number does not open with this network secret"))
	}
	// Checked when sending, not when queueing: a STOP that arrives while
	// the nudge waits out the quiet period or a provider's outage counts.
	stopped, err := n.store.SMSStopped(ctx, StopKey(n.secret, string(to)))
	if err != nil {
		clear(to)
		return err
	}
	if stopped {
		clear(to)
		if _, err := n.store.NudgeFailed(ctx, nd.ID, FailStopped, n.now().UTC()); err != nil {
			return err
		}
		n.log.InfoContext(ctx, "sms nudge not sent: the number texted STOP")
		return nil
	}
	sctx, cancel := context.WithTimeout(ctx, sendTimeout)
	err = n.sender.Send(sctx, string(to), n.text)
	cancel()
	clear(to)
	if errors.Is(err, ErrRejected) {
		if _, ferr := n.store.NudgeFailed(ctx, nd.ID, FailRejected, n.now().UTC()); ferr != nil {
			n.log.ErrorContext(ctx, "sms nudge: recording the failure", "err", ferr)
		}
		return jobs.Permanent(err)
	}
	if err != nil {
		return err
	}
	if _, err := n.store.NudgeSent(ctx, nd.ID, n.now().UTC()); err != nil {
		// The SMS went; the job runs again and may send it twice rather
		// than leave the nudge looking queued for ever.
		return err
	}
	n.log.InfoContext(ctx, "sms nudge sent")
	return nil
}

// KeyAddr turns a secret value (a phone number) into an address-shaped key
// for ratelimit, which knows only addresses: the first 16 bytes of its MAC
// under the network secret, as an IPv6 address. The limiter hashes that again
// under its daily in-memory key and masks it to /64, keeping 64 bits of the
// MAC: enough to keep numbers apart, and nothing that names one.
func KeyAddr(secret *seal.NetworkSecret, purpose, value string) netip.Addr {
	var b [16]byte
	copy(b[:], secret.MAC(purpose, []byte(value)))
	b[0] = 0x20 // a global unicast address, never an IPv4-mapped one
	return netip.AddrFrom16(b)
}

func hasLongDigitRun(s string, n int) bool {
	run := 0
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			run++
			if run >= n {
				return true
			}
		case r == ' ' || r == '-' || r == '.':
			// receipts are written in groups
		default:
			run = 0
		}
	}
	return false
}
