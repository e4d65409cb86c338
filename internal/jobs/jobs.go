// Package jobs runs Salama's background work — retention, escalation of
// unopened reports, session expiry, notifications — as durable jobs in the
// database (SPEC §7): a job survives restarts, and runs once however many
// instances are running.
//
// How: every job is a row. A worker claims a due row by leasing it for a
// while (store.ClaimJob; FOR UPDATE SKIP LOCKED on PostgreSQL, the single
// writer on SQLite), keeps the lease alive while the handler runs, and then
// marks the row done, schedules it again (periodic jobs), or records the
// error and retries it later with exponential back-off. A worker that dies
// leaves a lease that runs out; another worker then takes the job over. A
// worker that only stalled and lost its lease can no longer finish the job:
// every update names the claim's token.
//
// That is "at least once", and "exactly once" whenever a handler finishes
// within its lease, which the heartbeat keeps extending. Handlers must still
// be idempotent, because a machine can die after the work and before the
// row says so; Salama's are (a purged report is not purged twice, a
// notification carries a unique key).
//
// What this package must never do: put what a survivor typed, a receipt or a
// phone number in a payload, an error or a log line. Payloads and errors are
// stored in clear and go into backups: a payload names things by id, and a
// value a job must carry (the number a queued SMS goes to) is sealed with
// seal.NetworkSecret.Seal by whoever enqueues it. A one-off job's payload is
// erased when the job ends, done or failed (store.FinishJob, FailJob).
package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	mrand "math/rand/v2"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/salama-ke/salama/internal/store"
)

// Job is a claimed job, as a handler sees it.
type Job struct {
	ID        string
	Kind      string
	Payload   []byte
	Attempt   int       // 1 for the first run
	RunAt     time.Time // when it was due
	CreatedAt time.Time // when it was enqueued
}

// Handler does a job's work. A nil error finishes the job; an error retries
// it later, unless it wraps Permanent. ctx ends when the worker shuts down
// or loses the lease: a handler that returns ctx.Err() then is run again
// later, from the start.
type Handler func(ctx context.Context, j *Job) error

// Permanent marks an error that retrying cannot fix (a payload that does not
// parse, say): the job fails at once.
func Permanent(err error) error { return permanent{err} }

type permanent struct{ error }

func (p permanent) Unwrap() error { return p.error }

// Policy is how one kind of one-off job is retried and given up on, when
// the queue's defaults (Config) do not fit: messages to people, say, which
// are retried quickly at first and given up on after a stated time rather
// than a number of attempts. Zero fields take the queue's values.
type Policy struct {
	// BaseBackoff and MaxBackoff: the wait after the nth failed attempt is
	// BaseBackoff·2ⁿ⁻¹ with ±20% jitter, at most MaxBackoff.
	BaseBackoff, MaxBackoff time.Duration
	// MaxAttempts before the job fails for good.
	MaxAttempts int
	// GiveUpAfter: a job that fails when this long has passed since it was
	// enqueued fails for good. Retries are scheduled no later than that
	// moment, so the last attempt is made at it. A job first claimed after
	// the moment (the server was down) is still tried once.
	GiveUpAfter time.Duration
	// OnFail, if set, runs once when a job of the kind fails for good (its
	// row then says failed, with the error), so that whatever shows the
	// job's outcome to people can say so. reason is the error's text.
	OnFail func(ctx context.Context, j *Job, reason string)
}

// Config tunes a Queue. Zero values take the defaults.
type Config struct {
	Store  *store.Store
	Logger *slog.Logger
	Now    func() time.Time
	// Worker names this process in leases; default host-pid-random.
	Worker string
	// Lease is how long a claim lasts without a heartbeat (default 2
	// minutes). A job whose worker died is taken over after at most this.
	Lease time.Duration
	// Poll bounds how long an idle worker sleeps before looking again for
	// jobs another instance enqueued (default 2 s).
	Poll time.Duration
	// Concurrency is how many jobs run at once in this process (default 2).
	Concurrency int
	// MaxAttempts before a one-off job fails for good (default 10).
	// Periodic jobs never give up: they try again at their next period.
	MaxAttempts int
	// Backoff after the nth failed attempt: BaseBackoff·2ⁿ⁻¹ with ±20%
	// jitter, at most MaxBackoff (defaults 30 s and 1 h).
	BaseBackoff, MaxBackoff time.Duration
	// MaxClaimBackoff caps how long the worker waits between attempts to
	// claim a job while claiming fails (a read-only or unreachable
	// database): Poll·2ⁿ⁻¹ after the nth failure in a row, with ±20%
	// jitter, at most this (default 1 minute).
	MaxClaimBackoff time.Duration
}

// Queue is the registry of handlers and the worker that runs them.
type Queue struct {
	cfg      Config
	st       *store.Store
	log      *slog.Logger
	mu       sync.Mutex
	handlers map[string]Handler
	policies map[string]Policy
	periodic map[string]time.Duration
	running  bool
	kick     chan struct{}
	// claimFailures counts claims that failed in a row, across the
	// worker's goroutines; failingSince is when the first of them failed.
	claimFailures int
	failingSince  time.Time
}

// New returns a queue over cfg.Store. Register handlers with Handle and
// Every, then start the worker with Run.
func New(cfg Config) *Queue {
	if cfg.Store == nil {
		panic("jobs: New needs a store")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Worker == "" {
		cfg.Worker = defaultWorkerName()
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 2 * time.Minute
	}
	if cfg.Lease < 3*time.Second {
		cfg.Lease = 3 * time.Second // leases are stored in whole seconds
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 2 * time.Second
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 2
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 10
	}
	if cfg.BaseBackoff <= 0 {
		cfg.BaseBackoff = 30 * time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = time.Hour
	}
	if cfg.MaxClaimBackoff <= 0 {
		cfg.MaxClaimBackoff = time.Minute
	}
	return &Queue{cfg: cfg, st: cfg.Store, log: cfg.Logger, handlers: map[string]Handler{}, policies: map[string]Policy{},
		periodic: map[string]time.Duration{}, kick: make(chan struct{}, 1)}
}

// Handle registers the handler of a kind of one-off job. Kinds are short
// dotted names ("sms.nudge"). Register before Run; a kind registered twice
// panics.
func (q *Queue) Handle(kind string, h Handler) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if kind == "" || h == nil {
		panic("jobs: Handle needs a kind and a handler")
	}
	if _, dup := q.handlers[kind]; dup {
		panic("jobs: kind registered twice: " + kind)
	}
	if q.running {
		panic("jobs: Handle after Run")
	}
	q.handlers[kind] = h
}

// HandleWith registers the handler of a kind of one-off job with its own
// retry policy.
func (q *Queue) HandleWith(kind string, h Handler, p Policy) {
	q.Handle(kind, h)
	q.mu.Lock()
	q.policies[kind] = p
	q.mu.Unlock()
}

// policy is kind's policy with the queue's defaults filled in.
func (q *Queue) policy(kind string) Policy {
	q.mu.Lock()
	p := q.policies[kind]
	q.mu.Unlock()
	if p.BaseBackoff <= 0 {
		p.BaseBackoff = q.cfg.BaseBackoff
	}
	if p.MaxBackoff <= 0 {
		p.MaxBackoff = q.cfg.MaxBackoff
	}
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = q.cfg.MaxAttempts
	}
	return p
}

// Every registers a periodic job: h runs about every interval, on one
// instance at a time, first as soon as the worker starts if no instance ran
// it within the interval.
func (q *Queue) Every(kind string, interval time.Duration, h Handler) {
	if interval < time.Second {
		panic("jobs: Every needs an interval of at least a second")
	}
	q.Handle(kind, h)
	q.mu.Lock()
	q.periodic[kind] = interval
	q.mu.Unlock()
}

// Kinds lists the registered kinds, sorted.
func (q *Queue) Kinds() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	kinds := make([]string, 0, len(q.handlers))
	for k := range q.handlers {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	return kinds
}

// Enqueue adds a one-off job of kind, due at runAt (now or earlier: as soon
// as a worker is free). With a uniqueKey the job is added at most once: a
// second Enqueue with the key — while the first waits, runs, or for a week
// after it finished — does nothing and returns nil. The payload is stored in
// clear and must be valid UTF-8 (JSON, say); it names things by id, never by
// content (see the package documentation).
//
// Enqueue works from any process on the database, with or without a worker
// for that kind; the job waits until a worker that handles it runs.
func (q *Queue) Enqueue(ctx context.Context, kind string, payload []byte, runAt time.Time, uniqueKey string) error {
	if _, err := q.st.EnqueueJob(ctx, store.NewJob{Kind: kind, Payload: payload, RunAt: runAt, UniqueKey: uniqueKey}, q.cfg.Now()); err != nil {
		return fmt.Errorf("jobs: enqueue %s: %w", kind, err)
	}
	if !runAt.After(q.cfg.Now()) {
		select {
		case q.kick <- struct{}{}:
		default:
		}
	}
	return nil
}

// Run schedules the periodic jobs and works until ctx ends, then waits for
// the jobs in hand to stop (their context is cancelled) and hands back any
// that did not finish. It returns ctx's error, or an error if the periodic
// jobs could not be scheduled.
func (q *Queue) Run(ctx context.Context) error {
	if err := q.start(ctx); err != nil {
		return err
	}
	var wg sync.WaitGroup
	for range q.cfg.Concurrency {
		wg.Go(func() { q.loop(ctx) })
	}
	wg.Wait()
	return ctx.Err()
}

// RunDue schedules the periodic jobs, then runs every job that is due now,
// one after the other, and returns how many it ran. It is for tests and
// for commands that want the work done before they exit.
func (q *Queue) RunDue(ctx context.Context) (int, error) {
	if err := q.start(ctx); err != nil {
		return 0, err
	}
	n := 0
	for {
		ran, err := q.runOne(ctx)
		if err != nil || !ran {
			return n, err
		}
		n++
	}
}

func (q *Queue) start(ctx context.Context) error {
	q.mu.Lock()
	q.running = true
	periodic := make(map[string]time.Duration, len(q.periodic))
	for k, v := range q.periodic {
		periodic[k] = v
	}
	q.mu.Unlock()
	for kind, every := range periodic {
		if err := q.st.EnsurePeriodicJob(ctx, kind, every, q.cfg.Now()); err != nil {
			return fmt.Errorf("jobs: %w", err)
		}
	}
	return nil
}

// loop claims and runs jobs until ctx ends, sleeping while none is due,
// and backing off while claiming fails.
func (q *Queue) loop(ctx context.Context) {
	for ctx.Err() == nil {
		ran, err := q.runOne(ctx)
		wait := q.cfg.Poll
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			wait = q.claimFailed(err)
		default:
			q.claimSucceeded()
		}
		if ran {
			continue
		}
		if err == nil {
			if at, ok, err := q.st.NextJobAt(ctx, q.Kinds()); err == nil && ok {
				wait = min(wait, max(at.Sub(q.cfg.Now()), 0)+10*time.Millisecond)
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-q.kick:
		case <-t.C:
		}
		t.Stop()
	}
}

// claimFailed records a failed claim and returns how long to wait before
// the next. A database that turned read-only (a failover, a full disk) or
// went away fails every claim: the worker then tries again less and less
// often, up to MaxClaimBackoff, and says so once, not at every attempt.
func (q *Queue) claimFailed(err error) time.Duration {
	q.mu.Lock()
	q.claimFailures++
	n := q.claimFailures
	if n == 1 {
		q.failingSince = q.cfg.Now()
	}
	q.mu.Unlock()
	d := float64(q.cfg.Poll) * math.Pow(2, float64(min(n-1, 30)))
	d = min(d, float64(q.cfg.MaxClaimBackoff))
	d *= 0.8 + 0.4*mrand.Float64()
	wait := max(time.Duration(d), time.Millisecond)
	if n == 1 {
		q.log.Error("jobs: cannot claim jobs; backing off until the database takes writes again", "err", err, "max_wait", q.cfg.MaxClaimBackoff)
	} else {
		q.log.Debug("jobs: claim failed again", "err", err, "failures", n, "retry_in", wait.Round(time.Millisecond))
	}
	return wait
}

// claimSucceeded ends a run of failed claims, saying so once.
func (q *Queue) claimSucceeded() {
	q.mu.Lock()
	n, since := q.claimFailures, q.failingSince
	q.claimFailures = 0
	q.mu.Unlock()
	if n > 0 {
		q.log.Info("jobs: claiming jobs again", "failed_claims", n, "down_for", q.cfg.Now().Sub(since).Round(time.Second))
	}
}

// runOne claims one due job and runs it. It reports whether there was one.
func (q *Queue) runOne(ctx context.Context) (bool, error) {
	if ctx.Err() != nil {
		return false, nil
	}
	kinds := q.Kinds()
	sj, err := q.st.ClaimJob(ctx, q.cfg.Worker, kinds, q.cfg.Now(), q.cfg.Lease)
	if err != nil || sj == nil {
		return false, err
	}
	q.mu.Lock()
	h := q.handlers[sj.Kind]
	q.mu.Unlock()
	log := q.log.With("job", sj.ID, "kind", sj.Kind, "attempt", sj.Attempts)
	pol := q.policy(sj.Kind)

	// A job whose workers keep dying mid-run (leases ran out) has used up
	// its attempts without ever returning an error.
	if sj.Every == 0 && sj.Attempts > pol.MaxAttempts {
		const why = "gave up after its leases ran out repeatedly"
		log.Error("jobs: giving up", "reason", "attempts exhausted")
		if err := q.st.FailJob(context.WithoutCancel(ctx), sj, why, q.cfg.Now()); err != nil && !errors.Is(err, store.ErrLeaseLost) {
			return true, err
		} else if err == nil {
			q.failed(ctx, pol, sj, why)
		}
		return true, nil
	}

	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	hbDone := make(chan struct{})
	go func() {
		defer close(hbDone)
		q.heartbeat(runCtx, cancel, sj)
	}()
	start := time.Now()
	herr := q.call(runCtx, h, sj)
	cancel(nil)
	<-hbDone
	q.settle(ctx, log, pol, sj, herr, context.Cause(runCtx), time.Since(start))
	return true, nil
}

// failed tells the kind's OnFail that a job failed for good.
func (q *Queue) failed(ctx context.Context, pol Policy, sj *store.Job, reason string) {
	if pol.OnFail == nil {
		return
	}
	defer func() {
		if r := recover(); r != nil {
			q.log.Error("jobs: OnFail panicked", "job", sj.ID, "kind", sj.Kind, "panic", fmt.Sprint(r))
		}
	}()
	pol.OnFail(context.WithoutCancel(ctx), toJob(sj), reason)
}

func toJob(sj *store.Job) *Job {
	return &Job{ID: sj.ID, Kind: sj.Kind, Payload: sj.Payload, Attempt: sj.Attempts, RunAt: sj.RunAt, CreatedAt: sj.CreatedAt}
}

// call runs h, turning a panic into an error so that one bad job cannot take
// the worker down.
func (q *Queue) call(ctx context.Context, h Handler, sj *store.Job) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("jobs: handler panicked: %v", r)
		}
	}()
	return h(ctx, toJob(sj))
}

var errLeaseLost = errors.New("jobs: lease lost")

// heartbeat extends the lease every third of its length until ctx ends. If
// the lease was lost, it cancels the handler.
func (q *Queue) heartbeat(ctx context.Context, cancel context.CancelCauseFunc, sj *store.Job) {
	t := time.NewTicker(q.cfg.Lease / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			now := q.cfg.Now()
			err := q.st.ExtendJobLease(ctx, sj, now.Add(q.cfg.Lease), now)
			if errors.Is(err, store.ErrLeaseLost) {
				cancel(errLeaseLost)
				return
			}
			if err != nil && ctx.Err() == nil {
				q.log.Warn("jobs: extend lease", "job", sj.ID, "kind", sj.Kind, "err", err)
			}
		}
	}
}

// settle records how a run ended.
func (q *Queue) settle(ctx context.Context, log *slog.Logger, pol Policy, sj *store.Job, herr, cause error, took time.Duration) {
	// The row must be updated even while shutting down.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	now := q.cfg.Now()
	var err error
	switch {
	case errors.Is(cause, errLeaseLost):
		log.Warn("jobs: lease lost; another worker has the job")
		return
	case herr == nil:
		log.Debug("jobs: done", "took", took.Round(time.Millisecond))
		err = q.st.FinishJob(wctx, sj, now)
	case ctx.Err() != nil:
		// Shutting down: hand the job back for whoever runs next.
		log.Info("jobs: interrupted by shutdown; released")
		err = q.st.ReleaseJob(wctx, sj, now)
	case errors.As(herr, new(permanent)) && sj.Every == 0:
		log.Error("jobs: failed for good", "err", herr)
		if err = q.st.FailJob(wctx, sj, herr.Error(), now); err == nil {
			q.failed(wctx, pol, sj, herr.Error())
		}
	case sj.Every == 0 && sj.Attempts >= pol.MaxAttempts:
		log.Error("jobs: failed for good", "err", herr, "reason", "attempts exhausted")
		if err = q.st.FailJob(wctx, sj, herr.Error(), now); err == nil {
			q.failed(wctx, pol, sj, herr.Error())
		}
	case sj.Every == 0 && pol.GiveUpAfter > 0 && !now.Before(sj.CreatedAt.Add(pol.GiveUpAfter)):
		log.Error("jobs: failed for good", "err", herr, "reason", "out of time", "gave_up_after", pol.GiveUpAfter)
		if err = q.st.FailJob(wctx, sj, herr.Error(), now); err == nil {
			q.failed(wctx, pol, sj, herr.Error())
		}
	default:
		delay := backoff(pol, sj.Attempts)
		if sj.Every > 0 {
			delay = min(delay, sj.Every)
		}
		at := now.Add(delay)
		if deadline := sj.CreatedAt.Add(pol.GiveUpAfter); sj.Every == 0 && pol.GiveUpAfter > 0 && at.After(deadline) {
			at = deadline // the last attempt is made when the time is up
		}
		log.Error("jobs: failed; will retry", "err", herr, "retry_in", at.Sub(now).Round(time.Second))
		err = q.st.RetryJob(wctx, sj, herr.Error(), at, now)
	}
	if errors.Is(err, store.ErrLeaseLost) {
		log.Warn("jobs: lease lost before the job could be settled")
	} else if err != nil {
		log.Error("jobs: record outcome", "err", err)
	}
}

// backoff is the wait after the nth failed attempt.
func backoff(p Policy, attempt int) time.Duration {
	d := float64(p.BaseBackoff) * math.Pow(2, float64(max(attempt-1, 0)))
	d = min(d, float64(p.MaxBackoff))
	d *= 0.8 + 0.4*mrand.Float64()
	return max(time.Duration(d), time.Second)
}

func defaultWorkerName() string {
	host, _ := os.Hostname()
	if host == "" {
		host = "salama"
	}
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
}
