package audit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/salama-ke/salama/internal/seal"
	"github.com/salama-ke/salama/internal/store"
)

// ErrInvalidEvent means Record refused an event: unknown action, missing
// report id, or an actor, id or detail of the wrong shape. The message names
// the field, never its value.
var ErrInvalidEvent = errors.New("audit: invalid event")

// Event is something to record. See the package documentation for what each
// field may hold.
type Event struct {
	Actor    string // UserActor(id), ActorSystem, ActorSurvivor, ActorCLI or ActorUnknown
	OrgID    string // the organisation acting, if any
	Action   Action
	ReportID string // required for report.*, attachment.* and referral.* actions
	Detail   string // key=value pairs, e.g. "status=in_review→closed reason=resolved"
}

// Log is the audit log of one deployment.
type Log struct {
	st  *store.Store
	key *seal.SigningKey
	now func() time.Time

	mu    sync.Mutex
	chain *keyChain // the rotations, once ForReport needed them
}

// New returns the log kept in st and signed with key. now is the clock
// (time.Now if nil).
func New(st *store.Store, key *seal.SigningKey, now func() time.Time) *Log {
	if st == nil || key == nil {
		panic("audit: New needs a store and a signing key")
	}
	if now == nil {
		now = time.Now
	}
	return &Log{st: st, key: key, now: now}
}

// NewVerifier returns a log that can only be verified (Verify,
// CheckCheckpoint with a key given), for a command that does not hold the
// signing key: one that replaces a lost key. Record and Prepare refuse.
func NewVerifier(st *store.Store) *Log {
	if st == nil {
		panic("audit: NewVerifier needs a store")
	}
	return &Log{st: st, now: time.Now}
}

// Record appends ev to the log, timestamped, chained and signed. It returns
// ErrInvalidEvent (wrapped) for an event that breaks the rules in the
// package documentation, and the store's error if the entry could not be
// written; in either case the action must not go ahead.
func (l *Log) Record(ctx context.Context, ev Event) error {
	p, err := l.Prepare(ev)
	if err != nil {
		return err
	}
	if err := l.st.AppendAudit(ctx, p.Entry, p.Sign); err != nil {
		return fmt.Errorf("audit: record %s: %w", ev.Action, err)
	}
	return nil
}

// Prepare checks ev like Record and returns it ready for a store method
// that appends it in the same transaction as the change it records (a purge,
// an escalation): the change and its entry then commit together or not at
// all, which is stronger than recording first. It returns ErrInvalidEvent
// (wrapped) for an event that breaks the rules.
func (l *Log) Prepare(ev Event) (*store.PendingAudit, error) {
	if l.key == nil {
		return nil, errors.New("audit: this log has no signing key (NewVerifier)")
	}
	if err := ev.validate(); err != nil {
		return nil, err
	}
	e := &store.AuditEntry{Actor: ev.Actor, OrgID: ev.OrgID, Action: string(ev.Action), ReportID: ev.ReportID, Detail: ev.Detail}
	return &store.PendingAudit{Entry: e, Sign: func(prev []byte, seq int64) ([]byte, []byte) {
		// Read the clock under the append lock, so that time follows seq.
		e.Seq, e.PrevHash, e.At = seq, prev, time.Unix(l.now().Unix(), 0).UTC()
		h := EntryHash(*e)
		return h, l.key.Sign(h)
	}}, nil
}

// ForReport returns every entry about a report, oldest first, for the
// console's history and the evidence bundle. Each entry is checked with
// CheckEntry against the log's key; a tampered one fails the call with an
// *Error.
func (l *Log) ForReport(ctx context.Context, reportID string) ([]store.AuditEntry, error) {
	es, err := l.st.AuditForReport(ctx, reportID)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	kc, err := l.keys(ctx)
	if err != nil {
		return nil, err
	}
	pub := l.key.Public()
	for _, e := range es {
		if err := CheckEntry(e, kc.keyAt(e.Seq, pub)); err != nil {
			return nil, err
		}
	}
	return es, nil
}

// keys returns the log's rotations, checked against the log's key, loading
// them once: a rotation happens with every server stopped (internal/keys),
// so a running server's chain does not change under it.
func (l *Log) keys(ctx context.Context) (*keyChain, error) {
	if l.key == nil {
		return nil, errors.New("audit: this log has no signing key (NewVerifier)")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.chain != nil {
		return l.chain, nil
	}
	kc, err := l.loadKeyChain(ctx)
	if err != nil {
		return nil, err
	}
	if err := kc.check(l.key.Public()); err != nil {
		return nil, err
	}
	l.chain = kc
	return kc, nil
}
