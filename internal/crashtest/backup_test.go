package crashtest

import (
	"bytes"
	"crypto/rand"
	"database/sql"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/salama-ke/salama/internal/seal"
	"github.com/salama-ke/salama/internal/store"
)

// TestKilledBackupLeavesNoLeftover is issue 17 (9): `salama backup` killed
// half-way left its hidden .NAME.partial-* file for ever. The next backup
// into the same directory now removes it, and the new backup restores.
func TestKilledBackupLeavesNoLeftover(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the salama binary")
	}
	bin := buildSalama(t)
	dataDir, out := t.TempDir(), t.TempDir()
	// 12 MB that gzip cannot shrink: the backup takes long enough to be
	// caught half-way.
	st, err := store.Open(t.Context(), "", dataDir)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	raw, err := sql.Open("sqlite", filepath.Join(dataDir, store.FileName))
	if err != nil {
		t.Fatal(err)
	}
	blob := make([]byte, 1<<20)
	for i := range 12 {
		rand.Read(blob)
		if _, err := raw.Exec(`INSERT INTO settings (key, value) VALUES ($1, $2)`, "filler-"+string(rune('A'+i)), blob); err != nil {
			t.Fatal(err)
		}
	}
	raw.Close()
	identity, recipient, err := seal.NewBackupIdentity(true, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "key.txt")
	os.WriteFile(keyFile, identity, 0o600)

	var leftover string
	for attempt := 1; leftover == "" && attempt <= 5; attempt++ {
		cmd := exec.Command(bin, "backup", "--data", dataDir, "--to", filepath.Join(out, "first.age"), "--recipient", recipient)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
	poll:
		for {
			select {
			case <-done:
				break poll // finished before it could be caught
			default:
			}
			matches, _ := filepath.Glob(filepath.Join(out, ".first.age.partial-*"))
			if len(matches) == 1 {
				if fi, err := os.Stat(matches[0]); err == nil && fi.Size() > 64<<10 {
					cmd.Process.Kill()
					<-done
					leftover = matches[0]
					break poll
				}
			}
			time.Sleep(2 * time.Millisecond)
		}
		os.Remove(filepath.Join(out, "first.age"))
	}
	if leftover == "" {
		t.Fatal("the backup was never caught half-way")
	}
	if _, err := os.Stat(leftover); err != nil {
		t.Fatalf("SIGKILL left no partial file to clean: %v", err)
	}

	// The binary again, not cli.Main: under -race, gzip and age over this
	// much data in the test process take minutes.
	salama := func(args ...string) (string, error) {
		cmd := exec.Command(bin, args...)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		return out.String(), err
	}
	stdout, err := salama("backup", "--data", dataDir, "--to", filepath.Join(out, "second.age"), "--recipient", recipient)
	if err != nil {
		t.Fatalf("the next backup: %v\n%s", err, stdout)
	}
	if _, err := os.Stat(leftover); err == nil {
		t.Errorf("the next backup left %s in place", filepath.Base(leftover))
	}
	if !strings.Contains(stdout, "Removed "+filepath.Base(leftover)+", left by an interrupted backup") {
		t.Errorf("the next backup did not say it removed the leftover:\n%s", stdout)
	}
	entries, _ := os.ReadDir(out)
	if len(entries) != 1 || entries[0].Name() != "second.age" {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("files in the backup directory: %v, want only second.age", names)
	}
	if out, err := salama("restore", "--check", "--from", filepath.Join(out, "second.age"), "--identity", keyFile); err != nil {
		t.Errorf("restore --check of the new backup: %v\n%s", err, out)
	}
}
