package audit_test

import (
	"errors"
	"testing"

	"github.com/salama-ke/salama/internal/audit"
	"github.com/salama-ke/salama/internal/seal"
	"github.com/salama-ke/salama/internal/store/storetest"
)

// A signing key rotation: the entry is signed by the new key and names
// both; Verify follows it; with the old key the log is another
// deployment's; a report's trail spans both keys.
func TestVerifyAcrossARotation(t *testing.T) {
	t.Parallel()
	storetest.EachDB(t, func(t *testing.T, db storetest.DB) {
		f := newFixture(t, db)
		f.recordAll(t)
		next := seal.NewSigningKeyForTest()
		newLog := audit.New(f.st, next, nil)
		if err := newLog.Record(t.Context(), audit.Event{Actor: audit.ActorCLI, Action: audit.SigningKeyRotated,
			Detail: audit.RotationDetail(f.key.Public(), next.Public(), false)}); err != nil {
			t.Fatal(err)
		}
		if err := newLog.Record(t.Context(), audit.Event{Actor: audit.ActorSystem, Action: audit.ReportPurged, ReportID: "r1"}); err != nil {
			t.Fatal(err)
		}
		res, err := newLog.Verify(t.Context(), next.Public())
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Keys) != 2 || !res.Keys[0].Key.Equal(f.key.Public()) || !res.Keys[1].Key.Equal(next.Public()) || res.Keys[1].From != res.Keys[0].To+1 {
			t.Fatalf("keys %+v", res.Keys)
		}
		var ae *audit.Error
		if _, err := f.log.Verify(t.Context(), f.key.Public()); !errors.As(err, &ae) || ae.Kind != audit.WrongKey {
			t.Fatalf("verify with the old key: %v", err)
		}
		if es, err := newLog.ForReport(t.Context(), "r1"); err != nil || len(es) < 2 {
			t.Fatalf("a report's trail across the rotation: %d, %v", len(es), err)
		}
	})
}

// Someone who can write the database but holds no key appends a rotation
// to a key of their own and entries signed with it: Verify ends on their
// key, not the operator's, and ForReport refuses the chain.
func TestForgedRotationRefused(t *testing.T) {
	t.Parallel()
	storetest.EachDB(t, func(t *testing.T, db storetest.DB) {
		f := newFixture(t, db)
		f.recordAll(t)
		forger := seal.NewSigningKeyForTest()
		flog := audit.New(f.st, forger, nil)
		if err := flog.Record(t.Context(), audit.Event{Actor: audit.ActorCLI, Action: audit.SigningKeyRotated,
			Detail: audit.RotationDetail(f.key.Public(), forger.Public(), false)}); err != nil {
			t.Fatal(err)
		}
		if err := flog.Record(t.Context(), audit.Event{Actor: audit.ActorSystem, Action: audit.ReportPurged, ReportID: "r1"}); err != nil {
			t.Fatal(err)
		}
		var ae *audit.Error
		if _, err := f.log.Verify(t.Context(), f.key.Public()); !errors.As(err, &ae) || ae.Kind != audit.WrongKey || !ae.Key.Equal(forger.Public()) {
			t.Fatalf("a forged rotation: %v", err)
		}
		if _, err := f.log.ForReport(t.Context(), "r1"); !errors.Is(err, audit.ErrTampered) {
			t.Fatalf("ForReport with a forged rotation: %v", err)
		}
		// A rotation that does not start from the key in use.
		g := newFixture(t, storetest.NewDB(t, db.Engine))
		g.recordAll(t)
		next := seal.NewSigningKeyForTest()
		if err := audit.New(g.st, next, nil).Record(t.Context(), audit.Event{Actor: audit.ActorCLI, Action: audit.SigningKeyRotated,
			Detail: audit.RotationDetail(seal.NewSigningKeyForTest().Public(), next.Public(), false)}); err != nil {
			t.Fatal(err)
		}
		if _, err := g.log.Verify(t.Context(), next.Public()); err == nil {
			t.Fatal("a rotation from a key that never signed the log verified")
		}
	})
}
