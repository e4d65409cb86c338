package audit_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/salama-ke/salama/internal/audit"
	"github.com/salama-ke/salama/internal/seal"
	"github.com/salama-ke/salama/internal/store"
	"github.com/salama-ke/salama/internal/store/storetest"
	"github.com/salama-ke/salama/internal/testkit"
)

type fixture struct {
	st  *store.Store
	key *seal.SigningKey
	log *audit.Log
	raw *sql.DB // the attacker's own connection, with the append-only triggers dropped
}

func newFixture(t *testing.T, db storetest.DB) *fixture {
	t.Helper()
	st := db.Open(t)
	key := seal.NewSigningKeyForTest()
	c := testkit.NewClock(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	return &fixture{st: st, key: key, log: audit.New(st, key, c.Ticking(time.Second)), raw: rawDB(t, db)}
}

// rawDB opens the database directly, as someone with database access but
// without the signing key would, and drops the triggers that stop the
// program from rewriting the log.
func rawDB(t *testing.T, db storetest.DB) *sql.DB {
	t.Helper()
	var (
		raw   *sql.DB
		err   error
		drops []string
	)
	if db.Engine == store.SQLite {
		raw, err = sql.Open("sqlite", filepath.Join(db.DataDir, store.FileName)+"?_pragma=busy_timeout(5000)")
		drops = []string{`DROP TRIGGER audit_log_no_update`, `DROP TRIGGER audit_log_no_delete`}
	} else {
		raw, err = sql.Open("pgx", db.DSN)
		drops = []string{`DROP TRIGGER audit_log_no_update ON audit_log`, `DROP TRIGGER audit_log_no_delete ON audit_log`}
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	for _, q := range drops {
		exec(t, raw, q)
	}
	return raw
}

func exec(t *testing.T, db *sql.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.ExecContext(context.Background(), q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// events is the chain every tamper test starts from: six entries.
var events = []audit.Event{
	{Actor: audit.UserActor("u1"), OrgID: "org-a", Action: audit.LoginOK, Detail: "method=totp"},
	{Actor: audit.UserActor("u1"), OrgID: "org-a", Action: audit.ReportRead, ReportID: "r1", Detail: "fields=narrative,identifiers"},
	{Actor: audit.UserActor("u1"), OrgID: "org-a", Action: audit.StatusChanged, ReportID: "r1", Detail: "status=new→in_review"},
	{Actor: audit.UserActor("u2"), OrgID: "org-a", Action: audit.ReportRead, ReportID: "r2", Detail: "fields=narrative"},
	{Actor: audit.ActorSurvivor, Action: audit.ReportWithdrawn, ReportID: "r2"},
	{Actor: audit.UserActor("u1"), OrgID: "org-a", Action: audit.Logout},
}

func (f *fixture) recordAll(t *testing.T) {
	t.Helper()
	for _, ev := range events {
		if err := f.log.Record(t.Context(), ev); err != nil {
			t.Fatal(err)
		}
	}
}

func (f *fixture) entries(t *testing.T) []store.AuditEntry {
	t.Helper()
	es, err := f.st.AuditEntries(t.Context(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// renumberAfter closes the gap a deleted entry left: every entry after seq
// moves down by one. Two steps, so no intermediate state breaks the primary
// key.
func (f *fixture) renumberAfter(t *testing.T, seq int64) {
	t.Helper()
	exec(t, f.raw, `UPDATE audit_log SET seq = -seq WHERE seq > $1`, seq)
	exec(t, f.raw, `UPDATE audit_log SET seq = -seq - 1 WHERE seq < 0`)
}

// rechain recomputes every prev_hash and hash from entry `from` on with the
// public algorithm, and re-signs with sign (nil keeps the old signatures):
// what an attacker with the database but not the key can do.
func (f *fixture) rechain(t *testing.T, from int64, sign func([]byte) []byte) {
	t.Helper()
	es := f.entries(t)
	prev := make([]byte, audit.HashSize)
	for _, e := range es {
		if e.Seq >= from {
			e.PrevHash = prev
			e.Hash = audit.EntryHash(e)
			if sign != nil {
				e.Sig = sign(e.Hash)
			}
			exec(t, f.raw, `UPDATE audit_log SET prev_hash = $1, hash = $2, sig = $3 WHERE seq = $4`, e.PrevHash, e.Hash, e.Sig, e.Seq)
		}
		prev = e.Hash
	}
}

func TestVerifyCleanChain(t *testing.T) {
	t.Parallel()
	storetest.EachDB(t, func(t *testing.T, db storetest.DB) {
		f := newFixture(t, db)
		res, err := f.log.Verify(t.Context(), f.key.Public())
		if err != nil || res.Entries != 0 || res.HeadSeq != 0 || res.HeadHash != strings.Repeat("0", 64) {
			t.Fatalf("empty log: %+v, %v", res, err)
		}
		f.recordAll(t)
		res, err = f.log.Verify(t.Context(), f.key.Public())
		if err != nil {
			t.Fatal(err)
		}
		es := f.entries(t)
		if res.Entries != 6 || res.HeadSeq != 6 || res.HeadHash != fmt.Sprintf("%x", es[5].Hash) {
			t.Errorf("result %+v", res)
		}
		if res.Head() != fmt.Sprintf("#6 %x", es[5].Hash) {
			t.Errorf("Head() = %q", res.Head())
		}
		// What was recorded is what is stored, with the clock's time.
		e := es[2]
		if e.Seq != 3 || e.Actor != "user:u1" || e.OrgID != "org-a" || e.Action != "report.status_changed" ||
			e.ReportID != "r1" || e.Detail != "status=new→in_review" || !e.At.Equal(time.Date(2026, 3, 1, 9, 0, 3, 0, time.UTC)) {
			t.Errorf("entry 3 stored as %+v", e)
		}

		// Verify with another key: the very first entry is not ours.
		_, err = f.log.Verify(t.Context(), seal.NewSigningKeyForTest().Public())
		assertTampered(t, err, audit.BadSignature, 1)
		if _, err := f.log.Verify(t.Context(), seal.PublicKey{}); err == nil || errors.Is(err, audit.ErrTampered) {
			t.Errorf("zero key: %v", err)
		}
	})
}

func assertTampered(t *testing.T, err error, kind audit.Kind, seq int64) {
	t.Helper()
	var ae *audit.Error
	if !errors.As(err, &ae) || !errors.Is(err, audit.ErrTampered) {
		t.Fatalf("err = %v, want %v at #%d", err, kind, seq)
	}
	if ae.Kind != kind || ae.Seq != seq {
		t.Fatalf("err = %v (%v at #%d), want %v at #%d", err, ae.Kind, ae.Seq, kind, seq)
	}
	if !strings.Contains(err.Error(), fmt.Sprintf("#%d", seq)) {
		t.Errorf("message %q does not name #%d", err, seq)
	}
}

func TestVerifyDetectsTampering(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		tamper func(t *testing.T, f *fixture)
		kind   audit.Kind
		seq    int64
	}{
		{"(a) detail edited", func(t *testing.T, f *fixture) {
			exec(t, f.raw, `UPDATE audit_log SET detail = 'status=new→closed' WHERE seq = 3`)
		}, audit.Edited, 3},
		{"actor edited", func(t *testing.T, f *fixture) {
			exec(t, f.raw, `UPDATE audit_log SET actor = 'user:u9' WHERE seq = 2`)
		}, audit.Edited, 2},
		{"time edited", func(t *testing.T, f *fixture) {
			exec(t, f.raw, `UPDATE audit_log SET at = at + 3600 WHERE seq = 4`)
		}, audit.Edited, 4},
		{"report id edited", func(t *testing.T, f *fixture) {
			exec(t, f.raw, `UPDATE audit_log SET report_id = 'r9' WHERE seq = 5`)
		}, audit.Edited, 5},
		{"hash overwritten", func(t *testing.T, f *fixture) {
			exec(t, f.raw, `UPDATE audit_log SET hash = $1 WHERE seq = 2`, make([]byte, 32))
		}, audit.Edited, 2},
		{"(b) middle entry deleted", func(t *testing.T, f *fixture) {
			exec(t, f.raw, `DELETE FROM audit_log WHERE seq = 3`)
		}, audit.Deleted, 3},
		{"two entries deleted", func(t *testing.T, f *fixture) {
			exec(t, f.raw, `DELETE FROM audit_log WHERE seq IN (3, 4)`)
		}, audit.Deleted, 3},
		{"first entry deleted", func(t *testing.T, f *fixture) {
			exec(t, f.raw, `DELETE FROM audit_log WHERE seq = 1`)
		}, audit.Deleted, 1},
		{"deleted and renumbered", func(t *testing.T, f *fixture) {
			exec(t, f.raw, `DELETE FROM audit_log WHERE seq = 3`)
			f.renumberAfter(t, 3)
		}, audit.Reordered, 3},
		{"(c) deleted, renumbered and rehashed without the key", func(t *testing.T, f *fixture) {
			exec(t, f.raw, `DELETE FROM audit_log WHERE seq = 3`)
			f.renumberAfter(t, 3)
			f.rechain(t, 3, nil)
		}, audit.BadSignature, 3},
		{"edited and rehashed without the key", func(t *testing.T, f *fixture) {
			exec(t, f.raw, `UPDATE audit_log SET detail = 'status=new→closed' WHERE seq = 3`)
			f.rechain(t, 3, nil)
		}, audit.BadSignature, 3},
		{"whole log re-signed with another key", func(t *testing.T, f *fixture) {
			other := seal.NewSigningKeyForTest()
			exec(t, f.raw, `UPDATE audit_log SET detail = 'status=new→closed' WHERE seq = 3`)
			f.rechain(t, 1, other.Sign)
		}, audit.BadSignature, 1},
		{"(d) contents of two entries swapped", func(t *testing.T, f *fixture) {
			es := f.entries(t)
			a, b := es[1], es[3]
			set := `UPDATE audit_log SET actor = $1, org_id = $2, action = $3, report_id = $4, detail = $5, at = $6 WHERE seq = $7`
			exec(t, f.raw, set, b.Actor, b.OrgID, b.Action, b.ReportID, b.Detail, b.At.Unix(), a.Seq)
			exec(t, f.raw, set, a.Actor, a.OrgID, a.Action, a.ReportID, a.Detail, a.At.Unix(), b.Seq)
		}, audit.Edited, 2},
		{"two entries swapped whole", func(t *testing.T, f *fixture) {
			exec(t, f.raw, `UPDATE audit_log SET seq = -1 WHERE seq = 2`)
			exec(t, f.raw, `UPDATE audit_log SET seq = 2 WHERE seq = 4`)
			exec(t, f.raw, `UPDATE audit_log SET seq = 4 WHERE seq = -1`)
		}, audit.Reordered, 2},
		{"entry moved below 1", func(t *testing.T, f *fixture) {
			exec(t, f.raw, `UPDATE audit_log SET seq = -6 WHERE seq = 6`)
		}, audit.Edited, -6},
		{"forged entry appended", func(t *testing.T, f *fixture) {
			es := f.entries(t)
			e := store.AuditEntry{Seq: 7, At: time.Now(), Actor: "user:u1", Action: string(audit.Logout), PrevHash: es[5].Hash}
			e.Hash = audit.EntryHash(e)
			exec(t, f.raw, `INSERT INTO audit_log (seq, at, actor, action, prev_hash, hash, sig) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
				e.Seq, e.At.Unix(), e.Actor, e.Action, e.PrevHash, e.Hash, make([]byte, 64))
		}, audit.BadSignature, 7},
	}
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					t.Parallel()
					f := newFixture(t, storetest.NewDB(t, engine))
					f.recordAll(t)
					tt.tamper(t, f)
					res, err := f.log.Verify(t.Context(), f.key.Public())
					assertTampered(t, err, tt.kind, tt.seq)
					if res.Entries != int(max(tt.seq-1, 0)) {
						t.Errorf("%d entries reported verified before #%d", res.Entries, tt.seq)
					}
				})
			}
		})
	}
}

func TestVerifyDeletedMessage(t *testing.T) {
	t.Parallel()
	f := newFixture(t, storetest.NewDB(t, store.SQLite))
	f.recordAll(t)
	exec(t, f.raw, `DELETE FROM audit_log WHERE seq IN (3, 4)`)
	_, err := f.log.Verify(t.Context(), f.key.Public())
	if want := "entries #3 to #4 deleted: the log goes from #2 to #5"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("err = %v, want it to say %q", err, want)
	}
}

// TestVerifyTruncatedTail documents what the chain cannot show: removing the
// newest entries leaves a valid chain. Only the head changes, which is why
// Verify reports it for operators to record elsewhere.
func TestVerifyTruncatedTail(t *testing.T) {
	t.Parallel()
	storetest.EachDB(t, func(t *testing.T, db storetest.DB) {
		f := newFixture(t, db)
		f.recordAll(t)
		before, err := f.log.Verify(t.Context(), f.key.Public())
		if err != nil {
			t.Fatal(err)
		}
		exec(t, f.raw, `DELETE FROM audit_log WHERE seq >= 5`)
		after, err := f.log.Verify(t.Context(), f.key.Public())
		if err != nil {
			t.Fatalf("truncated chain: %v (the chain alone cannot see this)", err)
		}
		if after.Entries != 4 || after.HeadSeq != 4 || after.Head() == before.Head() {
			t.Errorf("head before %s, after %s (%d entries)", before.Head(), after.Head(), after.Entries)
		}
	})
}

// A checkpoint written before the cut catches it, and is never moved back.
func TestCheckpointCatchesTruncation(t *testing.T) {
	t.Parallel()
	storetest.EachDB(t, func(t *testing.T, db storetest.DB) {
		f := newFixture(t, db)
		f.recordAll(t)
		dir := t.TempDir()
		cp, err := f.log.WriteCheckpoint(t.Context(), dir)
		if err != nil {
			t.Fatal(err)
		}
		res, err := f.log.Verify(t.Context(), f.key.Public())
		if err != nil || cp.String() != res.Head() {
			t.Fatalf("checkpoint %s, head %s, %v", cp, res.Head(), err)
		}
		exec(t, f.raw, `DELETE FROM audit_log WHERE seq >= 5`)
		res, _ = f.log.Verify(t.Context(), f.key.Public())
		if err := f.log.CheckCheckpoint(t.Context(), cp, res.Keys); !errors.Is(err, audit.ErrTampered) {
			t.Fatalf("truncated below the checkpoint: %v", err)
		}
		if _, err := f.log.WriteCheckpoint(t.Context(), dir); err == nil {
			t.Fatal("WriteCheckpoint moved the checkpoint back")
		}
		again, err := audit.ReadCheckpoint(filepath.Join(dir, audit.CheckpointFile))
		if err != nil || again.Seq != cp.Seq {
			t.Fatalf("the checkpoint changed: %v %v", again, err)
		}
		// A checkpoint file edited by hand does not parse as signed.
		text, _ := cp.MarshalText()
		edited := strings.Replace(string(text), fmt.Sprintf("seq %d", cp.Seq), "seq 3", 1)
		var c audit.Checkpoint
		if err := c.UnmarshalText([]byte(edited)); !errors.Is(err, audit.ErrCheckpointFormat) {
			t.Fatalf("an edited checkpoint: %v", err)
		}
	})
}

// TestRecordConcurrent records from ten goroutines; the chain must verify
// and time must follow seq.
func TestRecordConcurrent(t *testing.T) {
	t.Parallel()
	storetest.EachDB(t, func(t *testing.T, db storetest.DB) {
		f := newFixture(t, db)
		var wg sync.WaitGroup
		for g := range 10 {
			wg.Go(func() {
				for i := range 5 {
					ev := audit.Event{Actor: audit.UserActor(fmt.Sprint(g)), Action: audit.ReportRead, ReportID: fmt.Sprintf("r%d", i)}
					if err := f.log.Record(t.Context(), ev); err != nil {
						t.Error(err)
					}
				}
			})
		}
		wg.Wait()
		res, err := f.log.Verify(t.Context(), f.key.Public())
		if err != nil || res.Entries != 50 {
			t.Fatalf("%+v, %v", res, err)
		}
		es := f.entries(t)
		for i := 1; i < len(es); i++ {
			if es[i].At.Before(es[i-1].At) {
				t.Fatalf("entry #%d is older than #%d", es[i].Seq, es[i-1].Seq)
			}
		}
	})
}

func TestForReport(t *testing.T) {
	t.Parallel()
	storetest.EachDB(t, func(t *testing.T, db storetest.DB) {
		f := newFixture(t, db)
		f.recordAll(t)
		es, err := f.log.ForReport(t.Context(), "r1")
		if err != nil {
			t.Fatal(err)
		}
		if len(es) != 2 || es[0].Seq != 2 || es[1].Seq != 3 || es[1].Action != string(audit.StatusChanged) {
			t.Fatalf("ForReport(r1) = %+v", es)
		}
		for _, e := range es {
			if err := audit.CheckEntry(e, f.key.Public()); err != nil {
				t.Error(err)
			}
		}
		exec(t, f.raw, `UPDATE audit_log SET detail = 'fields=none' WHERE seq = 4`)
		_, err = f.log.ForReport(t.Context(), "r2")
		assertTampered(t, err, audit.Edited, 4)
		if es, err := f.log.ForReport(t.Context(), "r1"); err != nil || len(es) != 2 {
			t.Errorf("an untouched report's trail: %d entries, %v", len(es), err)
		}
	})
}

func TestRecordRefuses(t *testing.T) {
	t.Parallel()
	f := newFixture(t, storetest.NewDB(t, store.SQLite))
	ok := audit.Event{Actor: audit.UserActor("u1"), OrgID: "org-a", Action: audit.StatusChanged, ReportID: "r1",
		Detail: "status=in_review→closed reason=resolved"}
	tests := []struct {
		name string
		edit func(ev *audit.Event)
	}{
		{"unknown action", func(ev *audit.Event) { ev.Action = "report.deleted" }},
		{"no action", func(ev *audit.Event) { ev.Action = "" }},
		{"no actor", func(ev *audit.Event) { ev.Actor = "" }},
		{"actor with a space", func(ev *audit.Event) { ev.Actor = "Jane Wanjiru" }},
		{"long actor", func(ev *audit.Event) { ev.Actor = strings.Repeat("a", 129) }},
		{"report id with a newline", func(ev *audit.Event) { ev.ReportID = "r1\nr2" }},
		{"report action without a report", func(ev *audit.Event) { ev.ReportID = "" }},
		{"free text", func(ev *audit.Event) { ev.Detail = "he threatened to post the photos" }},
		{"free text in a value", func(ev *audit.Event) { ev.Detail = "reason=he threatened to post the photos" }},
		{"unknown key", func(ev *audit.Event) { ev.Detail = "phone=+254712345678" }},
		{"empty value", func(ev *audit.Event) { ev.Detail = "status=" }},
		{"no value", func(ev *audit.Event) { ev.Detail = "status" }},
		{"two spaces", func(ev *audit.Event) { ev.Detail = "status=closed  reason=resolved" }},
		{"trailing space", func(ev *audit.Event) { ev.Detail = "status=closed " }},
		{"newline", func(ev *audit.Event) { ev.Detail = "status=closed\nreason=resolved" }},
		{"tab", func(ev *audit.Event) { ev.Detail = "status=closed\treason=x" }},
		{"equals in a value", func(ev *audit.Event) { ev.Detail = "status=a=b" }},
		{"long value", func(ev *audit.Event) { ev.Detail = "reason=" + strings.Repeat("x", 73) }},
		{"long detail", func(ev *audit.Event) { ev.Detail = strings.Repeat("count=1 ", 40) + "count=1" }},
		{"invalid UTF-8", func(ev *audit.Event) { ev.Detail = "reason=\xff" }},
	}
	for _, tt := range tests {
		ev := ok
		tt.edit(&ev)
		err := f.log.Record(t.Context(), ev)
		if !errors.Is(err, audit.ErrInvalidEvent) {
			t.Errorf("%s: %v, want ErrInvalidEvent", tt.name, err)
			continue
		}
		for _, secret := range []string{"threatened", "254712345678", "Jane"} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("%s: error %q repeats the input", tt.name, err)
			}
		}
	}
	if n := len(f.entries(t)); n != 0 {
		t.Fatalf("%d refused events were stored", n)
	}

	for _, ev := range []audit.Event{
		ok,
		{Actor: audit.ActorUnknown, Action: audit.LoginFailed},
		{Actor: audit.ActorSystem, Action: audit.ReportPurged, ReportID: "r1", Detail: "reason=retention"},
		{Actor: audit.UserActor("u1"), Action: audit.ReportExported, ReportID: "r1",
			Detail: "sha256=" + strings.Repeat("ab", 32) + " files=4"},
		{Actor: audit.UserActor("u1"), Action: audit.ReportRead, ReportID: "r1", Detail: "fields=narrative,identifiers"},
	} {
		if err := f.log.Record(t.Context(), ev); err != nil {
			t.Errorf("%+v: %v", ev, err)
		}
	}
	if _, err := f.log.Verify(t.Context(), f.key.Public()); err != nil {
		t.Error(err)
	}
}

// TestEveryActionRecords records each action constant once: a constant
// missing from the package's list would be refused.
func TestEveryActionRecords(t *testing.T) {
	t.Parallel()
	f := newFixture(t, storetest.NewDB(t, store.SQLite))
	for _, a := range []audit.Action{
		audit.LoginOK, audit.LoginFailed, audit.Logout, audit.TOTPEnrolled, audit.PasswordChanged,
		audit.MemberAdded, audit.MemberDisabled, audit.MemberEnabled, audit.OrgKeyRecovered,
		audit.ReportRead, audit.AttachmentRevealed, audit.ReportExported, audit.StatusChanged,
		audit.Assigned, audit.NoteAdded, audit.MessageSent, audit.ClassificationChanged,
		audit.ReferralCreated, audit.ReferralSent, audit.ReferralAccepted, audit.ReferralDeclined,
		audit.ReferralOverride, audit.ReferralRefused, audit.ReportWithdrawn, audit.ReportPurged, audit.ReportEscalated,
	} {
		if err := f.log.Record(t.Context(), audit.Event{Actor: audit.ActorCLI, Action: a, ReportID: "r1"}); err != nil {
			t.Errorf("%s: %v", a, err)
		}
	}
}
