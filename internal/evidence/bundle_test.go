package evidence

import (
	"archive/zip"
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/salama-ke/salama/internal/seal"
)

const vectorSeed = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

func vectorKey(t testing.TB) *seal.SigningKey {
	t.Helper()
	k, err := seal.LoadSigningKey("", vectorSeed)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func sampleFiles() []File {
	return []File{
		{"README.txt", []byte("This is an evidence bundle.\n")},
		{"account.txt", []byte("He sent my photos to the group.\n")},
		{"identifiers.json", []byte(`[{"type":"phone","value":"0712 345 678","normalised":"+254712345678"}]` + "\n")},
		{"screenshots/1-ab12.png", []byte("\x89PNG\r\n\x1a\n…not really")},
		{"empty.txt", nil},
	}
}

func build(t testing.TB, files []File, key *seal.SigningKey) ([]byte, string) {
	t.Helper()
	var b bytes.Buffer
	h := Header{CaseRef: "K7Q4-92XM", ExportedBy: "Example Org (demo)", ExportedAt: time.Date(2026, 3, 1, 11, 5, 0, 0, time.UTC)}
	sum, err := Build(&b, h, files, key)
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), sum
}

func verify(b []byte, key seal.PublicKey) (*Verified, error) {
	return Verify(bytes.NewReader(b), int64(len(b)), key)
}

// The format is pinned: the same files, time and key always give these
// manifest bytes and this signature (Ed25519 is deterministic), kept in
// testdata. A change here breaks every verifier in the field; it must be a
// new Format and SignatureContext instead.
func TestBundleFixedVector(t *testing.T) {
	b, sum := build(t, sampleFiles(), vectorKey(t))
	entries := unzip(t, b)
	for _, name := range []string{ManifestName, SignatureName} {
		want, err := os.ReadFile(filepath.Join("testdata", "bundle-v1-"+name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(entries[name], want) {
			t.Errorf("%s changed:\n%s\nwant:\n%s", name, entries[name], want)
		}
	}
	if sum != "644d24307103f3965c66a1350ea1d59048749a42116f717a5ad20b4aa1e27dae" {
		t.Errorf("manifest SHA-256 %s", sum)
	}
}

func unzip(t testing.TB, b []byte) map[string][]byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		out[f.Name] = data
	}
	return out
}

// rezip writes entries (in the given order) as a new archive, as someone
// editing a bundle would.
func rezip(t testing.TB, names []string, entries map[string][]byte) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, n := range names {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: n, Method: zip.Store}) // Store: quick under -race
		if err != nil {
			t.Fatal(err)
		}
		w.Write(entries[n])
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func names(t testing.TB, b []byte) []string {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range zr.File {
		out = append(out, f.Name)
	}
	return out
}

func TestBundleVerifies(t *testing.T) {
	key := seal.NewSigningKeyForTest()
	b, sum := build(t, sampleFiles(), key)
	v, err := verify(b, key.Public())
	if err != nil {
		t.Fatal(err)
	}
	if v.KeyFromBundle || v.ManifestSHA256 != sum || len(v.Manifest.Files) != len(sampleFiles()) || v.Manifest.CaseRef != "K7Q4-92XM" {
		t.Errorf("verified %+v, want manifest %s", v, sum)
	}
	// Without a key: intact, signed by the key the bundle names, and says so.
	v, err = verify(b, seal.PublicKey{})
	if err != nil || !v.KeyFromBundle || v.Key.String() != key.Public().String() {
		t.Errorf("without a key: %+v, %v", v, err)
	}
	// Another deployment's key: refused, naming the manifest.
	_, err = verify(b, seal.NewSigningKeyForTest().Public())
	var ve *VerifyError
	if !errors.As(err, &ve) || ve.File != ManifestName || !strings.Contains(ve.Problem, "another key") {
		t.Errorf("another key: %v", err)
	}
	// Re-zipped by a tool that adds directory entries: still the same files.
	entries := unzip(t, b)
	redone := rezip(t, append([]string{"screenshots/"}, names(t, b)...), entries)
	if _, err := verify(redone, key.Public()); err != nil {
		t.Errorf("re-zipped with a directory entry: %v", err)
	}
}

// Issue 6: a bundle fails to verify after any one byte of any file
// changes, and the failure names that file.
func TestBundleAnyByteChanged(t *testing.T) {
	t.Parallel()
	key := seal.NewSigningKeyForTest()
	b, _ := build(t, sampleFiles(), key)
	order := names(t, b)
	entries := unzip(t, b)
	tried := 0
	for _, name := range order {
		orig := entries[name]
		for i := range orig {
			changed := append([]byte{}, orig...)
			changed[i] ^= 0x01
			entries[name] = changed
			_, err := verify(rezip(t, order, entries), key.Public())
			var ve *VerifyError
			want := name
			if name == SignatureName {
				want = ManifestName // the signature does not verify over the manifest
			}
			if !errors.As(err, &ve) || ve.File != want {
				t.Fatalf("byte %d of %s changed: %v", i, name, err)
			}
			tried++
		}
		entries[name] = orig
		// Also: a byte added at the end, and the file emptied.
		for _, changed := range [][]byte{append(append([]byte{}, orig...), ' '), {}} {
			if bytes.Equal(changed, orig) {
				continue
			}
			entries[name] = changed
			if _, err := verify(rezip(t, order, entries), key.Public()); err == nil {
				t.Fatalf("%s lengthened or emptied: verified", name)
			}
		}
		entries[name] = orig
	}
	if tried < 500 {
		t.Fatalf("only %d bytes tried", tried)
	}
	if _, err := verify(rezip(t, order, entries), key.Public()); err != nil {
		t.Fatalf("restored bundle: %v", err)
	}
}

func TestBundleMissingExtraDuplicate(t *testing.T) {
	key := seal.NewSigningKeyForTest()
	b, _ := build(t, sampleFiles(), key)
	order := names(t, b)
	entries := unzip(t, b)
	check := func(what string, data []byte, file, problem string) {
		t.Helper()
		_, err := verify(data, key.Public())
		var ve *VerifyError
		if !errors.As(err, &ve) || ve.File != file || !strings.Contains(ve.Problem, problem) {
			t.Errorf("%s: %v", what, err)
		}
	}
	without := func(drop string) []string {
		var out []string
		for _, n := range order {
			if n != drop {
				out = append(out, n)
			}
		}
		return out
	}
	check("a screenshot removed", rezip(t, without("screenshots/1-ab12.png"), entries), "screenshots/1-ab12.png", "missing")
	check("the signature removed", rezip(t, without(SignatureName), entries), SignatureName, "missing")
	check("the manifest removed", rezip(t, without(ManifestName), entries), ManifestName, "missing")
	entries["extra.txt"] = []byte("planted")
	check("a file added", rezip(t, append(order, "extra.txt"), entries), "extra.txt", "not listed")
	check("a file twice", rezip(t, append(order, "account.txt"), entries), "account.txt", "twice")
	check("not a zip", []byte("PK not really"), "", "not a zip")
}

// The format as documented, checked with the standard library alone (as
// an independent verifier would), not with Verify.
func TestBundleFormatAsDocumented(t *testing.T) {
	key := vectorKey(t)
	b, sum := build(t, sampleFiles(), key)
	entries := unzip(t, b)
	order := names(t, b)
	if order[len(order)-2] != ManifestName || order[len(order)-1] != SignatureName {
		t.Errorf("archive order %v", order)
	}
	manifest := entries[ManifestName]
	if h := sha256.Sum256(manifest); hex.EncodeToString(h[:]) != sum {
		t.Errorf("Build returned %s, not the manifest's SHA-256", sum)
	}
	sigText := string(entries[SignatureName])
	if !strings.HasSuffix(sigText, "\n") {
		t.Errorf("manifest.sig %q lacks its newline", sigText)
	}
	sig, err := base64.StdEncoding.DecodeString(strings.TrimSuffix(sigText, "\n"))
	if err != nil {
		t.Fatal(err)
	}
	seed, _ := hex.DecodeString(vectorSeed)
	pub := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
	if !ed25519.Verify(pub, append([]byte("salama/evidence-bundle/v1\n"), manifest...), sig) {
		t.Error("the signature is not Ed25519 over the context and the manifest bytes")
	}
	var m map[string]any
	if err := json.Unmarshal(manifest, &m); err != nil {
		t.Fatal(err)
	}
	if m["format"] != "salama-evidence-bundle/1" || m["signing_key"] != "salama-ed25519:"+base64.StdEncoding.EncodeToString(pub) {
		t.Errorf("manifest header %v", m)
	}
	files := m["files"].([]any)
	for i, f := range sampleFiles() {
		e := files[i].(map[string]any)
		h := sha256.Sum256(f.Data)
		if e["path"] != f.Path || e["size"] != float64(len(f.Data)) || e["sha256"] != hex.EncodeToString(h[:]) {
			t.Errorf("manifest entry %d: %v", i, e)
		}
		if !bytes.Equal(entries[f.Path], f.Data) {
			t.Errorf("%s stored changed", f.Path)
		}
	}
}

func TestBuildRefusesUnsafeNames(t *testing.T) {
	key := seal.NewSigningKeyForTest()
	for _, p := range []string{"", "/etc/passwd", "../x", "a/../b", "a//b", "dir/", ManifestName, SignatureName, "a\\b", "naïve.txt", "a b"} {
		if _, err := Build(io.Discard, Header{}, []File{{Path: p}}, key); err == nil {
			t.Errorf("Build accepted %q", p)
		}
	}
	if _, err := Build(io.Discard, Header{}, []File{{Path: "a"}, {Path: "a"}}, key); err == nil {
		t.Error("Build accepted a name twice")
	}
}

func FuzzVerify(f *testing.F) {
	key := vectorKey(f)
	b, _ := build(f, sampleFiles(), key)
	f.Add(b)
	f.Add([]byte("PK\x05\x06" + strings.Repeat("\x00", 18)))
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := verify(data, key.Public())
		if err == nil && v.ManifestSHA256 == "" {
			t.Fatal("verified without a manifest hash")
		}
		var ve *VerifyError
		if err != nil && !errors.As(err, &ve) {
			t.Fatalf("error %v is not a *VerifyError", err)
		}
	})
}
