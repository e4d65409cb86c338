package backup

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Files a backup leaves in its directory, and what makes them go away.
//
// WriteFile writes to a hidden temporary file beside the target,
// ".NAME.partial-RANDOM", holding an exclusive lock on it (flock, where the
// system has it) for as long as it writes. A backup killed half-way leaves
// that file; the next WriteFile into the same directory removes every such
// leftover whose writer is gone (the lock is free) and which is an age file
// or empty, so that half-written backups, which restore nothing, do not
// pile up unnoticed.
//
// Backups themselves are removed by Prune: salama backup --to-dir names
// each file after the moment it was taken (FileName), and --keep-days
// removes the files of that pattern older than the period. Copies made
// elsewhere (rclone, rsync, a USB disk) need their own expiry; see
// docs/operating.md.

// partialInfix marks WriteFile's temporary files: "." + name + partialInfix + random.
const partialInfix = ".partial-"

// ageMagic starts every age file, binary or armoured.
var ageMagic = []byte("age-encryption.org/")

// fileNameLayout is the timestamp in the names FileName gives.
const fileNameLayout = "20060102T150405Z"

var fileNameRE = regexp.MustCompile(`^salama-(\d{8}T\d{6}Z)\.age$`)

// FileName is the name salama backup --to-dir gives a backup taken at t:
// salama-20260501T023000Z.age. Prune recognises the backups it may remove
// by this pattern, and by nothing else.
func FileName(t time.Time) string {
	return "salama-" + t.UTC().Format(fileNameLayout) + ".age"
}

// Prune removes, from dir, the backups named by FileName that were taken
// before now − keep, and returns their names. Any other file is left alone,
// whatever its name or age.
func Prune(dir string, keep time.Duration, now time.Time) ([]string, error) {
	if keep <= 0 {
		return nil, errors.New("backup: prune: the period must be positive")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("backup: prune: %w", err)
	}
	cutoff := now.Add(-keep)
	var removed []string
	var errs []error
	for _, e := range entries {
		m := fileNameRE.FindStringSubmatch(e.Name())
		if m == nil || !e.Type().IsRegular() {
			continue
		}
		taken, err := time.Parse(fileNameLayout, m[1])
		if err != nil || !taken.Before(cutoff) {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, e.Name())
	}
	slices.Sort(removed)
	if len(removed) > 0 {
		syncDir(dir)
	}
	return removed, errors.Join(errs...)
}

// removeLeftovers removes the temporary files of interrupted backups in
// dir (see the top of this file) and returns their names. A file still
// locked by a running backup is left alone.
func removeLeftovers(dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var removed []string
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, ".") || !strings.Contains(name, partialInfix) || !e.Type().IsRegular() {
			continue
		}
		path := filepath.Join(dir, name)
		if removeIfAbandoned(path) {
			removed = append(removed, name)
		}
	}
	slices.Sort(removed)
	return removed
}

// removeIfAbandoned removes path if no backup holds it and it is empty or
// an age file (never someone else's file that happens to match the name).
func removeIfAbandoned(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	if !abandoned(f) {
		return false
	}
	head := make([]byte, len(ageMagic))
	n, err := io.ReadFull(f, head)
	if n > 0 && !bytes.HasPrefix(ageMagic, head[:n]) || err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return false
	}
	return os.Remove(path) == nil
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // not every platform supports it
		_ = d.Close()
	}
}
