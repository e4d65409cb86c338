package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A SALAMA_* variable that does not parse used to be ignored silently, so
// SALAMA_STATS_K=three ran with the default k and SALAMA_BEHIND_TLS=yes
// without Secure cookies. Now the command refuses to start and names it.
func TestEnvironmentThatDoesNotParseIsRefused(t *testing.T) {
	for _, tc := range []struct{ name, value, want string }{
		{"SALAMA_STATS_K", "three", `SALAMA_STATS_K="three" is not a whole number (it sets --stats-k)`},
		{"SALAMA_BEHIND_TLS", "yes please", `SALAMA_BEHIND_TLS="yes please" is not true or false (it sets --behind-tls)`},
		{"SALAMA_SHUTDOWN_GRACE", "60", `SALAMA_SHUTDOWN_GRACE="60" is not a duration such as 90s or 5m (it sets --shutdown-grace)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("SALAMA_DATA", t.TempDir())
			t.Setenv(tc.name, tc.value)
			code, stdout, stderr := run("serve", "--addr", "127.0.0.1:0")
			if code == 0 || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr:\n%s%s", code, stderr, stdout)
			}
			if _, err := os.Stat(filepath.Join(os.Getenv("SALAMA_DATA"), "salama.db")); err == nil {
				t.Error("the database was created before the variable was checked")
			}
		})
	}
}

// Salama reads its environment in internal/cli/env.go only (issue 13: it
// was read by hand in eleven places, one of them the application library).
func TestEnvironmentReadInOnePlace(t *testing.T) {
	root := filepath.Join("..", "..")
	var offenders []string
	for _, dir := range []string{"internal", "cmd/salama"} {
		filepath.WalkDir(filepath.Join(root, dir), func(path string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				switch d.Name() {
				case "testdata", "crashtest", "browsertest", "storetest", "apptest", "smstest", "mailtest", "evidencetest", "testkit":
					return filepath.SkipDir // test harnesses read their own settings
				}
				return nil
			}
			if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") || strings.HasSuffix(path, filepath.Join("cli", "env.go")) {
				return nil
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if s := string(b); strings.Contains(s, "os.Getenv(") || strings.Contains(s, "os.LookupEnv(") || strings.Contains(s, "os.Environ(") {
				offenders = append(offenders, path)
			}
			return nil
		})
	}
	if len(offenders) > 0 {
		t.Errorf("these read the environment; read it in internal/cli/env.go and pass the value down: %v", offenders)
	}
}
