//go:build unix

package backup

import (
	"os"
	"path/filepath"
	"testing"
)

// A partial file whose backup is still running (it holds the lock) is not
// a leftover.
func TestLockedPartialIsKept(t *testing.T) {
	dir := t.TempDir()
	f, err := os.CreateTemp(dir, ".x.age"+partialInfix+"*")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := lockPartial(f); err != nil {
		t.Fatal(err)
	}
	f.WriteString("age-encryption.org/v1\n")
	if removed := removeLeftovers(dir); len(removed) != 0 {
		t.Fatalf("removed %v while its backup was running", removed)
	}
	f.Close() // the backup ends without finishing: the lock goes
	if removed := removeLeftovers(dir); len(removed) != 1 || removed[0] != filepath.Base(f.Name()) {
		t.Fatalf("removed %v after the backup ended", removed)
	}
}
