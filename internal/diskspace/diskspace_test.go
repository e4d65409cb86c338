package diskspace

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestParseBytes(t *testing.T) {
	for in, want := range map[string]uint64{"0": 0, "1GB": 1 << 30, "500MB": 500 << 20, "2.5G": 5 << 29, "4096": 4096, "1 GB": 1 << 30} {
		got, err := ParseBytes(in)
		if err != nil || got != want {
			t.Errorf("ParseBytes(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "lots", "1XB", "-1GB"} {
		if _, err := ParseBytes(bad); err == nil {
			t.Errorf("ParseBytes(%q) accepted", bad)
		}
	}
}

// The monitor logs each change of state once, answers Low from a recent
// sample, and treats an unreadable file system as not low.
func TestMonitorLogsChangesOnce(t *testing.T) {
	var logs bytes.Buffer
	m := New("/data", 1<<30, slog.New(slog.NewTextHandler(&logs, nil)))
	free := uint64(2 << 30)
	var ferr error
	calls := 0
	m.free = func(string) (uint64, error) { calls++; return free, ferr }
	now := time.Unix(1_800_000_000, 0)
	m.now = func() time.Time { return now }

	if m.Low() {
		t.Fatal("low with 2 GB free")
	}
	free = 100 << 20
	if m.Low() || calls != 1 {
		t.Fatalf("Low re-sampled within %v (%d calls)", sampleEvery, calls)
	}
	now = now.Add(sampleEvery)
	for range 3 {
		if !m.Low() {
			t.Fatal("not low with 100 MB free")
		}
		m.Check()
	}
	free = 3 << 30
	m.Check()
	m.Check()
	if n := strings.Count(logs.String(), "disk space low"); n != 1 {
		t.Errorf("%d low warnings, want 1:\n%s", n, logs.String())
	}
	if n := strings.Count(logs.String(), "back above"); n != 1 {
		t.Errorf("%d recoveries logged, want 1:\n%s", n, logs.String())
	}
	ferr = errors.New("statfs failed")
	if st := m.Check(); st.Low || st.Err == nil {
		t.Errorf("an unreadable file system: %+v", st)
	}
	if (*Monitor)(nil).Low() || New("/x", 0, nil).Low() {
		t.Error("a nil or switched-off monitor is low")
	}
	if real := New(t.TempDir(), 1, nil).Check(); real.Err != nil || real.Free == 0 || real.Low {
		t.Errorf("the real file system: %+v", real)
	}
}
