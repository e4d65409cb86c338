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
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Error names the first entry that fails verification and what is wrong.
type Error struct {
	Seq  int64 // the first bad entry; for Deleted the first missing one
	Kind Kind
	Next int64 // for Deleted: the entry found after the gap
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
func (l *Log) Verify(ctx context.Context, pub seal.PublicKey) (Result, error) {
	if pub.IsZero() {
		return Result{}, errors.New("audit: verify: no public key")
	}
	prev := make([]byte, HashSize)
	res := Result{HeadHash: hex.EncodeToString(prev)}
	// Start below zero: a row an attacker numbered 0 or less is not part of
	// the chain, but must not be invisible to it either.
	for after := int64(math.MinInt64); ; {
		page, err := l.st.AuditEntries(ctx, after, verifyPage)
		if err != nil {
			return res, fmt.Errorf("audit: verify: %w", err)
		}
		for _, e := range page {
			if err := checkLink(e, res.HeadSeq+1, prev, pub); err != nil {
				return res, err
			}
			prev = e.Hash
			res.Entries++
			res.HeadSeq, res.HeadHash = e.Seq, hex.EncodeToString(e.Hash)
		}
		if len(page) < verifyPage {
			return res, nil
		}
		after = page[len(page)-1].Seq
	}
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
