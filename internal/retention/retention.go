// Package retention owns how long Salama keeps reports (SPEC §5.5): a
// closed report is purged after a configured time without activity; a
// report nobody opened is escalated, and purged if still nobody opens it.
//
// Why: data must not outlive its purpose. A closed case's words are a risk
// to the survivor for as long as they exist, and a report that no member of
// the network ever read helps nobody by being kept. Purging is the same
// crypto-shredding as a survivor's withdrawal (store.PurgeReport shares the
// one destruction path with store.Withdraw): every wrap of the report's data
// key, all its ciphertext and its identifier index rows go, in one
// transaction with the audit entry that records it; the anonymous counts the
// survivor agreed to stay.
//
// Escalation is deliberately plain: the report gets escalated_at (the
// console can flag it), the audit log records report.escalated, and the
// server logs a warning with the case reference, so that a coordinator
// watching either notices. It does not change the report's urgency: the
// inbox already puts the oldest reports of each urgency first, and urgency
// stays what the survivor's answers made it.
//
// What this package must never do: purge anything a rule does not name, or
// purge without the audit entry (the store refuses both).
package retention

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/salama-ke/salama/internal/audit"
	"github.com/salama-ke/salama/internal/store"
)

// Day is the unit policies are configured in.
const Day = 24 * time.Hour

// Policy is how long reports are kept. A zero duration switches its rule off.
type Policy struct {
	// RetainClosed: a closed report is purged once this long has passed
	// without activity on it (a change of its case, a message, a note, a
	// referral step).
	RetainClosed time.Duration
	// EscalateUnopened: a report nobody in the receiving organisation has
	// opened this long after it arrived is escalated.
	EscalateUnopened time.Duration
	// PurgeUnopened: a report nobody has opened this long after it arrived
	// is purged. With escalation on, only once it has been escalated for
	// at least PurgeUnopened − EscalateUnopened, so that the network always
	// has that long to act on the escalation (even after downtime).
	PurgeUnopened time.Duration
}

// DefaultPolicy keeps closed reports a year after their last activity,
// escalates reports nobody opened within three days, and purges them at 90.
var DefaultPolicy = Policy{RetainClosed: 365 * Day, EscalateUnopened: 3 * Day, PurgeUnopened: 90 * Day}

// ErrPolicy means a policy does not make sense.
var ErrPolicy = errors.New("retention: invalid policy")

// Validate checks that durations are whole days or more and that unopened
// reports are escalated before they are purged.
func (p Policy) Validate() error {
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"retain-closed", p.RetainClosed}, {"escalate-unopened", p.EscalateUnopened}, {"purge-unopened", p.PurgeUnopened}} {
		if d.v < 0 || (d.v > 0 && d.v < Day) {
			return fmt.Errorf("%w: %s must be 0 (off) or at least one day", ErrPolicy, d.name)
		}
	}
	if p.PurgeUnopened > 0 && p.EscalateUnopened > 0 && p.PurgeUnopened <= p.EscalateUnopened {
		return fmt.Errorf("%w: unopened reports must be escalated (after %d days) before they are purged (after %d days)",
			ErrPolicy, p.EscalateUnopened/Day, p.PurgeUnopened/Day)
	}
	return nil
}

// String describes the policy for people.
func (p Policy) String() string {
	days := func(d time.Duration) string {
		if d == 0 {
			return "never"
		}
		return fmt.Sprintf("after %d days", d/Day)
	}
	return fmt.Sprintf("closed reports purged %s without activity; reports nobody opened escalated %s, purged %s",
		days(p.RetainClosed), days(p.EscalateUnopened), days(p.PurgeUnopened))
}

// Rules turns the policy into the moments a run at now compares against.
func (p Policy) Rules(now time.Time) store.RetentionRules {
	var r store.RetentionRules
	if p.RetainClosed > 0 {
		r.ClosedQuietSince = now.Add(-p.RetainClosed)
	}
	if p.EscalateUnopened > 0 {
		r.EscalateCreatedBefore = now.Add(-p.EscalateUnopened)
	}
	if p.PurgeUnopened > 0 {
		r.PurgeUnopenedCreatedBefore = now.Add(-p.PurgeUnopened)
		if p.EscalateUnopened > 0 {
			r.PurgeUnopenedEscalatedBefore = now.Add(-(p.PurgeUnopened - p.EscalateUnopened))
		}
	}
	return r
}

// Config wires a Service.
type Config struct {
	Store  *store.Store
	Audit  *audit.Log // nil only for Plan: Run refuses to purge unaudited
	Policy Policy
	Now    func() time.Time
	Logger *slog.Logger
}

// Service applies a retention policy.
type Service struct {
	st     *store.Store
	audit  *audit.Log
	policy Policy
	now    func() time.Time
	log    *slog.Logger
}

// New returns a Service. It returns ErrPolicy for an invalid policy.
func New(c Config) (*Service, error) {
	if err := c.Policy.Validate(); err != nil {
		return nil, err
	}
	if c.Store == nil {
		return nil, errors.New("retention: no store")
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return &Service{st: c.Store, audit: c.Audit, policy: c.Policy, now: c.Now, log: c.Logger}, nil
}

// Policy returns the policy the service applies.
func (s *Service) Policy() Policy { return s.policy }

// Actions on a report.
const (
	Escalate = "escalate"
	Purge    = "purge"
)

// Item is one thing a run would do, or did.
type Item struct {
	store.RetentionCandidate
	Action string        // Escalate or Purge
	Age    time.Duration // since the report arrived
	Quiet  time.Duration // since its last activity
	Why    string        // for people, e.g. "closed, no activity for 400 days (policy: 365)"
}

// Plan is what a run would do now.
type Plan struct {
	At       time.Time
	Policy   Policy
	Escalate []Item
	Purge    []Item
}

// planLimit bounds one listing; a dry run over more lists the first ones.
const planLimit = 100_000

// Plan lists what a run would do now, changing nothing: reports to
// escalate, then reports to purge, oldest first. Reports that are due for
// escalation now are not yet escalated, so none of them is listed for
// purging too.
func (s *Service) Plan(ctx context.Context) (*Plan, error) {
	now := s.now().UTC()
	rules := s.policy.Rules(now)
	p := &Plan{At: now, Policy: s.policy}
	esc, err := s.st.DueForEscalation(ctx, rules, planLimit)
	if err != nil {
		return nil, err
	}
	for _, c := range esc {
		p.Escalate = append(p.Escalate, s.item(c, Escalate, now))
	}
	for _, reason := range []string{store.PurgeClosed, store.PurgeUnopened} {
		cs, err := s.st.DueForPurge(ctx, rules, reason, planLimit)
		if err != nil {
			return nil, err
		}
		for _, c := range cs {
			p.Purge = append(p.Purge, s.item(c, Purge, now))
		}
	}
	return p, nil
}

func (s *Service) item(c store.RetentionCandidate, action string, now time.Time) Item {
	it := Item{RetentionCandidate: c, Action: action, Age: now.Sub(c.CreatedAt), Quiet: now.Sub(c.LastActivity)}
	days := func(d time.Duration) int64 { return int64(d / Day) }
	switch {
	case action == Escalate:
		it.Why = fmt.Sprintf("nobody opened it in %d days (policy: escalate after %d)", days(it.Age), days(s.policy.EscalateUnopened))
	case c.Reason == store.PurgeClosed:
		it.Why = fmt.Sprintf("closed, no activity for %d days (policy: %d)", days(it.Quiet), days(s.policy.RetainClosed))
	default:
		it.Why = fmt.Sprintf("nobody opened it in %d days (policy: purge after %d)", days(it.Age), days(s.policy.PurgeUnopened))
	}
	return it
}

// Result says what a run did.
type Result struct {
	Escalated []Item
	Purged    []Item
}

// batch is how many candidates a run reads at a time; each is then handled
// in its own short transaction, so a backlog never holds the writer long.
const batch = 200

// Run escalates and purges everything due now. Each purge re-checks its
// rule inside its transaction (a caseworker may have reopened the case since
// it was listed) and commits with its audit entry. On SQLite the
// write-ahead log is checkpointed afterwards, so purged pages leave the disk.
// It stops at the first error, keeping what it did.
func (s *Service) Run(ctx context.Context) (*Result, error) {
	if s.audit == nil {
		return nil, errors.New("retention: Run needs the audit log")
	}
	res := &Result{}
	err := s.run(ctx, res)
	if len(res.Purged) > 0 {
		if cerr := s.st.Checkpoint(ctx); cerr != nil && ctx.Err() == nil {
			// The purge is committed; the periodic checkpoint finishes it.
			s.log.Warn("retention: checkpoint after purge", "err", cerr)
		}
	}
	return res, err
}

func (s *Service) run(ctx context.Context, res *Result) error {
	now := s.now().UTC()
	rules := s.policy.Rules(now)

	seen := map[string]bool{}
	err := drain(seen, func() ([]store.RetentionCandidate, error) { return s.st.DueForEscalation(ctx, rules, batch) },
		func(c store.RetentionCandidate) error {
			rec, err := s.audit.Prepare(audit.Event{Actor: audit.ActorSystem, OrgID: c.OrgID, Action: audit.ReportEscalated, ReportID: c.ReportID, Detail: "reason=unopened"})
			if err != nil {
				return err
			}
			ok, err := s.st.EscalateReport(ctx, c.ReportID, rules, now, rec)
			if err != nil {
				return err
			}
			if ok {
				it := s.item(c, Escalate, now)
				res.Escalated = append(res.Escalated, it)
				s.log.Warn("retention: report escalated: nobody in its organisation has opened it",
					"org", c.OrgID, "case", c.CaseRef, "age_days", int64(it.Age/Day))
			}
			return nil
		})
	if err != nil {
		return err
	}

	for _, reason := range []string{store.PurgeClosed, store.PurgeUnopened} {
		err := drain(seen, func() ([]store.RetentionCandidate, error) { return s.st.DueForPurge(ctx, rules, reason, batch) },
			func(c store.RetentionCandidate) error {
				rec, err := s.audit.Prepare(audit.Event{Actor: audit.ActorSystem, OrgID: c.OrgID, Action: audit.ReportPurged, ReportID: c.ReportID, Detail: "reason=" + reason})
				if err != nil {
					return err
				}
				ok, err := s.st.PurgeReport(ctx, c.ReportID, rules, reason, now, rec)
				if err != nil {
					return err
				}
				if ok {
					res.Purged = append(res.Purged, s.item(c, Purge, now))
					s.log.Info("retention: report purged", "org", c.OrgID, "case", c.CaseRef, "reason", reason)
				}
				return nil
			})
		if err != nil {
			return err
		}
	}
	return nil
}

// drain calls act with each report that due lists, a batch at a time,
// until a batch is short or brings no report not seen before (a report
// acted on without effect comes back, and must not keep the run going).
// seen is shared by the passes of a run, so each report is acted on at
// most once a run.
func drain(seen map[string]bool, due func() ([]store.RetentionCandidate, error), act func(store.RetentionCandidate) error) error {
	for {
		cs, err := due()
		if err != nil {
			return err
		}
		progress := 0
		for _, c := range cs {
			if seen[c.ReportID] {
				continue
			}
			seen[c.ReportID] = true
			progress++
			if err := act(c); err != nil {
				return err
			}
		}
		if len(cs) < batch || progress == 0 {
			return nil
		}
	}
}
