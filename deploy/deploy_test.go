// Package deploy_test checks the files in deploy/: the systemd unit and
// the container image recipe keep the hardening docs/operating.md
// promises.
package deploy_test

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// unit reads a systemd unit's [Service] and [Unit] keys; a key given
// twice keeps every value.
func unit(t *testing.T, path string) map[string][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	keys := map[string][]string{}
	section := ""
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = line
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" || strings.TrimSpace(k) != k {
				t.Fatalf("%s:%d: not a key=value line in a section: %q", path, n, line)
			}
			keys[section+k] = append(keys[section+k], v)
		}
	}
	return keys
}

func TestSystemdUnit(t *testing.T) {
	u := unit(t, "salama.service")
	one := func(k string) string {
		if v := u["[Service]"+k]; len(v) == 1 {
			return v[0]
		}
		t.Errorf("[Service] %s: %q, want exactly one value", k, u["[Service]"+k])
		return ""
	}
	for k, want := range map[string]string{
		"User": "salama", "NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes",
		"StateDirectory": "salama", "Restart": "on-failure", "AmbientCapabilities": "CAP_NET_BIND_SERVICE",
		"CapabilityBoundingSet": "CAP_NET_BIND_SERVICE", "PrivateDevices": "yes", "RestrictSUIDSGID": "yes",
		"ProtectKernelModules": "yes", "ProtectKernelTunables": "yes", "ProtectControlGroups": "yes", "LockPersonality": "yes",
		"UMask": "0077", "StateDirectoryMode": "0700", "KillSignal": "SIGTERM",
	} {
		if got := one(k); got != want {
			t.Errorf("[Service] %s=%s, want %s", k, got, want)
		}
	}
	// The data directory is the state directory: the only place it may
	// write.
	if env := strings.Join(u["[Service]Environment"], " "); !strings.Contains(env, "SALAMA_DATA=/var/lib/salama") {
		t.Errorf("Environment %q does not point SALAMA_DATA at the state directory", env)
	}
	if rw := u["[Service]ReadWritePaths"]; len(rw) != 0 {
		t.Errorf("ReadWritePaths %q: the state directory is the only writable place", rw)
	}
	if got := one("ExecStart"); !strings.HasPrefix(got, "/usr/local/bin/salama serve") {
		t.Errorf("ExecStart=%s", got)
	}
	// Longer than salama serve's default shutdown grace (60 s), so systemd
	// does not kill requests the server is finishing.
	if d, err := time.ParseDuration(one("TimeoutStopSec") + "s"); err != nil || d <= 60*time.Second {
		t.Errorf("TimeoutStopSec=%s: want more than the 60 s shutdown grace", one("TimeoutStopSec"))
	}
	if n, err := strconv.Atoi(one("LimitNOFILE")); err != nil || n < 4096 {
		t.Errorf("LimitNOFILE=%s", one("LimitNOFILE"))
	}

	// systemd's own check, where systemd is installed (the binary the
	// unit names need not be: a stand-in takes its place).
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("no systemd-analyze here: only the keys were checked")
	}
	dir := t.TempDir()
	stand := filepath.Join(dir, "salama")
	if err := os.WriteFile(stand, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	var copies []string
	for _, name := range []string{"salama.service", "salama-backup.service", "salama-backup.timer"} {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		copied := filepath.Join(dir, name)
		os.WriteFile(copied, []byte(strings.ReplaceAll(string(b), "/usr/local/bin/salama", stand)), 0o644)
		copies = append(copies, copied)
	}
	out, err := exec.Command(sa, append([]string{"verify", "--man=no"}, copies...)...).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

func TestContainerfile(t *testing.T) {
	b, err := os.ReadFile("Containerfile")
	if err != nil {
		t.Fatal(err)
	}
	cf := string(b)
	var stages []string
	for _, m := range regexp.MustCompile(`(?m)^FROM\s+(\S+)`).FindAllStringSubmatch(cf, -1) {
		stages = append(stages, m[1])
	}
	if len(stages) < 2 {
		t.Fatalf("FROM %q: want a build stage and a small final stage", stages)
	}
	final := cf[strings.LastIndex(cf, "\nFROM "):]
	if last := stages[len(stages)-1]; last != "scratch" && !strings.Contains(last, "distroless") {
		t.Errorf("final stage FROM %s: want scratch or distroless (nothing but the binary)", last)
	}
	for _, want := range []string{"CGO_ENABLED=0", "-X github.com/salama-ke/salama/internal/version.Version="} {
		if !strings.Contains(cf, want) {
			t.Errorf("the build does not set %s", want)
		}
	}
	user := regexp.MustCompile(`(?m)^USER\s+(\S+)`).FindAllStringSubmatch(final, -1)
	if len(user) != 1 || strings.HasPrefix(user[0][1], "0") || strings.HasPrefix(user[0][1], "root") {
		t.Errorf("final stage USER %q: want one non-root user", user)
	}
	if !regexp.MustCompile(`(?m)^VOLUME\s+\["/data"\]`).MatchString(final) || !strings.Contains(final, "SALAMA_DATA=/data") {
		t.Error("the data directory is not the /data volume")
	}
	// A static build needs a pure-Go SQLite driver: no cgo one in go.mod.
	mod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(mod), "modernc.org/sqlite") || strings.Contains(string(mod), "mattn/go-sqlite3") {
		t.Error("go.mod: the SQLite driver must be modernc.org/sqlite (pure Go) for CGO_ENABLED=0")
	}
}
