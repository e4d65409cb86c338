package store_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/salama-ke/salama/internal/store"
	"github.com/salama-ke/salama/internal/store/storetest"
)

var t0 = time.Unix(1_800_000_000, 0).UTC()

func TestJobLifecycle(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		kinds := []string{"a"}
		if _, ok, err := s.NextJobAt(ctx, kinds); err != nil || ok {
			t.Fatalf("NextJobAt on an empty table: %v %v", ok, err)
		}
		added, err := s.EnqueueJob(ctx, store.NewJob{Kind: "a", Payload: []byte(`{"report":"r1"}`), RunAt: t0.Add(time.Minute), UniqueKey: "a:r1"}, t0)
		if err != nil || !added {
			t.Fatalf("enqueue: %v %v", added, err)
		}
		if added, err := s.EnqueueJob(ctx, store.NewJob{Kind: "a", RunAt: t0, UniqueKey: "a:r1"}, t0); err != nil || added {
			t.Fatalf("second enqueue with the same key: added %v, %v", added, err)
		}
		// Jobs without a key never collide.
		for range 2 {
			if added, err := s.EnqueueJob(ctx, store.NewJob{Kind: "b", RunAt: t0}, t0); err != nil || !added {
				t.Fatalf("enqueue without key: %v %v", added, err)
			}
		}
		if _, err := s.EnqueueJob(ctx, store.NewJob{Kind: "a", Payload: []byte{0xff}, RunAt: t0}, t0); err == nil {
			t.Error("a payload that is not UTF-8 was accepted")
		}

		at, ok, err := s.NextJobAt(ctx, kinds)
		if err != nil || !ok || !at.Equal(t0.Add(time.Minute)) {
			t.Fatalf("NextJobAt = %v %v %v", at, ok, err)
		}
		if j, err := s.ClaimJob(ctx, "w1", kinds, t0, time.Minute); err != nil || j != nil {
			t.Fatalf("claimed a job before it was due: %+v %v", j, err)
		}
		j, err := s.ClaimJob(ctx, "w1", kinds, t0.Add(time.Minute), time.Minute)
		if err != nil || j == nil {
			t.Fatalf("claim: %+v %v", j, err)
		}
		if j.Kind != "a" || string(j.Payload) != `{"report":"r1"}` || j.Attempts != 1 || j.State != store.JobRunning || j.UniqueKey != "a:r1" {
			t.Errorf("claimed %+v", j)
		}
		if j2, err := s.ClaimJob(ctx, "w2", kinds, t0.Add(time.Minute), time.Minute); err != nil || j2 != nil {
			t.Fatalf("a leased job was claimed again: %+v %v", j2, err)
		}

		// A failure with a retry time, then success.
		if err := s.RetryJob(ctx, j, "boom", t0.Add(3*time.Minute), t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if j, err = s.ClaimJob(ctx, "w1", kinds, t0.Add(2*time.Minute), time.Minute); err != nil || j != nil {
			t.Fatalf("claimed before the retry time: %+v %v", j, err)
		}
		j, err = s.ClaimJob(ctx, "w1", kinds, t0.Add(3*time.Minute), time.Minute)
		if err != nil || j == nil || j.Attempts != 2 || j.LastError != "boom" {
			t.Fatalf("claim after retry: %+v %v", j, err)
		}
		if err := s.FinishJob(ctx, j, t0.Add(3*time.Minute)); err != nil {
			t.Fatal(err)
		}
		got, err := s.JobByKey(ctx, "a:r1")
		if err != nil || got.State != store.JobDone || got.LastError != "" || got.LeasedBy != "" {
			t.Fatalf("after finish: %+v %v", got, err)
		}
		if err := s.FinishJob(ctx, j, t0.Add(3*time.Minute)); !errors.Is(err, store.ErrLeaseLost) {
			t.Errorf("finishing twice: %v, want ErrLeaseLost", err)
		}
		// A done job keeps its key for a while, then is forgotten.
		if added, _ := s.EnqueueJob(ctx, store.NewJob{Kind: "a", RunAt: t0, UniqueKey: "a:r1"}, t0); added {
			t.Error("a done job's key was reused at once")
		}
		if n, err := s.DeleteFinishedJobs(ctx, t0.Add(4*time.Minute), t0); err != nil || n != 1 {
			t.Errorf("DeleteFinishedJobs = %d, %v; want 1", n, err)
		}
		if added, _ := s.EnqueueJob(ctx, store.NewJob{Kind: "a", RunAt: t0, UniqueKey: "a:r1"}, t0); !added {
			t.Error("the key of a forgotten job was refused")
		}
	})
}

// TestJobLeaseExpiry: a worker that died holding a job loses it when its
// lease runs out, and can then change nothing.
func TestJobLeaseExpiry(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		kinds := []string{"k"}
		if _, err := s.EnqueueJob(ctx, store.NewJob{Kind: "k", RunAt: t0}, t0); err != nil {
			t.Fatal(err)
		}
		dead, err := s.ClaimJob(ctx, "dead", kinds, t0, time.Minute)
		if err != nil || dead == nil {
			t.Fatalf("claim: %v %v", dead, err)
		}
		if at, ok, _ := s.NextJobAt(ctx, kinds); !ok || !at.Equal(t0.Add(time.Minute)) {
			t.Errorf("NextJobAt = %v %v; want the lease's end", at, ok)
		}
		if j, _ := s.ClaimJob(ctx, "alive", kinds, t0.Add(59*time.Second), time.Minute); j != nil {
			t.Fatal("taken over before the lease ran out")
		}
		alive, err := s.ClaimJob(ctx, "alive", kinds, t0.Add(time.Minute), time.Minute)
		if err != nil || alive == nil || alive.ID != dead.ID || alive.Attempts != 2 {
			t.Fatalf("take over: %+v %v", alive, err)
		}
		for name, f := range map[string]func() error{
			"extend": func() error { return s.ExtendJobLease(ctx, dead, t0.Add(time.Hour), t0) },
			"finish": func() error { return s.FinishJob(ctx, dead, t0) },
			"retry":  func() error { return s.RetryJob(ctx, dead, "x", t0, t0) },
			"fail":   func() error { return s.FailJob(ctx, dead, "x", t0) },
		} {
			if err := f(); !errors.Is(err, store.ErrLeaseLost) {
				t.Errorf("%s by the worker that lost the lease: %v, want ErrLeaseLost", name, err)
			}
		}
		if err := s.ExtendJobLease(ctx, alive, t0.Add(10*time.Minute), t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if j, _ := s.ClaimJob(ctx, "third", kinds, t0.Add(5*time.Minute), time.Minute); j != nil {
			t.Fatal("an extended lease was taken over")
		}
		if err := s.ReleaseJob(ctx, alive, t0.Add(5*time.Minute)); err != nil {
			t.Fatal(err)
		}
		j, err := s.ClaimJob(ctx, "third", kinds, t0.Add(5*time.Minute), time.Minute)
		if err != nil || j == nil || j.Attempts != 2 {
			t.Fatalf("after release: %+v %v (a release does not count the attempt)", j, err)
		}
		if err := s.FailJob(ctx, j, "bad payload", t0.Add(5*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if j, _ := s.ClaimJob(ctx, "third", kinds, t0.Add(time.Hour), time.Minute); j != nil {
			t.Fatal("a failed job was claimed")
		}
		if got, _ := s.JobByID(ctx, j.ID); got.State != store.JobFailed || got.LastError != "bad payload" {
			t.Errorf("failed job: %+v", got)
		}
	})
}

func TestPeriodicJob(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		kinds := []string{"tick"}
		for range 2 { // every instance ensures it at start; one row results
			if err := s.EnsurePeriodicJob(ctx, "tick", time.Hour, t0); err != nil {
				t.Fatal(err)
			}
		}
		jobs, err := s.Jobs(ctx, "", 10)
		if err != nil || len(jobs) != 1 || jobs[0].Every != time.Hour || !jobs[0].RunAt.Equal(t0) {
			t.Fatalf("jobs = %+v, %v", jobs, err)
		}
		j, err := s.ClaimJob(ctx, "w", kinds, t0, time.Minute)
		if err != nil || j == nil {
			t.Fatal(err)
		}
		// Ensuring while it runs leaves it alone.
		if err := s.EnsurePeriodicJob(ctx, "tick", time.Hour, t0); err != nil {
			t.Fatal(err)
		}
		if err := s.FinishJob(ctx, j, t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		got, _ := s.JobByKey(ctx, store.PeriodicJobKey("tick"))
		if got.State != store.JobPending || !got.RunAt.Equal(t0.Add(61*time.Minute)) || got.Attempts != 0 {
			t.Fatalf("after finishing: %+v", got)
		}
		// A shorter interval brings the next run forward; a longer one does
		// not push it back.
		if err := s.EnsurePeriodicJob(ctx, "tick", 10*time.Minute, t0.Add(2*time.Minute)); err != nil {
			t.Fatal(err)
		}
		got, _ = s.JobByKey(ctx, store.PeriodicJobKey("tick"))
		if !got.RunAt.Equal(t0.Add(12*time.Minute)) || got.Every != 10*time.Minute {
			t.Fatalf("after shortening: %+v", got)
		}
		if err := s.EnsurePeriodicJob(ctx, "tick", 24*time.Hour, t0.Add(3*time.Minute)); err != nil {
			t.Fatal(err)
		}
		got, _ = s.JobByKey(ctx, store.PeriodicJobKey("tick"))
		if !got.RunAt.Equal(t0.Add(12*time.Minute)) || got.Every != 24*time.Hour {
			t.Fatalf("after lengthening: %+v", got)
		}
		// A periodic job is never deleted as finished.
		if n, _ := s.DeleteFinishedJobs(ctx, t0.Add(1000*time.Hour), t0.Add(1000*time.Hour)); n != 0 {
			t.Errorf("deleted %d periodic jobs", n)
		}
	})
}

// TestClaimJobConcurrent: workers on separate stores over one database
// (two instances) claim every job exactly once.
func TestClaimJobConcurrent(t *testing.T) {
	t.Parallel()
	storetest.EachDB(t, func(t *testing.T, db storetest.DB) {
		ctx := t.Context()
		a, b := db.Open(t), db.Open(t)
		const n = 40
		for i := range n {
			if _, err := a.EnqueueJob(ctx, store.NewJob{Kind: "k", RunAt: t0, UniqueKey: fmt.Sprint(i)}, t0); err != nil {
				t.Fatal(err)
			}
		}
		var mu sync.Mutex
		claimed := map[string]int{}
		var wg sync.WaitGroup
		for w := range 6 {
			s := a
			if w%2 == 1 {
				s = b
			}
			wg.Go(func() {
				for {
					j, err := s.ClaimJob(ctx, fmt.Sprint("w", w), []string{"k"}, t0, time.Hour)
					if err != nil {
						t.Error(err)
						return
					}
					if j == nil {
						return
					}
					mu.Lock()
					claimed[j.ID]++
					mu.Unlock()
					if err := s.FinishJob(ctx, j, t0); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		if len(claimed) != n {
			t.Errorf("%d jobs claimed, want %d", len(claimed), n)
		}
		for id, c := range claimed {
			if c != 1 {
				t.Errorf("job %s claimed %d times", id, c)
			}
		}
	})
}
