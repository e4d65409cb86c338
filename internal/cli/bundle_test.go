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

// Issue 15: verify-bundle checks the certificate's schedule against the
// records and names every record that differs, not only the first.
func TestVerifyBundleCertificate(t *testing.T) {
	dir := t.TempDir()
	key := seal.NewSigningKeyForTest()
	pub := key.Public().String()
	records := []evidence.Record{
		{Path: "README.txt", Description: "What the bundle holds.", Data: []byte("An evidence bundle.\n")},
		{Path: "account.txt", Description: "The survivor's account.", Captured: time.Now(), Data: []byte("He sent my photos to the group.\n")},
		{Path: "thread.txt", Description: "The conversation.", Captured: time.Now(), Data: []byte("No messages.\n")},
		{Path: "screenshots/1-ab.png", Description: "A screenshot.", Captured: time.Now(), Data: []byte("\x89PNG\r\n\x1a\nnot really a picture")},
	}
	cert, err := evidence.Certificate(evidence.CertificateInfo{CaseRef: "K7Q4-92XM", Organisation: "Example Org (demo)", Produced: time.Now(), SigningKey: pub}, records)
	if err != nil {
		t.Fatal(err)
	}
	var files []evidence.File
	for _, r := range records {
		files = append(files, evidence.File{Path: r.Path, Data: r.Data})
	}
	files = append(files, evidence.File{Path: evidence.CertificateName, Data: cert})
	good := writeBundle(t, dir, "good.zip", key, files)
	code, stdout, stderr := run("verify-bundle", good, "--key", pub)
	if code != 0 || !strings.Contains(stdout, "certificate.txt: the SHA-256 of each of its 4 records matches the record") {
		t.Fatalf("certified bundle: exit %d\n%s%s", code, stdout, stderr)
	}

	// Two records changed, one byte each: both named, as differing from
	// the manifest and from the certificate.
	once := filepath.Join(dir, "once.zip")
	changeFile(t, good, once, "account.txt")
	twice := filepath.Join(dir, "twice.zip")
	changeFile(t, once, twice, "screenshots/1-ab.png")
	code, stdout, stderr = run("verify-bundle", twice, "--key", pub)
	if code != 1 || strings.Contains(stdout, "OK") {
		t.Fatalf("changed bundle: exit %d\n%s", code, stdout)
	}
	for _, want := range []string{
		"4 problems",
		"account.txt: changed: its SHA-256 is",
		"the manifest says",
		"certificate.txt says",
		"screenshots/1-ab.png: changed",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("output lacks %q:\n%s", want, stderr)
		}
	}
	for _, unchanged := range []string{"README.txt:", "thread.txt:"} {
		if strings.Contains(stderr, unchanged) {
			t.Errorf("output names the unchanged %s:\n%s", unchanged, stderr)
		}
	}

	// A bundle from before certificates says it has none.
	old := writeBundle(t, dir, "old.zip", key, files[:4])
	if code, stdout, _ := run("verify-bundle", old, "--key", pub); code != 0 || !strings.Contains(stdout, "no certificate.txt") {
		t.Errorf("bundle without a certificate: exit %d\n%s", code, stdout)
	}
}
