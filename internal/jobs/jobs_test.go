package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/salama-ke/salama/internal/jobs"
	"github.com/salama-ke/salama/internal/store"
	"github.com/salama-ke/salama/internal/store/storetest"
	"github.com/salama-ke/salama/internal/testkit"
)

func newClock() *testkit.Clock { return testkit.NewClock(time.Unix(1_800_000_000, 0).UTC()) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func newQueue(s *store.Store, c *testkit.Clock, worker string) *jobs.Queue {
	cfg := jobs.Config{Store: s, Logger: quiet, Worker: worker, Poll: 20 * time.Millisecond, Lease: time.Minute}
	if c != nil {
		cfg.Now = c.Now
	}
	return jobs.New(cfg)
}

// TestExactlyOnceTwoWorkers runs two instances (two stores over one
// database, each with its own worker of four goroutines) against a queue of
// jobs; each job runs exactly once.
func TestExactlyOnceTwoWorkers(t *testing.T) {
	t.Parallel()
	storetest.EachDB(t, func(t *testing.T, db storetest.DB) {
		const n = 60
		var mu sync.Mutex
		runs := map[string]int{}
		var done atomic.Int32
		all := make(chan struct{})
		handler := func(_ context.Context, j *jobs.Job) error {
			mu.Lock()
			runs[string(j.Payload)]++
			mu.Unlock()
			if done.Add(1) == n {
				close(all)
			}
			return nil
		}
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		var queues []*jobs.Queue
		for i := range 2 {
			q := jobs.New(jobs.Config{Store: db.Open(t), Logger: quiet, Worker: fmt.Sprint("instance", i), Poll: 10 * time.Millisecond, Concurrency: 4})
			q.Handle("count", handler)
			queues = append(queues, q)
		}
		for i := range n {
			if err := queues[i%2].Enqueue(ctx, "count", []byte(fmt.Sprint(i)), time.Now(), ""); err != nil {
				t.Fatal(err)
			}
		}
		runCtx, stop := context.WithCancel(ctx)
		var wg sync.WaitGroup
		for _, q := range queues {
			wg.Go(func() { q.Run(runCtx) })
		}
		select {
		case <-all:
		case <-ctx.Done():
			t.Error("timed out")
		}
		// Give a double run the chance to happen before counting.
		time.Sleep(100 * time.Millisecond)
		stop()
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		if len(runs) != n {
			t.Errorf("%d distinct jobs ran, want %d", len(runs), n)
		}
		for p, c := range runs {
			if c != 1 {
				t.Errorf("job %s ran %d times", p, c)
			}
		}
	})
}

// TestDeadWorkerRetried: a job claimed by a worker that then died is run by
// another once the lease has run out, and not before.
func TestDeadWorkerRetried(t *testing.T) {
	t.Parallel()
	storetest.EachDB(t, func(t *testing.T, db storetest.DB) {
		ctx := t.Context()
		c := newClock()
		dead := db.Open(t)
		if _, err := dead.EnqueueJob(ctx, store.NewJob{Kind: "work", RunAt: c.Now()}, c.Now()); err != nil {
			t.Fatal(err)
		}
		if j, err := dead.ClaimJob(ctx, "dead-worker", []string{"work"}, c.Now(), time.Minute); err != nil || j == nil {
			t.Fatalf("claim: %v %v", j, err)
		}
		dead.Close() // the process is gone

		q := newQueue(db.Open(t), c, "survivor")
		var ran []int
		q.Handle("work", func(_ context.Context, j *jobs.Job) error {
			ran = append(ran, j.Attempt)
			return nil
		})
		if n, err := q.RunDue(ctx); err != nil || n != 0 {
			t.Fatalf("RunDue during the dead worker's lease: %d, %v", n, err)
		}
		c.Add(time.Minute)
		if n, err := q.RunDue(ctx); err != nil || n != 1 {
			t.Fatalf("RunDue after the lease: %d, %v", n, err)
		}
		if len(ran) != 1 || ran[0] != 2 {
			t.Errorf("runs %v, want one, as attempt 2", ran)
		}
	})
}

// TestJobsSurviveRestart: jobs enqueued, and a periodic schedule, outlive
// the process that made them.
func TestJobsSurviveRestart(t *testing.T) {
	t.Parallel()
	storetest.EachDB(t, func(t *testing.T, db storetest.DB) {
		ctx := t.Context()
		c := newClock()
		first := db.Open(t)
		q := newQueue(first, c, "first")
		ticks := 0
		q.Every("tick", time.Hour, func(context.Context, *jobs.Job) error { ticks++; return nil })
		q.Handle("later", func(context.Context, *jobs.Job) error { t.Error("ran before its time"); return nil })
		if err := q.Enqueue(ctx, "later", []byte(`{"n":1}`), c.Now().Add(10*time.Minute), "later:1"); err != nil {
			t.Fatal(err)
		}
		if n, err := q.RunDue(ctx); err != nil || n != 1 || ticks != 1 {
			t.Fatalf("first run: %d jobs, %d ticks, %v", n, ticks, err)
		}
		first.Close()

		c.Add(30 * time.Minute)
		q2 := newQueue(db.Open(t), c, "second")
		var payloads []string
		ticks2 := 0
		q2.Every("tick", time.Hour, func(context.Context, *jobs.Job) error { ticks2++; return nil })
		q2.Handle("later", func(_ context.Context, j *jobs.Job) error { payloads = append(payloads, string(j.Payload)); return nil })
		if err := q2.Enqueue(ctx, "later", []byte(`{"n":2}`), c.Now(), "later:1"); err != nil {
			t.Fatal(err) // a duplicate key is not an error
		}
		if n, err := q2.RunDue(ctx); err != nil || n != 1 {
			t.Fatalf("after restart: %d, %v", n, err)
		}
		if len(payloads) != 1 || payloads[0] != `{"n":1}` {
			t.Errorf("payloads %q: want the job from before the restart, once", payloads)
		}
		if ticks2 != 0 {
			t.Error("the periodic job ran again within its hour because of a restart")
		}
		c.Add(31 * time.Minute)
		if n, _ := q2.RunDue(ctx); n != 1 || ticks2 != 1 {
			t.Errorf("after its hour: %d jobs, %d ticks", n, ticks2)
		}
	})
}

func TestRetryAndGiveUp(t *testing.T) {
	t.Parallel()
	s := storetest.Open(t, store.SQLite)
	ctx := t.Context()
	c := newClock()
	q := jobs.New(jobs.Config{Store: s, Logger: quiet, Now: c.Now, MaxAttempts: 3, BaseBackoff: time.Minute, MaxBackoff: time.Hour})
	attempts := 0
	q.Handle("flaky", func(_ context.Context, j *jobs.Job) error {
		attempts++
		if j.Attempt != attempts {
			t.Errorf("Attempt %d on run %d", j.Attempt, attempts)
		}
		return errors.New("remote said no")
	})
	q.Handle("bad", func(context.Context, *jobs.Job) error { return jobs.Permanent(errors.New("payload does not parse")) })
	q.Handle("panics", func(context.Context, *jobs.Job) error { panic("bug") })
	for _, k := range []string{"flaky", "bad", "panics"} {
		if err := q.Enqueue(ctx, k, nil, c.Now(), k); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := q.RunDue(ctx); err != nil || n != 3 {
		t.Fatalf("RunDue = %d, %v", n, err)
	}
	if n, _ := q.RunDue(ctx); n != 0 {
		t.Fatalf("a failed job ran again before its back-off: %d", n)
	}
	// Back-off: about 1 min, then 2 min (±20%).
	c.Add(75 * time.Second)
	if n, _ := q.RunDue(ctx); n != 2 { // flaky and panics
		t.Fatalf("after the first back-off %d ran, want 2", n)
	}
	c.Add(150 * time.Second)
	q.RunDue(ctx)
	if attempts != 3 {
		t.Fatalf("%d attempts, want 3", attempts)
	}
	c.Add(24 * time.Hour)
	if n, _ := q.RunDue(ctx); n != 0 {
		t.Errorf("%d jobs ran after their attempts were used up", n)
	}
	for key, want := range map[string]string{"flaky": "remote said no", "bad": "payload does not parse", "panics": "jobs: handler panicked: bug"} {
		j, err := s.JobByKey(ctx, key)
		if err != nil || j.State != store.JobFailed || j.LastError != want {
			t.Errorf("%s: %+v %v; want failed with %q", key, j, err, want)
		}
	}
	if j, _ := s.JobByKey(ctx, "bad"); j.Attempts != 1 {
		t.Errorf("a permanent failure was retried: %d attempts", j.Attempts)
	}
}

// TestPeriodicFailureRetriesWithinPeriod: a periodic job never gives up, and
// a failure is retried no later than its next period.
func TestPeriodicFailureRetriesWithinPeriod(t *testing.T) {
	t.Parallel()
	s := storetest.Open(t, store.SQLite)
	ctx := t.Context()
	c := newClock()
	q := jobs.New(jobs.Config{Store: s, Logger: quiet, Now: c.Now, MaxAttempts: 1, BaseBackoff: time.Hour})
	fail := true
	q.Every("sweep", 5*time.Minute, func(context.Context, *jobs.Job) error {
		if fail {
			return errors.New("database busy")
		}
		return nil
	})
	for range 3 {
		if n, _ := q.RunDue(ctx); n != 1 {
			t.Fatal("the periodic job did not run")
		}
		c.Add(5 * time.Minute)
	}
	fail = false
	if n, _ := q.RunDue(ctx); n != 1 {
		t.Fatal("did not run after failures")
	}
	j, _ := s.JobByKey(ctx, store.PeriodicJobKey("sweep"))
	if j.State != store.JobPending || j.Attempts != 0 || j.LastError != "" || !j.RunAt.Equal(c.Now().Add(5*time.Minute)) {
		t.Errorf("after success: %+v", j)
	}
}

// TestShutdownReleases: a job interrupted by shutdown goes back to the
// queue without counting the attempt, and runs again at the next start.
func TestShutdownReleases(t *testing.T) {
	t.Parallel()
	storetest.EachDB(t, func(t *testing.T, db storetest.DB) {
		s := db.Open(t)
		q := newQueue(s, nil, "w")
		started := make(chan struct{})
		q.Handle("long", func(ctx context.Context, _ *jobs.Job) error {
			close(started)
			<-ctx.Done()
			return ctx.Err()
		})
		if err := q.Enqueue(t.Context(), "long", nil, time.Now(), "long"); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		errc := make(chan error)
		go func() { errc <- q.Run(ctx) }()
		select {
		case <-started:
		case <-time.After(30 * time.Second):
			t.Fatal("job did not start")
		}
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Errorf("Run returned %v", err)
		}
		j, err := s.JobByKey(t.Context(), "long")
		if err != nil || j.State != store.JobPending || j.Attempts != 0 || j.LeasedBy != "" {
			t.Errorf("after shutdown: %+v %v", j, err)
		}
	})
}

// TestLostLeaseCancelsHandler: when another worker takes a job over (this
// one stalled past its lease), the heartbeat notices and the handler's
// context ends; the stalled worker records nothing.
func TestLostLeaseCancelsHandler(t *testing.T) {
	t.Parallel()
	s := storetest.Open(t, store.SQLite)
	ctx := t.Context()
	c := newClock()
	q := jobs.New(jobs.Config{Store: s, Logger: quiet, Now: c.Now, Lease: 3 * time.Second})
	cancelled := make(chan error, 1)
	q.Handle("slow", func(ctx context.Context, j *jobs.Job) error {
		// Stall past the lease, and let another worker take the job.
		c.Add(time.Hour)
		if other, err := s.ClaimJob(ctx, "other", []string{"slow"}, c.Now(), time.Hour); err != nil || other == nil {
			t.Errorf("the other worker could not take over: %v", err)
		}
		select {
		case <-ctx.Done():
			cancelled <- context.Cause(ctx)
		case <-time.After(10 * time.Second):
			cancelled <- nil
		}
		return nil
	})
	if err := q.Enqueue(ctx, "slow", nil, c.Now(), "slow"); err != nil {
		t.Fatal(err)
	}
	if n, err := q.RunDue(ctx); err != nil || n != 1 {
		t.Fatalf("RunDue: %d %v", n, err)
	}
	if err := <-cancelled; err == nil {
		t.Error("the handler's context was not cancelled when its lease was lost")
	}
	j, _ := s.JobByKey(ctx, "slow")
	if j.State != store.JobRunning || j.LeasedBy == "" {
		t.Errorf("the worker that lost the lease changed the job: %+v", j)
	}
}

// TestPolicyGivesUpByTime: a kind with its own policy is retried on its own
// back-off, past the queue's attempt limit, until its time is up; the last
// attempt is made at that moment, then the job fails for good, OnFail is
// told once, and the payload is erased.
func TestPolicyGivesUpByTime(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		c := newClock()
		q := jobs.New(jobs.Config{Store: s, Logger: quiet, Now: c.Now, MaxAttempts: 2, BaseBackoff: time.Hour})
		var runs []time.Time
		var failed []string
		q.HandleWith("msg", func(_ context.Context, j *jobs.Job) error {
			runs = append(runs, c.Now())
			if !j.CreatedAt.Equal(time.Unix(1_800_000_000, 0)) {
				t.Errorf("CreatedAt %v", j.CreatedAt)
			}
			return errors.New("provider timed out")
		}, jobs.Policy{BaseBackoff: 10 * time.Second, MaxBackoff: time.Minute, MaxAttempts: 1000, GiveUpAfter: 10 * time.Minute,
			OnFail: func(_ context.Context, j *jobs.Job, reason string) {
				failed = append(failed, string(j.Payload)+" "+reason)
			}})
		if err := q.Enqueue(ctx, "msg", []byte(`{"sealed":"x"}`), c.Now(), "m1"); err != nil {
			t.Fatal(err)
		}
		for range 200 {
			q.RunDue(ctx)
			c.Add(5 * time.Second)
		}
		if len(runs) < 12 {
			t.Fatalf("%d attempts in 10 minutes on a 10 s..1 min back-off", len(runs))
		}
		if last := runs[len(runs)-1].Sub(time.Unix(1_800_000_000, 0)); last < 10*time.Minute || last > 10*time.Minute+5*time.Second {
			t.Errorf("last attempt %v after enqueueing, want at the 10 minutes", last)
		}
		j, err := s.JobByKey(ctx, "m1")
		if err != nil || j.State != store.JobFailed || j.LastError != "provider timed out" || len(j.Payload) != 0 {
			t.Errorf("job %+v %v: want failed, its error kept and its payload erased", j, err)
		}
		if len(failed) != 1 || failed[0] != `{"sealed":"x"} provider timed out` {
			t.Errorf("OnFail calls %q", failed)
		}
		// A permanent error fails at once and tells OnFail too; success
		// erases the payload.
		q2 := jobs.New(jobs.Config{Store: s, Logger: quiet, Now: c.Now})
		var told int
		q2.HandleWith("refused", func(context.Context, *jobs.Job) error { return jobs.Permanent(errors.New("HTTP 400")) },
			jobs.Policy{GiveUpAfter: time.Hour, OnFail: func(context.Context, *jobs.Job, string) { told++ }})
		q2.HandleWith("ok", func(context.Context, *jobs.Job) error { return nil }, jobs.Policy{GiveUpAfter: time.Hour})
		q2.Enqueue(ctx, "refused", []byte("p"), c.Now(), "r1")
		q2.Enqueue(ctx, "ok", []byte("secret"), c.Now(), "o1")
		q2.RunDue(ctx)
		if r, _ := s.JobByKey(ctx, "r1"); r.State != store.JobFailed || r.Attempts != 1 || told != 1 {
			t.Errorf("refused: %+v, OnFail %d", r, told)
		}
		if o, _ := s.JobByKey(ctx, "o1"); o.State != store.JobDone || len(o.Payload) != 0 {
			t.Errorf("done job keeps its payload: %+v", o)
		}
	})
}
