package cli_test

import (
	"strings"
	"testing"
)

// The statistics flags are documented, and a threshold that would suppress
// nothing is refused before anything starts.
func TestStatsFlags(t *testing.T) {
	for _, v := range []string{"SALAMA_PUBLIC_STATS", "SALAMA_STATS_K", "SALAMA_STATS_K_REPLACES"} {
		t.Setenv(v, "")
	}
	_, _, help := run("serve", "--help")
	for _, want := range []string{"-public-stats", "SALAMA_PUBLIC_STATS", "-stats-k", "SALAMA_STATS_K", "(default 5)", "-stats-k-replaces", "SALAMA_STATS_K_REPLACES"} {
		if !strings.Contains(help, want) {
			t.Errorf("serve --help lacks %q", want)
		}
	}
	for _, k := range []string{"1", "0", "-3"} {
		code, _, stderr := run("serve", "--data", t.TempDir(), "--stats-k", k)
		if code == 0 || !strings.Contains(stderr, "--stats-k must be at least 2") {
			t.Errorf("--stats-k %s: exit %d, %q", k, code, stderr)
		}
	}
}
