// Package diskspace watches the free space where Salama writes: the data
// directory, which on SQLite also holds the database. Below a threshold
// (salama serve --min-free-disk, 1 GB by default, as GlobaLeaks stops at)
// new reports are refused with a page that keeps the survivor's words,
// instead of failing half-way when the disk fills; receipt logins, reading
// and replies go on. The staff learn of it in the log (once per change),
// at start, and on /healthz.
//
// On PostgreSQL the database's disk is the database server's: watch it
// there (docs/operating.md); this package sees only the local data
// directory.
//
// What it must never do: block a request on the file system for long
// (Low answers from a sample at most a few seconds old).
package diskspace

import (
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// DefaultMin is the default threshold: 1 GB.
const DefaultMin = 1 << 30

// sampleEvery bounds how stale Low's answer may be.
const sampleEvery = 5 * time.Second

// Status is one sample.
type Status struct {
	Path string
	Free uint64 // bytes available to this process
	Min  uint64
	Low  bool
	Err  error // the space could not be read: not counted as low
}

func (s Status) String() string {
	if s.Err != nil {
		return fmt.Sprintf("free space in %s unknown: %v", s.Path, s.Err)
	}
	return fmt.Sprintf("%s free in %s (minimum %s)", Bytes(s.Free), s.Path, Bytes(s.Min))
}

// Monitor samples the free space under one directory.
type Monitor struct {
	path string
	min  uint64
	log  *slog.Logger
	// free is the sampling function (statfs; tests replace it).
	free func(string) (uint64, error)
	now  func() time.Time

	// OnLow, if set, runs (in a goroutine of its own) each time the free
	// space falls under the threshold: the staff alerts. Set it before the
	// monitor is shared.
	OnLow func()

	mu   sync.Mutex
	last Status
	at   time.Time
	seen bool
}

// New returns a monitor of path with threshold min bytes; min 0 switches
// the check off (Low is then always false).
func New(path string, min uint64, log *slog.Logger) *Monitor {
	if log == nil {
		log = slog.Default()
	}
	return &Monitor{path: path, min: min, log: log, free: freeBytes, now: time.Now}
}

// Check samples now, logs a change of state (a warning when the space
// falls under the threshold, a line when it is back), and returns the
// sample.
func (m *Monitor) Check() Status {
	if m == nil || m.min == 0 {
		return Status{Path: m.pathOrEmpty()}
	}
	free, err := m.free(m.path)
	st := Status{Path: m.path, Free: free, Min: m.min, Err: err, Low: err == nil && free < m.min}
	m.mu.Lock()
	was, seen := m.last.Low, m.seen
	m.last, m.at, m.seen = st, m.now(), true
	m.mu.Unlock()
	switch {
	case st.Low && (!seen || !was):
		m.log.Warn("disk space low: new reports are refused until space is freed", "path", st.Path, "free", Bytes(st.Free), "min", Bytes(st.Min))
		if m.OnLow != nil {
			go m.OnLow()
		}
	case !st.Low && seen && was:
		m.log.Info("disk space back above the minimum: new reports are taken again", "path", st.Path, "free", Bytes(st.Free))
	}
	return st
}

// Status returns the latest sample, taking a new one if it is older than
// a few seconds.
func (m *Monitor) Status() Status {
	if m == nil || m.min == 0 {
		return Status{Path: m.pathOrEmpty()}
	}
	m.mu.Lock()
	fresh := m.seen && m.now().Sub(m.at) < sampleEvery
	st := m.last
	m.mu.Unlock()
	if fresh {
		return st
	}
	return m.Check()
}

// Low reports whether the free space is under the threshold (see Status).
func (m *Monitor) Low() bool { return m.Status().Low }

func (m *Monitor) pathOrEmpty() string {
	if m == nil {
		return ""
	}
	return m.path
}

// Bytes formats n for people: "812 MB", "1.5 GB".
func Bytes(n uint64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%d MB", n>>20)
	case n >= 1<<10:
		return fmt.Sprintf("%d KB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// ParseBytes reads a size as an operator writes it: "1GB", "500MB",
// "2.5G", "0" (off), or a number of bytes.
func ParseBytes(s string) (uint64, error) {
	var num float64
	var unit string
	if _, err := fmt.Sscanf(s, "%g%s", &num, &unit); err != nil {
		if _, err2 := fmt.Sscanf(s, "%g", &num); err2 != nil {
			return 0, fmt.Errorf("not a size: %q (write e.g. 1GB, 500MB or 0)", s)
		}
		unit = ""
	}
	mult := map[string]float64{"": 1, "B": 1, "K": 1 << 10, "KB": 1 << 10, "M": 1 << 20, "MB": 1 << 20, "G": 1 << 30, "GB": 1 << 30, "T": 1 << 40, "TB": 1 << 40}
	f, ok := mult[unit]
	if !ok || num < 0 {
		return 0, fmt.Errorf("not a size: %q (write e.g. 1GB, 500MB or 0)", s)
	}
	return uint64(num * f), nil
}
