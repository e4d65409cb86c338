package cli_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/salama-ke/salama/internal/version"
)

// TestVersionCommand: salama version names this build, and a binary built
// with -ldflags -X says the stamped version (as deploy/Containerfile and
// docs/operating.md build it).
func TestVersionCommand(t *testing.T) {
	code, stdout, _ := run("version")
	if code != 0 || !strings.HasPrefix(stdout, "salama "+version.String()+" ") || !strings.Contains(stdout, runtime.Version()) {
		t.Errorf("salama version: exit %d, %q", code, stdout)
	}
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "salama")
	build := exec.Command("go", "build", "-o", bin, "-ldflags", "-X github.com/salama-ke/salama/internal/version.Version=v9.8.7-test", "github.com/salama-ke/salama/cmd/salama")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil || !strings.HasPrefix(string(out), "salama v9.8.7-test ") {
		t.Errorf("the stamped binary says %q (%v)", out, err)
	}
}
