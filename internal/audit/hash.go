package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"

	"github.com/salama-ke/salama/internal/seal"
	"github.com/salama-ke/salama/internal/store"
)

// hashDomain starts every entry's encoding. It names the format's version: a
// change to the encoding is a new domain string, never an edit of this one,
// and is pinned by the fixed vectors in the tests.
const hashDomain = "salama/audit-entry/v1"

// HashSize is the size of an entry's hash and of its PrevHash.
const HashSize = sha256.Size

// EntryHash returns the hash of an entry: SHA-256 of
//
//	lp("salama/audit-entry/v1") || seq (8 bytes) || at (8 bytes) ||
//	lp(actor) || lp(org_id) || lp(action) || lp(report_id) || lp(detail) || lp(prev_hash)
//
// where seq and at (unix seconds) are big-endian two's complement and lp(x)
// is the 4-byte big-endian length of x followed by x, so that no two entries
// encode alike. The entry's Hash and Sig are not part of it. The signature of
// an entry is the Ed25519 signature of this hash.
func EntryHash(e store.AuditEntry) []byte {
	var b bytes.Buffer
	lp := func(s []byte) {
		_ = binary.Write(&b, binary.BigEndian, uint32(len(s)))
		b.Write(s)
	}
	lp([]byte(hashDomain))
	_ = binary.Write(&b, binary.BigEndian, e.Seq)
	_ = binary.Write(&b, binary.BigEndian, e.At.Unix())
	for _, s := range []string{e.Actor, e.OrgID, e.Action, e.ReportID, e.Detail} {
		lp([]byte(s))
	}
	lp(e.PrevHash)
	h := sha256.Sum256(b.Bytes())
	return h[:]
}

// CheckEntry checks one entry on its own: its hash matches its content and
// is signed by pub. It does not check the entry's place in the chain (see
// Log.Verify), so it suits entries taken out of the log, such as a report's
// audit trail in an evidence bundle. A failure is an *Error of kind Edited or
// BadSignature.
func CheckEntry(e store.AuditEntry, pub seal.PublicKey) error {
	if !bytes.Equal(EntryHash(e), e.Hash) {
		return &Error{Seq: e.Seq, Kind: Edited}
	}
	if !pub.Verify(e.Hash, e.Sig) {
		return &Error{Seq: e.Seq, Kind: BadSignature}
	}
	return nil
}
