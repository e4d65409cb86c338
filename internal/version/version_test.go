package version

import (
	"runtime/debug"
	"testing"
)

func TestString(t *testing.T) {
	defer func(v string, f func() (*debug.BuildInfo, bool)) { Version, readBuildInfo = v, f }(Version, readBuildInfo)
	info := func(v string, s ...string) func() (*debug.BuildInfo, bool) {
		return func() (*debug.BuildInfo, bool) {
			bi := &debug.BuildInfo{Main: debug.Module{Version: v}}
			for i := 0; i+1 < len(s); i += 2 {
				bi.Settings = append(bi.Settings, debug.BuildSetting{Key: s[i], Value: s[i+1]})
			}
			return bi, true
		}
	}
	for _, tc := range []struct {
		stamped string
		info    func() (*debug.BuildInfo, bool)
		want    string
	}{
		{"v1.4.0", info("(devel)", "vcs.revision", "abcdef0123456789"), "v1.4.0"},
		{"", info("(devel)", "vcs.revision", "abcdef0123456789", "vcs.time", "2026-12-06T06:30:00Z", "vcs.modified", "true"),
			"devel abcdef012345 (2026-12-06T06:30:00Z, modified)"},
		{"", info("v1.3.0"), "v1.3.0"},
		{"", info("v0.0.0-20261206063000-abcdef012345", "vcs.revision", "abcdef0123456789"), "devel abcdef012345"},
		{"", info("(devel)"), "unknown"},
		{"", func() (*debug.BuildInfo, bool) { return nil, false }, "unknown"},
	} {
		Version, readBuildInfo = tc.stamped, tc.info
		if got := String(); got != tc.want {
			t.Errorf("stamped %q: String() = %q, want %q", tc.stamped, got, tc.want)
		}
	}
}
