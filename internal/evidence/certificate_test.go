package evidence

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/salama-ke/salama/internal/seal"
)

var update = flag.Bool("update", false, "rewrite the certificate's golden file")

var produced = time.Date(2026, 3, 1, 11, 5, 0, 0, time.UTC)

func sampleInfo() CertificateInfo {
	return CertificateInfo{CaseRef: "K7Q4-92XM", Organisation: "Example Org (demo)", Produced: produced,
		BundleName: "salama-evidence-K7Q4-92XM-20260301.zip",
		Source:     "The survivor typed the information into the Salama web form on their own device.",
		System:     []string{"Software: Salama, version (devel)", "Database: SQLite"},
		SigningKey: "salama-ed25519:AAAA"}
}

func sampleRecords() []Record {
	received := time.Date(2026, 2, 27, 18, 40, 12, 0, time.UTC)
	return []Record{
		{Path: "README.txt", Description: "What the bundle holds and how to check it.", Captured: produced, Data: []byte("This is an evidence bundle.\n")},
		{Path: "account.txt", Description: "The survivor's account: their answers and their own words.", Captured: received, Data: []byte("He sent my photos to the group.\n")},
		{Path: "thread.txt", Description: "The messages between the survivor and the caseworkers.", Captured: received, CapturedUntil: produced, Data: []byte("No messages.\n")},
		{Path: "screenshots/1-ab12.png", Description: "A screenshot, exactly as sent.", Captured: received, Data: []byte("\x89PNG\r\n\x1a\n…not really")},
		{Path: "empty.txt", Data: nil},
	}
}

// certifiedBundle builds a bundle as casework does: the records, the
// certificate over them, and a summary (which, in a real bundle, reproduces
// the certificate; here it is short, to keep the byte-by-byte tests quick).
func certifiedBundle(t testing.TB, key *seal.SigningKey) ([]byte, []byte) {
	t.Helper()
	recs := sampleRecords()
	cert, err := Certificate(sampleInfo(), recs)
	if err != nil {
		t.Fatal(err)
	}
	var files []File
	for _, r := range recs {
		files = append(files, File{r.Path, r.Data})
	}
	files = append(files, File{CertificateName, cert}, File{SummaryName, []byte("<!doctype html><title>summary</title>")})
	b, _ := build(t, files, key)
	return b, cert
}

// The wording is pinned: docs/evidence.md quotes it, and a signer who signed
// one bundle's certificate must find the same words on the next.
func TestCertificateGolden(t *testing.T) {
	cert, err := Certificate(sampleInfo(), sampleRecords())
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "certificate-v1.txt")
	if *update {
		os.WriteFile(golden, cert, 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(cert, want) {
		t.Errorf("certificate changed (go test -run Golden -update to accept):\n%s", cert)
	}
	for _, line := range strings.Split(string(cert), "\n") {
		if n := len([]rune(line)); n > 78 && !strings.Contains(line, "SHA-256: ") {
			t.Errorf("line of %d characters: %q", n, line)
		}
	}
	for _, want := range []string{
		"SECTION 106B(4) OF THE EVIDENCE ACT (CAP. 80 OF THE LAWS OF KENYA)", "identified by its file name", "HOW THE RECORDS WERE PRODUCED", "PARTICULARS OF THE SYSTEM",
		"typed the information into the Salama web form", "Database: SQLite", "salama-ed25519:AAAA",
		"operating properly", "ordinary course", "responsible position", "Signature:", "Full name:", "Position:",
		"Captured: 27 February 2026, 21:40:12 EAT (2026-02-27 18:40:12 UTC)",
	} {
		if !strings.Contains(strings.Join(strings.Fields(string(cert)), " "), want) {
			t.Errorf("certificate lacks %q", want)
		}
	}
}

// The schedule read back is what was written: every record, its size and
// the SHA-256 of its bytes.
func TestCertificateRoundTrip(t *testing.T) {
	recs := sampleRecords()
	cert, err := Certificate(sampleInfo(), recs)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseCertificate(cert)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(recs) {
		t.Fatalf("%d records read back, %d written", len(got), len(recs))
	}
	for i, r := range recs {
		sum := sha256.Sum256(r.Data)
		if got[i] != (CertifiedRecord{r.Path, int64(len(r.Data)), hex.EncodeToString(sum[:])}) {
			t.Errorf("record %d: %+v", i, got[i])
		}
	}
	// Windows line ends (a certificate opened and saved in Notepad) read
	// the same.
	if crlf, err := ParseCertificate(bytes.ReplaceAll(cert, []byte("\n"), []byte("\r\n"))); err != nil || !slices.Equal(crlf, got) {
		t.Errorf("CRLF: %v", err)
	}
	for _, bad := range []Record{{Path: CertificateName}, {Path: SummaryName}, {Path: ManifestName}, {Path: "../x"}, {Path: "a", Description: "two\nlines"}} {
		if _, err := Certificate(sampleInfo(), []Record{bad}); err == nil {
			t.Errorf("Certificate accepted %+v", bad)
		}
	}
	if _, err := Certificate(sampleInfo(), []Record{{Path: "a"}, {Path: "a"}}); err == nil {
		t.Error("Certificate accepted a path twice")
	}
}

func TestParseCertificateRefuses(t *testing.T) {
	cert, _ := Certificate(sampleInfo(), sampleRecords())
	text := string(cert)
	sum := hex.EncodeToString(func() []byte { s := sha256.Sum256([]byte("He sent my photos to the group.\n")); return s[:] }())
	for name, b := range map[string]string{
		"not a certificate":   "hello",
		"no schedule end":     strings.Replace(text, scheduleEnd, "", 1),
		"record out of order": strings.Replace(text, "Record 2: account.txt", "Record 3: account.txt", 1),
		"a path twice":        strings.Replace(text, "Record 2: account.txt", "Record 2: README.txt", 1),
		"unsafe path":         strings.Replace(text, "Record 2: account.txt", "Record 2: ../account.txt", 1),
		"no digest":           strings.Replace(text, "  SHA-256: "+sum+"\n", "", 1),
		"a digest twice":      strings.Replace(text, "  SHA-256: "+sum+"\n", "  SHA-256: "+sum+"\n  SHA-256: "+sum+"\n", 1),
		"a short digest":      strings.Replace(text, "  SHA-256: "+sum, "  SHA-256: "+sum[:60], 1),
		"a size in words":     strings.Replace(text, "  Size: 32 bytes", "  Size: thirty-two bytes", 1),
		"empty schedule":      CertificateHeading + "\nSCHEDULE OF RECORDS\n" + scheduleEnd + "\n",
		"not UTF-8":           text + "\xff",
	} {
		if _, err := ParseCertificate([]byte(b)); !errors.Is(err, ErrNotCertificate) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestCertifiedBundleVerifies(t *testing.T) {
	key := seal.NewSigningKeyForTest()
	b, _ := certifiedBundle(t, key)
	v, err := verify(b, key.Public())
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Certificate) != len(sampleRecords()) {
		t.Errorf("%d certified records", len(v.Certificate))
	}
	// A bundle without a certificate (made before them) still verifies,
	// and says it has none.
	plain, _ := build(t, sampleFiles(), key)
	if v, err := verify(plain, key.Public()); err != nil || v.Certificate != nil {
		t.Errorf("bundle without a certificate: %+v, %v", v, err)
	}
}

// Issue 15: any byte of any record changed is caught by the certificate,
// which names the record, beside the manifest; so is a record the
// certificate does not list, and a certificate whose digest was edited.
func TestCertificateCatchesEveryChangedByte(t *testing.T) {
	t.Parallel()
	key := seal.NewSigningKeyForTest()
	b, _ := certifiedBundle(t, key)
	order := names(t, b)
	entries := unzip(t, b)
	tried := 0
	for _, r := range sampleRecords() {
		orig := entries[r.Path]
		for i := range orig {
			changed := append([]byte{}, orig...)
			changed[i] ^= 0x01
			entries[r.Path] = changed
			_, err := verify(rezip(t, order, entries), key.Public())
			var ve *VerifyError
			if !errors.As(err, &ve) || ve.File != r.Path {
				t.Fatalf("byte %d of %s changed: %v", i, r.Path, err)
			}
			if !slices.ContainsFunc(ve.All, func(p Problem) bool {
				return p.File == r.Path && strings.Contains(p.Problem, CertificateName+" says")
			}) {
				t.Fatalf("byte %d of %s changed: the certificate check did not name it: %v", i, r.Path, err)
			}
			tried++
		}
		entries[r.Path] = orig
	}
	if tried < 80 {
		t.Fatalf("only %d bytes tried", tried)
	}
	// Two records changed: both named.
	a, s := entries["account.txt"], entries["screenshots/1-ab12.png"]
	entries["account.txt"], entries["screenshots/1-ab12.png"] = []byte("changed\n"), []byte("changed too")
	_, err := verify(rezip(t, order, entries), key.Public())
	for _, name := range []string{"account.txt", "screenshots/1-ab12.png"} {
		if err == nil || !strings.Contains(err.Error(), name+": changed") {
			t.Errorf("two records changed: %v does not name %s", err, name)
		}
	}
	entries["account.txt"], entries["screenshots/1-ab12.png"] = a, s
	// A file the certificate does not cover.
	entries["extra.txt"] = []byte("planted")
	_, err = verify(rezip(t, append(slices.Clone(order), "extra.txt"), entries), key.Public())
	if err == nil || !strings.Contains(err.Error(), "extra.txt: is not in the schedule of "+CertificateName) {
		t.Errorf("a file added: %v", err)
	}
	delete(entries, "extra.txt")
	// The certificate's digest of a record edited to match a changed
	// record: the record agrees with the certificate, but the
	// certificate and the record both differ from the signed manifest.
	cert := entries[CertificateName]
	sum := sha256.Sum256(a)
	forged := sha256.Sum256([]byte("He sent my photos to the group?\n"))
	entries[CertificateName] = bytes.Replace(cert, []byte(hex.EncodeToString(sum[:])), []byte(hex.EncodeToString(forged[:])), 1)
	entries["account.txt"] = []byte("He sent my photos to the group?\n")
	_, err = verify(rezip(t, order, entries), key.Public())
	if err == nil || !strings.Contains(err.Error(), "account.txt: changed") || !strings.Contains(err.Error(), CertificateName+": changed") {
		t.Errorf("certificate and record edited together: %v", err)
	}
}

// Flipping any one byte of the archive as written (compressed, with its
// zip headers) either fails verification or leaves every file's content as
// it was: no change to the evidence passes unnoticed.
func TestBundleEveryArchiveByte(t *testing.T) {
	t.Parallel()
	key := seal.NewSigningKeyForTest()
	b, _ := certifiedBundle(t, key)
	orig := unzip(t, b)
	undetected := 0
	for i := range b {
		changed := append([]byte{}, b...)
		changed[i] ^= 0x01
		if _, err := verify(changed, key.Public()); err != nil {
			continue
		}
		undetected++
		got := unzip(t, changed)
		for name, data := range orig {
			if !bytes.Equal(got[name], data) {
				t.Fatalf("byte %d of the archive changed %s and the bundle still verified", i, name)
			}
		}
		if len(got) != len(orig) {
			t.Fatalf("byte %d of the archive changed its files and the bundle still verified", i)
		}
	}
	t.Logf("%d of %d archive bytes are zip metadata that changes no file", undetected, len(b))
}

func FuzzParseCertificate(f *testing.F) {
	cert, _ := Certificate(sampleInfo(), sampleRecords())
	f.Add(cert)
	f.Add([]byte(CertificateHeading + "\nSCHEDULE OF RECORDS\nRecord 1: a\n  Size: 1 bytes\n  SHA-256: " + strings.Repeat("a", 64) + "\n" + scheduleEnd + "\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		recs, err := ParseCertificate(b)
		if err != nil {
			if !errors.Is(err, ErrNotCertificate) {
				t.Fatalf("error %v is not ErrNotCertificate", err)
			}
			return
		}
		seen := map[string]bool{}
		for _, r := range recs {
			if checkPath(r.Path) != nil || seen[r.Path] || r.Size < 0 || len(r.SHA256) != 64 {
				t.Fatalf("accepted %+v", r)
			}
			seen[r.Path] = true
		}
	})
}
