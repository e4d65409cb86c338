// Package version says which Salama this is: the version stamped at build
// time (go build -ldflags "-X github.com/salama-ke/salama/internal/version.Version=v1.2.3"),
// or else what the Go toolchain recorded of the source (module version, VCS
// revision and time, whether the tree was modified). `salama version`,
// the start-up log and the console's health page show it, so an operator
// can tell which build runs before and after an upgrade.
package version

import (
	"runtime"
	"runtime/debug"
	"strings"
)

// Version is set at build time with -ldflags -X; empty means "read the
// build information".
var Version string

// readBuildInfo is debug.ReadBuildInfo; tests replace it.
var readBuildInfo = debug.ReadBuildInfo

// String is the version in one line, e.g. "v1.2.0", or
// "devel 8b60483c1f2e (2026-12-06T06:30:00Z, modified)" for a build of a
// work tree, or "unknown" when nothing was recorded.
func String() string {
	if v := strings.TrimSpace(Version); v != "" {
		return v
	}
	bi, ok := readBuildInfo()
	if !ok {
		return "unknown"
	}
	var rev, at string
	modified := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	v := bi.Main.Version
	if v == "(devel)" {
		v = ""
	}
	if rev == "" {
		if v == "" {
			return "unknown"
		}
		return v
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if v == "" || strings.Contains(v, rev) {
		// A pseudo-version already names the revision.
		v = "devel"
	}
	var extra []string
	if at != "" {
		extra = append(extra, at)
	}
	if modified {
		extra = append(extra, "modified")
	}
	s := v + " " + rev
	if len(extra) > 0 {
		s += " (" + strings.Join(extra, ", ") + ")"
	}
	return s
}

// Full is String with the Go version and platform, for `salama version`.
func Full() string {
	return "salama " + String() + " " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH
}
