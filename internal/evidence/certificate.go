package evidence

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The certificate. Kenyan courts admit an electronic record as a document
// when it comes with a certificate under section 106B(4) of the Evidence Act
// (Cap. 80): one that identifies the record and describes how it was
// produced, gives particulars of the device or system involved, deals with
// the conditions of section 106B(2), and is signed by a person occupying a
// responsible position in relation to the system or the activities it
// serves. Courts have refused screenshots and print-outs without one.
//
// A bundle carries CertificateName, written by Certificate: plain English
// text, printable as it is, in the order of those elements, ending in a
// schedule of the records it covers, each with its file name, size,
// SHA-256 and time of capture, and a place for the signature. It is not
// legal advice and does not pretend to be: docs/evidence.md says what the
// signer attests and why each element is there.
//
// The schedule is also machine-read: Verify checks that every record it
// lists is in the archive with that size and SHA-256, and that every file
// of the archive but the certificate itself, the summary (which reproduces
// the certificate), the manifest and its signature is in the schedule. The
// schedule's lines are fixed (see scheduleRecord and the lines after it);
// the rest of the text is for people and is never parsed.
const (
	CertificateName = "certificate.txt"
	SummaryName     = "summary.html"
)

// CertificateHeading is the certificate's first line; Verify recognises a
// certificate by it.
const CertificateHeading = "CERTIFICATE UNDER SECTION 106B(4) OF THE EVIDENCE ACT"

// Limits ParseCertificate applies.
const (
	maxCertificate = 1 << 20
	maxRecords     = maxFiles
)

// CertificateInfo is what a certificate states besides the records.
type CertificateInfo struct {
	CaseRef      string
	Organisation string    // the organisation that holds the records and produced them
	Produced     time.Time // when the bundle was produced
	// BundleName is the file name the bundle is handed over under.
	BundleName string
	// Source says, in one or more English sentences, how the information
	// came into the system (the survivor typed it on the web form; a
	// caseworker took it down from a phone call; …).
	Source string
	// System gives the particulars of the system: software, version,
	// server, database. One line each.
	System []string
	// SigningKey is the deployment's public key the manifest is signed
	// with.
	SigningKey string
}

// Record is a file the certificate covers, with what a reader of the
// schedule needs to know about it.
type Record struct {
	Path        string
	Description string    // one sentence, English
	Captured    time.Time // when its information was received by the system
	// CapturedUntil, when set, makes the capture a period (a
	// conversation: its first message to its last).
	CapturedUntil time.Time
	Data          []byte
}

// Certificate writes the certificate for records. Record paths must be
// unique and safe, as in a bundle; none may be the certificate, the
// summary, the manifest or the signature.
func Certificate(info CertificateInfo, records []Record) ([]byte, error) {
	seen := map[string]bool{}
	for _, r := range records {
		if err := checkPath(r.Path); err != nil {
			return nil, err
		}
		if r.Path == CertificateName || r.Path == SummaryName {
			return nil, fmt.Errorf("evidence: the certificate cannot cover %s", r.Path)
		}
		if seen[r.Path] {
			return nil, fmt.Errorf("evidence: %s twice in a certificate", r.Path)
		}
		seen[r.Path] = true
		if strings.ContainsAny(r.Description, "\r\n") {
			return nil, fmt.Errorf("evidence: the description of %s is more than one line", r.Path)
		}
	}
	var b bytes.Buffer
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	w("%s\n", CertificateHeading)
	w("(CAP. 80 OF THE LAWS OF KENYA)\n")
	w("in respect of electronic records produced by the Salama system\n\n")
	w("Case reference:  %s\n", info.CaseRef)
	w("Records held by: %s\n", info.Organisation)
	w("Produced:        %s\n", when(info.Produced))
	if info.BundleName != "" {
		w("Evidence bundle: %s\n", info.BundleName)
	}

	w("\n1. THE ELECTRONIC RECORDS\n\n")
	w("%s", wrap(fmt.Sprintf("This certificate covers the %d electronic records listed in the schedule "+
		"below. Each is a file of the evidence bundle named above, identified by its file name, its size "+
		"and its SHA-256 digest: a copy of a record is the same record exactly when it has the same "+
		"SHA-256 digest. The records relate to a report, case reference %s, received and held by %s "+
		"through Salama, a reporting and case management system for survivors of online sexual "+
		"exploitation and trafficking.", len(records), info.CaseRef, info.Organisation)))

	w("\n2. HOW THE RECORDS WERE PRODUCED\n\n")
	if info.Source != "" {
		w("%s\n", wrap(info.Source))
	}
	w("%s", wrap("When the information was received, the Salama server stored it in its database, "+
		"encrypted, with the time of receipt taken from the server's clock. The records were produced "+
		"from that stored information by the Salama server on the date of production above, at the "+
		"request of a member of staff of "+info.Organisation+" logged in to the system, by decrypting "+
		"it and writing it out without alteration: the words and files as they were received "+
		"(screenshots and other files byte for byte as sent, with any metadata they carry), the answers "+
		"to the report form's questions in the form's own English wording, and the system's record of "+
		"the actions taken on the report. As it wrote each record the server computed its SHA-256 "+
		"digest, listed the digests in the file manifest.json and signed that list with the "+
		"deployment's Ed25519 key. The same digests are given in the schedule below."))

	w("\n3. PARTICULARS OF THE SYSTEM\n\n")
	for _, line := range info.System {
		w("%s\n", wrapIndent("- "+line, "  "))
	}
	w("%s\n\n", wrapIndent("- Signing key of the deployment (Ed25519): "+info.SigningKey, "  "))
	w("%s", wrap("Anyone can check the records against this certificate and the signed manifest, "+
		"offline, with the Salama program (\"salama verify-bundle BUNDLE.zip --key KEY\", where KEY is "+
		"the signing key above, obtained from the organisation separately), or with any tool that "+
		"computes SHA-256 (sha256sum on Linux, certutil -hashfile FILE SHA256 on Windows)."))

	w("\n4. CONDITIONS OF SECTION 106B(2)\n\n")
	w("To the best of the knowledge and belief of the person signing below:\n\n")
	for _, c := range []string{
		"(a) the records were produced by the Salama system during a period over which it was used " +
			"regularly to store and process reports for the activities of " + info.Organisation +
			", by persons having lawful control over its use;",
		"(b) during that period, information of the kind contained in the records was regularly fed " +
			"into the system in the ordinary course of those activities;",
		"(c) throughout the material part of that period the system was operating properly or, if not, " +
			"any period in which it was not operating properly or was out of operation was not such as to " +
			"affect the records or the accuracy of their contents; and",
		"(d) the information contained in the records reproduces, or is derived from, information fed " +
			"into the system in the ordinary course of those activities.",
	} {
		w("%s\n", wrapIndent(c, "    "))
	}

	w("\nSCHEDULE OF RECORDS\n\n")
	w("%s\n", wrap("Times are East Africa Time (EAT), with Coordinated Universal Time (UTC) for the record. "+
		"\"Captured\" is when the information reached the system."))
	for i, r := range records {
		sum := sha256.Sum256(r.Data)
		w("Record %d: %s\n", i+1, r.Path)
		if r.Description != "" {
			w("  %s\n", wrapIndent("What it is: "+r.Description, "    "))
		}
		switch {
		case r.Captured.IsZero():
		case r.CapturedUntil.IsZero() || r.CapturedUntil.Equal(r.Captured):
			w("  Captured: %s\n", when(r.Captured))
		default:
			w("  Captured: from %s\n            to %s\n", when(r.Captured), when(r.CapturedUntil))
		}
		w("  Size: %d bytes\n", len(r.Data))
		w("  SHA-256: %s\n\n", hex.EncodeToString(sum[:]))
	}
	w("%s\n", scheduleEnd)

	w("\nSIGNATURE\n\n")
	w("%s\n", wrap("I certify that the matters stated in this certificate are true to the best of my "+
		"knowledge and belief, and that I occupy a responsible position in relation to the operation "+
		"of the Salama system or the management of the activities of "+info.Organisation+" for which "+
		"it is used, namely the position stated below."))
	w("Full name:  ______________________________________________\n\n")
	w("Position:   ______________________________________________\n\n")
	w("Organisation: %s\n\n", info.Organisation)
	w("Signature:  ______________________________________________\n\n")
	w("Date:       ____________________   Place: ____________________\n")
	return b.Bytes(), nil
}

// scheduleEnd closes the schedule; the parser stops there.
const scheduleEnd = "END OF SCHEDULE"

// when writes a time for a reader in Kenya, with UTC for the record.
func when(t time.Time) string {
	return t.In(eat).Format("2 January 2006, 15:04:05 EAT") + " (" + t.UTC().Format("2006-01-02 15:04:05 UTC") + ")"
}

var eat = time.FixedZone("EAT", 3*3600)

// wrap fills text to 78 columns as one paragraph, ending in a blank line.
func wrap(text string) string { return wrapIndent(text, "") + "\n" }

// wrapIndent fills text to 78 columns; lines after the first are indented.
func wrapIndent(text, indent string) string {
	var b strings.Builder
	col := 0
	for i, word := range strings.Fields(text) {
		n := utf8.RuneCountInString(word)
		switch {
		case i == 0:
		case col+1+n > 78:
			b.WriteString("\n" + indent)
			col = utf8.RuneCountInString(indent)
		default:
			b.WriteByte(' ')
			col++
		}
		b.WriteString(word)
		col += n
	}
	return b.String()
}

// CertifiedRecord is one line of a certificate's schedule as read back.
type CertifiedRecord struct {
	Path   string
	Size   int64
	SHA256 string
}

var (
	scheduleRecord = regexp.MustCompile(`^Record ([1-9][0-9]{0,5}): (\S+)$`)
	scheduleSize   = regexp.MustCompile(`^  Size: ([0-9]{1,15}) bytes$`)
	scheduleSum    = regexp.MustCompile(`^  SHA-256: ([0-9a-f]{64})$`)
)

// ErrNotCertificate means a file is not a certificate Salama wrote, or its
// schedule has been edited out of shape.
var ErrNotCertificate = errors.New("evidence: not a readable certificate")

// ParseCertificate reads back the schedule of a certificate: the records in
// order, each with its path, size and SHA-256. Everything outside the
// schedule is text for people and is not read. A record must be numbered in
// order and carry one size and one SHA-256; a path listed twice, or one
// that could not be in a bundle, is refused.
func ParseCertificate(b []byte) ([]CertifiedRecord, error) {
	if len(b) > maxCertificate || !utf8.Valid(b) {
		return nil, fmt.Errorf("%w: too large or not text", ErrNotCertificate)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 4096), maxCertificate)
	if !sc.Scan() || strings.TrimSuffix(sc.Text(), "\r") != CertificateHeading {
		return nil, fmt.Errorf("%w: it does not start with the certificate's heading", ErrNotCertificate)
	}
	var out []CertifiedRecord
	in, ended := false, false
	seen := map[string]bool{}
	var cur *CertifiedRecord
	finish := func() error {
		if cur == nil {
			return nil
		}
		if cur.Size < 0 || cur.SHA256 == "" {
			return fmt.Errorf("%w: record %d (%s) lacks its size or SHA-256", ErrNotCertificate, len(out)+1, cur.Path)
		}
		out = append(out, *cur)
		cur = nil
		return nil
	}
	for sc.Scan() {
		line := strings.TrimSuffix(sc.Text(), "\r")
		if !in {
			in = line == "SCHEDULE OF RECORDS"
			continue
		}
		if line == scheduleEnd {
			if err := finish(); err != nil {
				return nil, err
			}
			ended = true
			break
		}
		if m := scheduleRecord.FindStringSubmatch(line); m != nil {
			if err := finish(); err != nil {
				return nil, err
			}
			if n, _ := strconv.Atoi(m[1]); n != len(out)+1 || len(out) == maxRecords {
				return nil, fmt.Errorf("%w: record %s out of order", ErrNotCertificate, m[1])
			}
			if checkPath(m[2]) != nil || seen[m[2]] {
				return nil, fmt.Errorf("%w: record %s names %q twice or unsafely", ErrNotCertificate, m[1], m[2])
			}
			seen[m[2]] = true
			cur = &CertifiedRecord{Path: m[2], Size: -1}
			continue
		}
		if cur == nil {
			continue // the schedule's introduction
		}
		if m := scheduleSize.FindStringSubmatch(line); m != nil {
			if cur.Size >= 0 {
				return nil, fmt.Errorf("%w: record %s has two sizes", ErrNotCertificate, cur.Path)
			}
			cur.Size, _ = strconv.ParseInt(m[1], 10, 64)
		} else if m := scheduleSum.FindStringSubmatch(line); m != nil {
			if cur.SHA256 != "" {
				return nil, fmt.Errorf("%w: record %s has two SHA-256 digests", ErrNotCertificate, cur.Path)
			}
			cur.SHA256 = m[1]
		} else if strings.HasPrefix(line, "  Size:") || strings.HasPrefix(line, "  SHA-256:") {
			return nil, fmt.Errorf("%w: record %s: unreadable line %q", ErrNotCertificate, cur.Path, line)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotCertificate, err)
	}
	if !ended {
		return nil, fmt.Errorf("%w: no complete schedule of records", ErrNotCertificate)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: the schedule lists no record", ErrNotCertificate)
	}
	return out, nil
}

// uncertified are the files of a bundle that its certificate does not list:
// the certificate itself, the summary that reproduces it, and the manifest
// and its signature, which are the bundle's own seal.
func uncertified(name string) bool {
	return name == CertificateName || name == SummaryName || name == ManifestName || name == SignatureName
}
