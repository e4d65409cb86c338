package backup_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/salama-ke/salama/internal/backup"
	"github.com/salama-ke/salama/internal/store"
	"github.com/salama-ke/salama/internal/store/storetest"
	"github.com/salama-ke/salama/internal/testkit"
)

// Leftovers of interrupted backups are removed by the next WriteFile into
// the directory; a partial file a running backup still holds, and a file
// that only looks like one, are not.
func TestWriteFileRemovesLeftovers(t *testing.T) {
	t.Parallel()
	c := testkit.NewClock(time.Unix(1_800_000_000, 0).UTC())
	db := storetest.NewDB(t, store.SQLite)
	a := newApp(t, db, db.DataDir, c, true)
	rcpt, _ := keys(t, false)
	dir := t.TempDir()
	write := func(name string, data []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(".old.age.partial-123", []byte("age-encryption.org/v1\n-> X25519 …"))
	write(".empty.age.partial-456", nil)
	write(".notes.partial-789", []byte("someone else's file")) // not an age file: kept
	write("other.age", []byte("age-encryption.org/v1\n"))      // not a partial: kept

	sum, err := backup.WriteFile(t.Context(), a.Store, filepath.Join(dir, "new.age"), backup.Options{Recipients: rcpt})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{".empty.age.partial-456", ".old.age.partial-123"}; !slices.Equal(sum.RemovedLeftovers, want) {
		t.Errorf("removed %v, want %v", sum.RemovedLeftovers, want)
	}
	var names []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := []string{".notes.partial-789", "new.age", "other.age"}; !slices.Equal(names, want) {
		t.Errorf("directory holds %v, want %v", names, want)
	}
}

// --keep-days: the expiry goes into the backup; Restore refuses an expired
// backup unless allowed; Prune removes only FileName-named backups older
// than the period.
func TestExpiryAndPrune(t *testing.T) {
	t.Parallel()
	c := testkit.NewClock(time.Unix(1_800_000_000, 0).UTC())
	db := storetest.NewDB(t, store.SQLite)
	a := newApp(t, db, db.DataDir, c, true)
	rcpt, ids := keys(t, false)
	var file bytes.Buffer
	sum, err := backup.Write(t.Context(), a.Store, &file, backup.Options{Recipients: rcpt, Now: c.Now(), Keep: 30 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if want := c.Now().Add(30 * 24 * time.Hour); !sum.Expires.Equal(want) {
		t.Fatalf("expires %v, want %v", sum.Expires, want)
	}
	checked, err := backup.Check(bytes.NewReader(file.Bytes()), ids)
	if err != nil || !checked.Expires.Equal(sum.Expires) {
		t.Fatalf("Check: expires %v, %v", checked.Expires, err)
	}
	late := c.Now().Add(31 * 24 * time.Hour)
	dst := t.TempDir()
	_, err = backup.Restore(t.Context(), bytes.NewReader(file.Bytes()), backup.RestoreOptions{Identities: ids, DataDir: dst, Now: late})
	if !errors.Is(err, backup.ErrExpired) {
		t.Fatalf("restoring an expired backup: %v, want ErrExpired", err)
	}
	if entries, _ := os.ReadDir(dst); len(entries) != 0 {
		t.Errorf("a refused restore left %d files", len(entries))
	}
	if _, err := backup.Restore(t.Context(), bytes.NewReader(file.Bytes()), backup.RestoreOptions{Identities: ids, DataDir: dst, Now: late, AllowExpired: true}); err != nil {
		t.Fatalf("restoring an expired backup when allowed: %v", err)
	}

	dir := t.TempDir()
	now := time.Date(2026, 5, 31, 2, 0, 0, 0, time.UTC)
	for _, name := range []string{
		backup.FileName(now.Add(-40 * 24 * time.Hour)), // old: removed
		backup.FileName(now.Add(-31 * 24 * time.Hour)), // old: removed
		backup.FileName(now.Add(-29 * 24 * time.Hour)), // kept
		backup.FileName(now),                           // kept
		"salama-manual-copy.age",                       // not its name: kept
		"salama-20200101T000000Z.age.bak",              // not its name: kept
	} {
		os.WriteFile(filepath.Join(dir, name), []byte("age-encryption.org/v1\n"), 0o600)
	}
	removed, err := backup.Prune(dir, 30*24*time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"salama-20260421T020000Z.age", "salama-20260430T020000Z.age"}; !slices.Equal(removed, want) {
		t.Errorf("pruned %v, want %v", removed, want)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 4 {
		t.Errorf("%d files left, want 4", len(entries))
	}
}
