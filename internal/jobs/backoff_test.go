package jobs_test

import (
	"context"
	"database/sql"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/salama-ke/salama/internal/jobs"
	"github.com/salama-ke/salama/internal/store"
	"github.com/salama-ke/salama/internal/store/storetest"
	"github.com/salama-ke/salama/internal/testkit"
)

// Issue 17 (8): on a database that refuses writes, the worker logged an
// error at every poll, forever. Now it backs off (exponentially, capped)
// and logs once when claiming starts failing and once when it works again.
// Every write to the jobs table is made to fail, as on a read-only
// database, while a job is due.
func TestClaimFailuresBackOffAndLogOnce(t *testing.T) {
	storetest.EachDB(t, func(t *testing.T, db storetest.DB) {
		ctx := t.Context()
		st := db.Open(t)
		var logs testkit.LogBuffer
		log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		q := jobs.New(jobs.Config{Store: st, Logger: log, Worker: "w", Poll: 10 * time.Millisecond,
			MaxClaimBackoff: 150 * time.Millisecond, Concurrency: 1})
		// One goroutine: with two, on PostgreSQL one may find the due job
		// locked by the other's failing claim, skip it, and succeed
		// without writing, which the injected fault (unlike a database
		// in read-only mode, which refuses FOR UPDATE itself) allows.
		ran := make(chan struct{}, 1)
		q.Handle("work", func(context.Context, *jobs.Job) error {
			select {
			case ran <- struct{}{}:
			default:
			}
			return nil
		})
		if err := q.Enqueue(ctx, "work", nil, time.Now(), "work"); err != nil {
			t.Fatal(err)
		}

		raw := rawDB(t, db)
		breakWrites(t, db.Engine, raw)
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			q.Run(runCtx)
		}()
		// Wait until the worker has backed off to the cap: failures 1…5
		// wait 10, 20, 40, 80 ms, then 150 ms each.
		deadline := time.Now().Add(time.Minute)
		for strings.Count(logs.String(), "claim failed again") < 8 {
			if time.Now().After(deadline) {
				t.Fatalf("the worker did not retry its claims:\n%s", logs.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
		// Over the next second at most ~8 claims at the cap can fail;
		// without back-off it was 100. (A slow machine makes fewer
		// attempts, never more.)
		before := strings.Count(logs.String(), "claim failed")
		time.Sleep(time.Second)
		if n := strings.Count(logs.String(), "claim failed") - before; n > 1000/120+1 {
			t.Errorf("%d failed claims in a second at the cap of 150 ms: no back-off", n)
		}
		select {
		case <-ran:
			t.Fatal("the job ran while writes failed")
		default:
		}

		repairWrites(t, db.Engine, raw)
		select {
		case <-ran:
		case <-time.After(time.Minute):
			t.Fatalf("the job did not run once writes worked again:\n%s", logs.String())
		}
		// The recovery is logged after the claim that ran the job.
		for deadline := time.Now().Add(10 * time.Second); !strings.Contains(logs.String(), "claiming jobs again"); {
			if time.Now().After(deadline) {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		stop()
		<-done

		out := logs.String()
		if n := strings.Count(out, "level=ERROR"); n != 1 || !strings.Contains(out, "cannot claim jobs; backing off") {
			t.Errorf("%d error lines, want exactly one saying the worker backs off:\n%s", n, out)
		}
		if n := strings.Count(out, "claiming jobs again"); n != 1 {
			t.Errorf("recovery logged %d times, want once:\n%s", n, out)
		}
	})
}

func rawDB(t *testing.T, db storetest.DB) *sql.DB {
	t.Helper()
	if db.Engine == store.Postgres {
		return db.SQL(t)
	}
	raw, err := sql.Open("sqlite", filepath.Join(db.DataDir, store.FileName)+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return raw
}

// breakWrites makes every update of the jobs table fail, as a read-only
// database does; repairWrites undoes it.
func breakWrites(t *testing.T, engine string, raw *sql.DB) {
	t.Helper()
	qs := []string{`CREATE TRIGGER salama_test_ro BEFORE UPDATE ON jobs BEGIN SELECT RAISE(ABORT, 'injected: read-only database'); END`}
	if engine == store.Postgres {
		qs = []string{`CREATE FUNCTION salama_test_ro() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected: read-only database'; END $$`,
			`CREATE TRIGGER salama_test_ro BEFORE UPDATE ON jobs FOR EACH ROW EXECUTE FUNCTION salama_test_ro()`}
	}
	for _, q := range qs {
		if _, err := raw.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
}

func repairWrites(t *testing.T, engine string, raw *sql.DB) {
	t.Helper()
	qs := []string{`DROP TRIGGER salama_test_ro`}
	if engine == store.Postgres {
		qs = []string{`DROP TRIGGER salama_test_ro ON jobs`, `DROP FUNCTION salama_test_ro()`}
	}
	for _, q := range qs {
		if _, err := raw.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
}
