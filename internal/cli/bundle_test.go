package cli_test

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/salama-ke/salama/internal/evidence"
	"github.com/salama-ke/salama/internal/seal"
)

// writeBundle writes a bundle signed by key to dir/name.
func writeBundle(t *testing.T, dir, name string, key *seal.SigningKey, files []evidence.File) string {
	t.Helper()
	var b bytes.Buffer
	if _, err := evidence.Build(&b, evidence.Header{CaseRef: "K7Q4-92XM", ExportedBy: "Example Org (demo)", ExportedAt: time.Now()}, files, key); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// changeFile rewrites a bundle with one byte of one of its files changed.
func changeFile(t *testing.T, src, dst, name string) {
	t.Helper()
	zr, err := zip.OpenReader(src)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, f := range zr.File {
		rc, _ := f.Open()
		data, _ := io.ReadAll(rc)
		rc.Close()
		if f.Name == name {
			data[len(data)/2] ^= 0x20
		}
		w, _ := zw.Create(f.Name)
		w.Write(data)
	}
	zw.Close()
	if err := os.WriteFile(dst, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyBundleAndSigningKey(t *testing.T) {
	for _, v := range []string{"SALAMA_SIGNING_KEY", "SALAMA_DATA"} {
		t.Setenv(v, "")
	}
	dir := t.TempDir()
	if code, _, stderr := run("signing-key", "--data", dir); code != 1 || !strings.Contains(stderr, "signing key") {
		t.Errorf("signing-key without a key: exit %d, %q", code, stderr)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("signing-key created %d files", len(entries))
	}
	key, err := seal.LoadOrCreateSigningKey(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	code, stdout, _ := run("signing-key", "--data", dir)
	pub := strings.TrimSpace(stdout)
	if code != 0 || pub != key.Public().String() {
		t.Fatalf("signing-key: exit %d, %q, want %s", code, stdout, key.Public())
	}

	files := []evidence.File{
		{Path: "README.txt", Data: []byte("An evidence bundle.\n")},
		{Path: "account.txt", Data: []byte("He sent my photos to the group.\n")},
		{Path: "screenshots/1-ab.png", Data: []byte("\x89PNG\r\n\x1a\nnot really a picture")},
	}
	good := writeBundle(t, dir, "good.zip", key, files)
	other := writeBundle(t, dir, "other.zip", seal.NewSigningKeyForTest(), files)
	changed := filepath.Join(dir, "changed.zip")
	changeFile(t, good, changed, "account.txt")
	notZip := filepath.Join(dir, "not.zip")
	os.WriteFile(notZip, []byte("PK? no"), 0o600)

	for _, tc := range []struct {
		name     string
		args     []string
		code     int
		out, err string
	}{
		{"verifies with the key", []string{good, "--key", pub}, 0, "bundle OK: case K7Q4-92XM, 3 files", ""},
		{"key first", []string{"--key", pub, good}, 0, "the key given", ""},
		{"without a key", []string{good}, 3, "bundle NOT verified", ""},
		{"a file changed", []string{changed, "--key", pub}, 1, "", "account.txt: changed"},
		{"another deployment's key", []string{other, "--key", pub}, 1, "", "manifest.json: the signature"},
		{"not a zip", []string{notZip}, 1, "", "not a zip"},
		{"a file changed, no key", []string{changed}, 1, "", "account.txt: changed"},
		{"no file", nil, 2, "", "give one bundle file"},
		{"two files", []string{good, other}, 2, "", "give one bundle file"},
		{"missing file", []string{filepath.Join(dir, "nope.zip")}, 2, "", "no such file"},
		{"malformed key", []string{good, "--key", "salama-ed25519:abc"}, 2, "", "--key"},
		{"help", []string{"--help"}, 0, "", "Exit status"},
	} {
		code, stdout, stderr := run(append([]string{"verify-bundle"}, tc.args...)...)
		if code != tc.code || !strings.Contains(stdout, tc.out) || !strings.Contains(stderr, tc.err) {
			t.Errorf("%s: exit %d (want %d)\nstdout %q\nstderr %q", tc.name, code, tc.code, stdout, stderr)
		}
		if code != 0 && strings.Contains(stdout, " OK") {
			t.Errorf("%s: says OK on failure", tc.name)
		}
	}
}

// Issue 12 (5): without --key, verify-bundle said "bundle OK" for a bundle
// a forger signed with their own key. Now it gives no success verdict,
// names the key that signed it, says how to get the organisation's
// published key, and exits 3; with the organisation's key the forgery fails.
func TestVerifyBundleWithoutKeyIsNotASuccess(t *testing.T) {
	for _, v := range []string{"SALAMA_SIGNING_KEY", "SALAMA_DATA"} {
		t.Setenv(v, "")
	}
	dir := t.TempDir()
	org, err := seal.LoadOrCreateSigningKey(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	forger := seal.NewSigningKeyForTest()
	forged := writeBundle(t, t.TempDir(), "forged.zip", forger, []evidence.File{
		{Path: "README.txt", Data: []byte("An evidence bundle.\n")},
		{Path: "account.txt", Data: []byte("Words the survivor never wrote.\n")},
	})

	code, stdout, stderr := run("verify-bundle", forged)
	if code != 3 {
		t.Errorf("forged bundle without --key: exit %d, want 3", code)
	}
	for _, want := range []string{"NOT verified", forger.Public().String(), "salama signing-key", "--key"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout, "bundle OK") || strings.Contains(stderr, "bundle OK") {
		t.Errorf("a success verdict without a key:\n%s", stdout)
	}

	_, pub, _ := run("signing-key", "--data", dir)
	code, stdout, stderr = run("verify-bundle", "--key", strings.TrimSpace(pub), forged)
	if code != 1 || strings.Contains(stdout, "OK") || !strings.Contains(stderr, "does NOT verify") {
		t.Errorf("forged bundle with the organisation's key %s: exit %d\n%s%s", org.Public(), code, stdout, stderr)
	}
}
