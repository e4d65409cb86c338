package evidence

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"time"

	"github.com/salama-ke/salama/internal/seal"
)

// The bundle format, version 1. A bundle is a zip archive holding the
// evidence files, then
//
//   - manifest.json: a JSON object (field order and encoding as written by
//     Build; verification works on the bytes, never on a re-encoding)
//
//     {"format": "salama-evidence-bundle/1",
//     "case_ref": "K7Q4-92XM",
//     "exported_at": "2026-03-01T11:05:00Z",
//     "exported_by": "<organisation name>",
//     "signing_key": "salama-ed25519:<base64>",
//     "files": [{"path": "README.txt", "size": 1234, "sha256": "<64 hex>"}, …]}
//
//     listing every other file of the archive, each once, in archive order;
//
//   - manifest.sig: the Ed25519 signature, in padded standard base64 and a
//     newline, of SignatureContext followed by the exact bytes of
//     manifest.json.
//
// A bundle verifies when the signature verifies under the deployment's
// public key, every listed file is in the archive with the listed size and
// SHA-256, the archive holds no other file (directory entries aside), and,
// when it carries a certificate (certificate.go), every record of the
// certificate's schedule is in the archive with the size and SHA-256 the
// schedule gives, and every file but the bundle's own (certificate,
// summary, manifest, signature) is in the schedule. The
// context string keeps a manifest signature from ever being taken for an
// audit-log signature made with the same key, and names the version: a
// change to the format is a new context, never an edit of this one. Fixed
// vectors in the tests pin it.
const (
	Format           = "salama-evidence-bundle/1"
	SignatureContext = "salama/evidence-bundle/v1\n"
	ManifestName     = "manifest.json"
	SignatureName    = "manifest.sig"
)

// Limits Verify applies to what it reads.
const (
	maxManifest  = 1 << 20
	maxSignature = 1 << 10
	maxFiles     = 10000
)

// Manifest is manifest.json.
type Manifest struct {
	Format     string         `json:"format"`
	CaseRef    string         `json:"case_ref"`
	ExportedAt string         `json:"exported_at"` // RFC 3339, UTC, seconds
	ExportedBy string         `json:"exported_by"`
	SigningKey string         `json:"signing_key"`
	Files      []ManifestFile `json:"files"`
}

// ManifestFile is one file of a bundle.
type ManifestFile struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// File is a file to put in a bundle.
type File struct {
	Path string // slash-separated, relative: "screenshots/1.jpg"
	Data []byte
}

// Header is what the manifest says about the bundle as a whole.
type Header struct {
	CaseRef    string
	ExportedBy string // the exporting organisation's name
	ExportedAt time.Time
}

// Build writes a signed bundle of files to w and returns the SHA-256 (hex)
// of its manifest.json, which identifies the bundle (the audit log records
// it). File paths must be unique and safe (see checkPath).
func Build(w io.Writer, h Header, files []File, key *seal.SigningKey) (manifestSHA256 string, err error) {
	m := Manifest{Format: Format, CaseRef: h.CaseRef, ExportedAt: h.ExportedAt.UTC().Format(time.RFC3339),
		ExportedBy: h.ExportedBy, SigningKey: key.Public().String(), Files: make([]ManifestFile, 0, len(files))}
	seen := map[string]bool{}
	for _, f := range files {
		if err := checkPath(f.Path); err != nil {
			return "", err
		}
		if seen[f.Path] {
			return "", fmt.Errorf("evidence: %s twice in a bundle", f.Path)
		}
		seen[f.Path] = true
		sum := sha256.Sum256(f.Data)
		m.Files = append(m.Files, ManifestFile{Path: f.Path, Size: int64(len(f.Data)), SHA256: hex.EncodeToString(sum[:])})
	}
	manifest, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return "", err
	}
	manifest = append(manifest, '\n')
	sig := base64.StdEncoding.EncodeToString(key.Sign(signedMessage(manifest))) + "\n"

	zw := zip.NewWriter(w)
	put := func(name string, data []byte) error {
		method := zip.Deflate
		if ext := path.Ext(name); ext == ".jpg" || ext == ".png" {
			method = zip.Store // already compressed
		}
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: method, Modified: h.ExportedAt.UTC()})
		if err != nil {
			return err
		}
		_, err = fw.Write(data)
		return err
	}
	for _, f := range files {
		if err := put(f.Path, f.Data); err != nil {
			return "", err
		}
	}
	if err := put(ManifestName, manifest); err != nil {
		return "", err
	}
	if err := put(SignatureName, []byte(sig)); err != nil {
		return "", err
	}
	if err := zw.Close(); err != nil {
		return "", err
	}
	sum := sha256.Sum256(manifest)
	return hex.EncodeToString(sum[:]), nil
}

func signedMessage(manifest []byte) []byte {
	return append([]byte(SignatureContext), manifest...)
}

// checkPath accepts the paths a bundle may hold: relative, slash-separated,
// of letters, digits, '.', '-' and '_', without "." or ".." elements, and
// not the manifest's own names.
func checkPath(p string) error {
	bad := func() error { return fmt.Errorf("evidence: unsafe file name %q in a bundle", p) }
	if p == "" || len(p) > 200 || p == ManifestName || p == SignatureName || strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") {
		return bad()
	}
	for _, el := range strings.Split(p, "/") {
		if el == "" || el == "." || el == ".." {
			return bad()
		}
	}
	for _, r := range p {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("./-_", r)) {
			return bad()
		}
	}
	return nil
}

// VerifyError says why a bundle does not verify. File and Problem are the
// first problem found; All lists every one, in the order found: a changed
// bundle is described whole, every file that differs named, not only the
// first.
type VerifyError struct {
	File    string // the first file that does not match; "" for the archive itself
	Problem string
	All     []Problem
}

// Problem is one thing wrong with a bundle.
type Problem struct {
	File    string // "" for the archive itself
	Problem string
}

func (p Problem) String() string {
	if p.File == "" {
		return p.Problem
	}
	return p.File + ": " + p.Problem
}

func (e *VerifyError) Error() string {
	if len(e.All) <= 1 {
		return Problem{e.File, e.Problem}.String()
	}
	parts := make([]string, len(e.All))
	for i, p := range e.All {
		parts[i] = p.String()
	}
	return strings.Join(parts, "; ")
}

// Verified is a bundle that verified.
type Verified struct {
	Manifest       Manifest
	ManifestSHA256 string
	// Key is the key the signature verified under. KeyFromBundle says it
	// was taken from the manifest because the caller gave none: then the
	// bundle is intact, but only comparing Key with the deployment's
	// published key shows who signed it.
	Key           seal.PublicKey
	KeyFromBundle bool
	// Certificate is the schedule of the bundle's certificate, every
	// record of which matched its file; nil for a bundle made before
	// bundles carried one.
	Certificate []CertifiedRecord
}

// Limits on the work a hostile archive can cause: no entry is read past
// what the manifest or the certificate says it holds, nor past maxEntry,
// and no more than maxRead in all.
const (
	maxEntry = 1 << 30
	maxRead  = 4 << 30
)

// Verify checks a bundle offline: the manifest's signature under key (or,
// if key is the zero value, under the key the manifest names), then every
// file's size and SHA-256 against the manifest, that no file is missing or
// extra, and, when the bundle carries a certificate, every record of its
// schedule against its file and every file against the schedule. It
// returns a *VerifyError naming every file that does not match.
func Verify(r io.ReaderAt, size int64, key seal.PublicKey) (*Verified, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, &VerifyError{Problem: "not a zip archive, so not a Salama evidence bundle"}
	}
	entries := map[string]*zip.File{}
	var order []string
	for _, f := range zr.File {
		if strings.HasSuffix(f.Name, "/") && f.UncompressedSize64 == 0 {
			continue // a directory entry, as some tools add when re-zipping
		}
		if entries[f.Name] != nil {
			return nil, &VerifyError{File: f.Name, Problem: "appears twice in the archive"}
		}
		entries[f.Name] = f
		order = append(order, f.Name)
	}
	if len(order) > maxFiles {
		return nil, &VerifyError{Problem: "too many files for a bundle"}
	}
	var problems []Problem
	add := func(file, format string, a ...any) {
		problems = append(problems, Problem{file, fmt.Sprintf(format, a...)})
	}
	fail := func() (*Verified, error) {
		return nil, &VerifyError{File: problems[0].File, Problem: problems[0].Problem, All: problems}
	}

	// The manifest and its signature.
	v := &Verified{Key: key}
	var m *Manifest
	manifest, err := readEntry(entries[ManifestName], maxManifest)
	if err != nil {
		add(ManifestName, "%v", err)
	}
	sigText, err := readEntry(entries[SignatureName], maxSignature)
	if err != nil {
		add(SignatureName, "%v", err)
	}
	if manifest != nil {
		m = &Manifest{}
		dec := json.NewDecoder(bytes.NewReader(manifest))
		dec.DisallowUnknownFields()
		if err := dec.Decode(m); err != nil || dec.More() {
			add(ManifestName, "does not parse as a manifest")
			m = nil
		} else if m.Format != Format {
			add(ManifestName, "format %q, this program checks %q", m.Format, Format)
			m = nil
		}
	}
	if m != nil && sigText != nil {
		v.Manifest = *m
		if key.IsZero() {
			if v.Key, err = seal.ParsePublicKey(m.SigningKey); err != nil {
				add(ManifestName, "names no usable signing key")
			}
			v.KeyFromBundle = true
		}
		if !v.Key.IsZero() {
			sig, err := base64.StdEncoding.Strict().DecodeString(strings.TrimSuffix(string(sigText), "\n"))
			if err != nil || !v.Key.Verify(signedMessage(manifest), sig) {
				problem := "the signature in " + SignatureName + " does not verify: " + ManifestName + " or " + SignatureName + " was changed"
				if !v.KeyFromBundle {
					problem += ", or the bundle was signed by another key than " + key.String()
				}
				add(ManifestName, "%s", problem)
			}
		}
	}
	if m != nil {
		listed := map[string]bool{}
		for _, f := range m.Files {
			if checkPath(f.Path) != nil || listed[f.Path] {
				add(ManifestName, "lists %q more than once or under an unsafe name", f.Path)
				m = nil
				break
			}
			listed[f.Path] = true
		}
	}

	// The certificate's schedule, when there is one. Its own bytes are
	// checked against the manifest like every file; its schedule is
	// checked below.
	var cert []CertifiedRecord
	if f := entries[CertificateName]; f != nil {
		b, err := readEntry(f, maxCertificate)
		if err == nil {
			cert, err = ParseCertificate(b)
		}
		if err != nil {
			add(CertificateName, "%v", err)
		}
	}

	// Every file that the manifest or the certificate lists is read once,
	// no further than the larger size either claims.
	claim := map[string]int64{}
	if m != nil {
		for _, f := range m.Files {
			claim[f.Path] = max(claim[f.Path], f.Size)
		}
	}
	for _, c := range cert {
		claim[c.Path] = max(claim[c.Path], c.Size)
	}
	type digest struct {
		sum string
		n   int64
		err error
	}
	digests := map[string]digest{}
	var total int64
	digestOf := func(name string) (digest, bool) {
		zf := entries[name]
		if zf == nil {
			return digest{}, false
		}
		if d, ok := digests[name]; ok {
			return d, true
		}
		var d digest
		limit := min(max(claim[name], 0), maxEntry)
		if total += limit; total > maxRead {
			d.err = errors.New("the bundle claims more data than this program reads")
		} else {
			d.sum, d.n, d.err = hashEntry(zf, limit)
		}
		digests[name] = d
		return d, true
	}
	compare := func(path string, size int64, sum, against string) {
		d, ok := digestOf(path)
		switch {
		case !ok:
			add(path, "missing from the archive (%s lists it)", against)
		case d.err != nil:
			add(path, "cannot be read: %v", d.err)
		case d.n != size:
			add(path, "changed: %d bytes, %s says %d", d.n, against, size)
		case d.sum != sum:
			add(path, "changed: its SHA-256 is %s, %s says %s", d.sum, against, sum)
		}
	}
	if m != nil {
		listed := map[string]bool{}
		for _, f := range m.Files {
			listed[f.Path] = true
			compare(f.Path, f.Size, f.SHA256, "the manifest")
		}
		for _, name := range order {
			if !listed[name] && name != ManifestName && name != SignatureName {
				add(name, "is not listed in the manifest")
			}
		}
	}
	if cert != nil {
		inCert := map[string]bool{}
		for _, c := range cert {
			inCert[c.Path] = true
			compare(c.Path, c.Size, c.SHA256, CertificateName)
		}
		for _, name := range order {
			if !inCert[name] && !uncertified(name) {
				add(name, "is not in the schedule of %s", CertificateName)
			}
		}
	}
	if len(problems) > 0 {
		return fail()
	}
	v.Certificate = cert
	sum := sha256.Sum256(manifest)
	v.ManifestSHA256 = hex.EncodeToString(sum[:])
	return v, nil
}

var errMissing = errors.New("missing from the archive")

// readEntry reads a whole entry of at most limit bytes.
func readEntry(f *zip.File, limit int64) ([]byte, error) {
	if f == nil {
		return nil, errMissing
	}
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, errors.New("too large")
	}
	return b, nil
}

// hashEntry hashes an entry, reading at most one byte more than its listed
// size (an archive may claim any size: this bounds the work).
func hashEntry(f *zip.File, size int64) (sum string, n int64, err error) {
	rc, err := f.Open()
	if err != nil {
		return "", 0, err
	}
	defer rc.Close()
	h := sha256.New()
	n, err = io.Copy(h, io.LimitReader(rc, max(size, 0)+1))
	if err != nil {
		return "", n, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}
