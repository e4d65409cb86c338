package audit

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"math"

	"github.com/salama-ke/salama/internal/seal"
	"github.com/salama-ke/salama/internal/store"
)

// ErrTampered is wrapped by every *Error: the log is not as it was written.
var ErrTampered = errors.New("audit log tampered with")

// Kind is what is wrong with an entry.
type Kind int

// What Verify finds wrong, for the first entry that is.
const (
	// Edited: the entry's content no longer matches its hash.
	Edited Kind = iota + 1
	// Deleted: entries are missing, the numbers have a gap.
	Deleted
	// Reordered: a genuine entry that does not follow the entry before it,
	// because entries were moved, or removed and the rest renumbered.
	Reordered
	// BadSignature: the hash matches the content but is not signed by the
	// key: recomputed by someone without the key, or signed by another.
	BadSignature
	// BadRotation: a key rotation entry that does not start from the key
	// in use before it.
	BadRotation
	// WrongKey: the log verifies, but its last key is not the one given
	// (another deployment's log, or a rotation the operator's key does not
	// know of).
	WrongKey
	// Truncated: the log is shorter than a signed checkpoint says it was,
	// or no longer has the entry the checkpoint names: its newest entries
	// were removed or rewritten.
	Truncated
)

func (k Kind) String() string {
	switch k {
	case Edited:
		return "edited"
	case Deleted:
		return "deleted"
	case Reordered:
		return "reordered"
	case BadSignature:
		return "bad signature"
	case BadRotation:
		return "bad rotation"
	case WrongKey:
		return "wrong key"
	case Truncated:
		return "truncated"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Error names the first entry that fails verification and what is wrong.
type Error struct {
	Seq  int64 // the first bad entry; for Deleted the first missing one
	Kind Kind
	Next int64          // for Deleted: the entry found after the gap; for Truncated: the head found
	Key  seal.PublicKey // for WrongKey: the key the log ends with
}

func (e *Error) Error() string {
	switch e.Kind {
	case Edited:
		return fmt.Sprintf("audit log: entry #%d edited: its content does not match its hash", e.Seq)
	case Deleted:
		if e.Next == e.Seq+1 {
			return fmt.Sprintf("audit log: entry #%d deleted: the log goes from #%d to #%d", e.Seq, e.Seq-1, e.Next)
		}
		return fmt.Sprintf("audit log: entries #%d to #%d deleted: the log goes from #%d to #%d", e.Seq, e.Next-1, e.Seq-1, e.Next)
	case Reordered:
		return fmt.Sprintf("audit log: entry #%d reordered: a signed entry that does not follow #%d (entries moved, or removed and renumbered)", e.Seq, e.Seq-1)
	case BadSignature:
		return fmt.Sprintf("audit log: entry #%d has a bad signature: rewritten without the signing key, or signed by another key", e.Seq)
	case BadRotation:
		return fmt.Sprintf("audit log: entry #%d is a key rotation that does not follow from the key in use before it", e.Seq)
	case WrongKey:
		if e.Seq == 0 {
			return fmt.Sprintf("audit log: it is signed by %s, not by the key given", e.Key)
		}
		return fmt.Sprintf("audit log: since the key rotation at #%d it is signed by %s, not by the key given", e.Seq, e.Key)
	case Truncated:
		if e.Next < e.Seq {
			return fmt.Sprintf("audit log: truncated: a signed checkpoint says it had entry #%d, but it ends at #%d (its newest entries were removed)", e.Seq, e.Next)
		}
		return fmt.Sprintf("audit log: entry #%d is not the one a signed checkpoint recorded (the log was cut back and written again)", e.Seq)
	}
	return fmt.Sprintf("audit log: entry #%d: %v", e.Seq, e.Kind)
}

// Unwrap makes errors.Is(err, ErrTampered) true.
func (e *Error) Unwrap() error { return ErrTampered }

// Result is a verified log.
type Result struct {
	Entries  int    // how many entries verified
	HeadSeq  int64  // the last entry's seq; 0 for an empty log
	HeadHash string // the last entry's hash in hex; 64 zeros for an empty log
	// Keys are the signing keys, oldest first, with the entries each
	// signed: one unless the key was rotated.
	Keys []KeyUse
}

// Signed reports whether k signed any entry of the log (or is its key
// while the log is empty).
func (r Result) Signed(k seal.PublicKey) bool {
	for _, u := range r.Keys {
		if u.Key.Equal(k) {
			return true
		}
	}
	return false
}

// Head returns "#SEQ HASH", the text an operator records to detect, at the
// next verification, that the newest entries were removed.
func (r Result) Head() string { return fmt.Sprintf("#%d %s", r.HeadSeq, r.HeadHash) }

// verifyPage is how many entries Verify reads at once.
var verifyPage = 1000

// Verify reads the whole log in seq order and checks that the numbers run
// 1, 2, 3 … without a gap, that every entry's hash matches its content and
// is signed by pub, and that every entry's PrevHash is the hash of the one
// before it. It returns the number of entries and the head, or an *Error
// (wrapping ErrTampered) naming the first bad entry; any other error is the
// store's.
//
// It cannot see that the newest entries were removed: compare the head with
// one recorded earlier (see the package documentation).
//
// Entries are checked with the key in use when they were written: pub, or,
// if the key was rotated (SigningKeyRotated), the key the first rotation
// names as previous, then each rotation's new key. The last key must be
// pub (WrongKey otherwise).
func (l *Log) Verify(ctx context.Context, pub seal.PublicKey) (Result, error) {
	if pub.IsZero() {
		return Result{}, errors.New("audit: verify: no public key")
	}
	kc, err := l.loadKeyChain(ctx)
	if err != nil {
		return Result{}, err
	}
	prev := make([]byte, HashSize)
	res := Result{HeadHash: hex.EncodeToString(prev)}
	key := kc.first(pub)
	res.Keys = []KeyUse{{Key: key, From: 1}}
	// Start below zero: a row an attacker numbered 0 or less is not part of
	// the chain, but must not be invisible to it either.
	for after := int64(math.MinInt64); ; {
		page, err := l.st.AuditEntries(ctx, after, verifyPage)
		if err != nil {
			return res, fmt.Errorf("audit: verify: %w", err)
		}
		for _, e := range page {
			signer := key
			var rot rotation
			if e.Action == string(SigningKeyRotated) && e.ReportID == "" {
				if rot, err = parseRotation(e); err != nil {
					return res, &Error{Seq: e.Seq, Kind: Edited}
				}
				signer = rot.next
			}
			if err := checkLink(e, res.HeadSeq+1, prev, signer); err != nil {
				return res, err
			}
			if !rot.next.IsZero() {
				if !rot.previous.Equal(key) {
					return res, &Error{Seq: e.Seq, Kind: BadRotation}
				}
				res.Keys[len(res.Keys)-1].To = e.Seq - 1
				res.Keys = append(res.Keys, KeyUse{Key: rot.next, From: e.Seq})
				key = rot.next
			}
			prev = e.Hash
			res.Entries++
			res.HeadSeq, res.HeadHash = e.Seq, hex.EncodeToString(e.Hash)
		}
		if len(page) < verifyPage {
			break
		}
		after = page[len(page)-1].Seq
	}
	if !key.Equal(pub) {
		return res, &Error{Seq: lastSeq(kc.rotations), Kind: WrongKey, Key: key}
	}
	return res, nil
}

// checkLink checks entry e, expected to be number seq and to follow an entry
// whose hash is prev.
func checkLink(e store.AuditEntry, seq int64, prev []byte, pub seal.PublicKey) error {
	switch {
	case e.Seq < seq:
		// Entries come in ascending seq order and seq is the primary key,
		// so this is a number below 1, which no entry is ever given.
		return &Error{Seq: e.Seq, Kind: Edited}
	case e.Seq > seq:
		return &Error{Seq: seq, Kind: Deleted, Next: e.Seq}
	}
	linked := bytes.Equal(e.PrevHash, prev)
	if err := CheckEntry(e, pub); err != nil {
		var ae *Error
		if errors.As(err, &ae) && ae.Kind == Edited && !linked && pub.Verify(e.Hash, e.Sig) {
			// A genuine hash and signature, another entry's content and
			// place: it was moved here.
			return &Error{Seq: seq, Kind: Reordered}
		}
		return err
	}
	if !linked {
		return &Error{Seq: seq, Kind: Reordered}
	}
	return nil
}
