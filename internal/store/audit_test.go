package store_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/salama-ke/salama/internal/store"
	"github.com/salama-ke/salama/internal/store/storetest"
)

// testSeal stands in for internal/audit: a hash over seq, prev and the
// entry's actor, and a constant signature.
func testSeal(e *store.AuditEntry) func(prev []byte, seq int64) ([]byte, []byte) {
	return func(prev []byte, seq int64) ([]byte, []byte) {
		h := sha256.New()
		binary.Write(h, binary.BigEndian, seq)
		h.Write(prev)
		h.Write([]byte(e.Actor))
		return h.Sum(nil), []byte("sig")
	}
}

func appendAudit(t *testing.T, s *store.Store, actor, reportID string) store.AuditEntry {
	t.Helper()
	e := &store.AuditEntry{At: time.Unix(1700000000, 0), Actor: actor, Action: "test", ReportID: reportID}
	if err := s.AppendAudit(t.Context(), e, testSeal(e)); err != nil {
		t.Fatal(err)
	}
	return *e
}

// checkChain reads the whole log and checks it is 1…n without gaps and that
// every entry's prev_hash is the hash before it.
func checkChain(t *testing.T, s *store.Store, n int) []store.AuditEntry {
	t.Helper()
	var all []store.AuditEntry
	for after := int64(0); ; {
		page, err := s.AuditEntries(t.Context(), after, 7)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		all = append(all, page...)
		after = page[len(page)-1].Seq
	}
	if len(all) != n {
		t.Fatalf("%d entries, want %d", len(all), n)
	}
	prev := make([]byte, 32)
	for i, e := range all {
		if e.Seq != int64(i+1) {
			t.Fatalf("entry %d has seq %d", i+1, e.Seq)
		}
		if !bytes.Equal(e.PrevHash, prev) {
			t.Fatalf("entry %d: prev_hash %x, want %x", e.Seq, e.PrevHash, prev)
		}
		if want, _ := testSeal(&e)(e.PrevHash, e.Seq); !bytes.Equal(e.Hash, want) {
			t.Fatalf("entry %d: hash does not match", e.Seq)
		}
		prev = e.Hash
	}
	return all
}

func TestAuditAppend(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		if got, err := s.AuditEntries(ctx, 0, 10); err != nil || len(got) != 0 {
			t.Fatalf("empty log: %v, %v", got, err)
		}
		first := appendAudit(t, s, "user:a", "r1")
		if first.Seq != 1 || !bytes.Equal(first.PrevHash, make([]byte, 32)) {
			t.Fatalf("first entry: seq %d prev %x", first.Seq, first.PrevHash)
		}
		for i := range 9 {
			rid := ""
			if i%3 == 0 {
				rid = "r2"
			}
			e := appendAudit(t, s, fmt.Sprintf("user:%d", i), rid)
			if e.Seq != int64(i+2) {
				t.Fatalf("seq %d, want %d", e.Seq, i+2)
			}
		}
		all := checkChain(t, s, 10)
		if all[0].At != time.Unix(1700000000, 0).UTC() || all[0].Actor != "user:a" || all[0].Action != "test" ||
			all[0].ReportID != "r1" || all[0].OrgID != "" || string(all[0].Sig) != "sig" {
			t.Errorf("first entry read back as %+v", all[0])
		}

		page, err := s.AuditEntries(ctx, 8, 100)
		if err != nil || len(page) != 2 || page[0].Seq != 9 {
			t.Errorf("AuditEntries after 8: %d entries, %v", len(page), err)
		}
		r2, err := s.AuditForReport(ctx, "r2")
		if err != nil {
			t.Fatal(err)
		}
		var seqs []int64
		for _, e := range r2 {
			seqs = append(seqs, e.Seq)
		}
		if fmt.Sprint(seqs) != "[2 5 8]" {
			t.Errorf("AuditForReport(r2) seqs %v, want [2 5 8]", seqs)
		}
		if none, err := s.AuditForReport(ctx, "nope"); err != nil || len(none) != 0 {
			t.Errorf("AuditForReport(nope) = %v, %v", none, err)
		}

		// A seal that fails to produce a hash appends nothing.
		e := &store.AuditEntry{At: time.Now(), Actor: "x", Action: "test"}
		if err := s.AppendAudit(ctx, e, func([]byte, int64) ([]byte, []byte) { return nil, nil }); err == nil {
			t.Error("entry without a hash appended")
		}
		checkChain(t, s, 10)
	})
}

// TestAuditSealSetsTime checks that what seal writes into the entry is what
// is stored.
func TestAuditSealSetsTime(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		e := &store.AuditEntry{Actor: "system", Action: "test"}
		at := time.Unix(1800000000, 0).UTC()
		err := s.AppendAudit(t.Context(), e, func(prev []byte, seq int64) ([]byte, []byte) {
			e.At = at
			return testSeal(e)(prev, seq)
		})
		if err != nil {
			t.Fatal(err)
		}
		all := checkChain(t, s, 1)
		if !all[0].At.Equal(at) {
			t.Errorf("at = %v, want %v", all[0].At, at)
		}
	})
}

// TestAuditAppendConcurrent appends from ten goroutines spread over two
// instances on one database: the chain must come out gapless, without a
// duplicate seq and with every link right.
func TestAuditAppendConcurrent(t *testing.T) {
	t.Parallel()
	storetest.EachDB(t, func(t *testing.T, db storetest.DB) {
		stores := []*store.Store{db.Open(t), db.Open(t)}
		const goroutines, each = 10, 15
		var wg sync.WaitGroup
		errs := make(chan error, goroutines*each)
		for g := range goroutines {
			wg.Go(func() {
				s := stores[g%len(stores)]
				for i := range each {
					e := &store.AuditEntry{At: time.Now(), Actor: fmt.Sprintf("g%d-%d", g, i), Action: "test"}
					if err := s.AppendAudit(t.Context(), e, testSeal(e)); err != nil {
						errs <- err
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		all := checkChain(t, stores[1], goroutines*each)
		seen := map[string]bool{}
		for _, e := range all {
			if seen[e.Actor] {
				t.Fatalf("%s appended twice", e.Actor)
			}
			seen[e.Actor] = true
		}
	})
}

// TestAuditAppendOnly checks that the database itself refuses to update or
// delete an entry, so a bug in the program cannot rewrite history.
func TestAuditAppendOnly(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		appendAudit(t, s, "user:a", "r1")
		appendAudit(t, s, "user:b", "r1")
		for _, q := range []string{
			`UPDATE audit_log SET detail = 'x' WHERE seq = 1`,
			`DELETE FROM audit_log WHERE seq = 2`,
			`DELETE FROM audit_log`,
		} {
			if _, err := store.WriterOf(s).ExecContext(t.Context(), q); err == nil {
				t.Errorf("%s: allowed", q)
			}
		}
		if s.Engine() == store.Postgres {
			if _, err := store.WriterOf(s).ExecContext(t.Context(), `TRUNCATE audit_log`); err == nil {
				t.Error("TRUNCATE allowed")
			}
		}
		checkChain(t, s, 2)
	})
}
