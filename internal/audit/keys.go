package audit

import (
	"context"
	"fmt"
	"strings"

	"github.com/salama-ke/salama/internal/seal"
	"github.com/salama-ke/salama/internal/store"
)

// Key rotation (SigningKeyRotated).
//
// The log is signed by one key at a time. A rotation appends an entry,
// signed by the new key, naming the old and the new public key; entries
// before it are signed by the old key, entries after it by the new one.
// Verify starts from the key the first rotation names as "previous" (or
// the given key if there was none), follows every rotation, and requires
// the last key to be the one given: the operator's key anchors the chain.
// A rotation entry's hash covers every entry before it, so the new key's
// signature vouches for the history; someone who later learns an old key
// cannot rewrite what came before the rotation.

// KeyUse is one signing key and the entries it signed.
type KeyUse struct {
	Key      seal.PublicKey
	From, To int64 // first and last entry it signed; To is 0 while it signs the head
}

// rotation is a parsed SigningKeyRotated entry.
type rotation struct {
	seq            int64
	previous, next seal.PublicKey
}

// RotationDetail is the Detail of a SigningKeyRotated entry.
func RotationDetail(previous, next seal.PublicKey, lost bool) string {
	d := "previous=" + previous.Hex() + " key=" + next.Hex()
	if lost {
		d += " reason=lost"
	}
	return d
}

func parseRotation(e store.AuditEntry) (rotation, error) {
	r := rotation{seq: e.Seq}
	var err error
	for _, pair := range strings.Fields(e.Detail) {
		k, v, _ := strings.Cut(pair, "=")
		switch k {
		case "previous":
			r.previous, err = seal.ParsePublicKeyHex(v)
		case "key":
			r.next, err = seal.ParsePublicKeyHex(v)
		}
		if err != nil {
			return r, err
		}
	}
	if r.previous.IsZero() || r.next.IsZero() {
		return r, fmt.Errorf("rotation entry #%d names no keys", e.Seq)
	}
	return r, nil
}

// keyChain is the sequence of signing keys of the log, from its rotation
// entries.
type keyChain struct {
	rotations []rotation
	entries   []store.AuditEntry
}

func (l *Log) loadKeyChain(ctx context.Context) (*keyChain, error) {
	es, err := l.st.AuditByAction(ctx, string(SigningKeyRotated))
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	kc := &keyChain{entries: es}
	for _, e := range es {
		r, err := parseRotation(e)
		if err != nil {
			return nil, &Error{Seq: e.Seq, Kind: Edited}
		}
		kc.rotations = append(kc.rotations, r)
	}
	return kc, nil
}

// first is the key that signed entry 1.
func (kc *keyChain) first(anchor seal.PublicKey) seal.PublicKey {
	if len(kc.rotations) == 0 {
		return anchor
	}
	return kc.rotations[0].previous
}

// keyAt is the key that signed entry seq, per the rotation entries.
func (kc *keyChain) keyAt(seq int64, anchor seal.PublicKey) seal.PublicKey {
	k := kc.first(anchor)
	for _, r := range kc.rotations {
		if r.seq > seq {
			break
		}
		k = r.next
	}
	return k
}

// check verifies the rotation entries on their own: each signed by the key
// it introduces, each starting from the key the one before introduced, the
// last ending at anchor. Without it, someone with the database could add a
// rotation to a key of their own and have forged entries accepted.
func (kc *keyChain) check(anchor seal.PublicKey) error {
	k := kc.first(anchor)
	for i, r := range kc.rotations {
		if !r.previous.Equal(k) {
			return &Error{Seq: r.seq, Kind: BadRotation}
		}
		if err := CheckEntry(kc.entries[i], r.next); err != nil {
			return err
		}
		k = r.next
	}
	if !k.Equal(anchor) {
		return &Error{Seq: lastSeq(kc.rotations), Kind: WrongKey, Key: k}
	}
	return nil
}

func lastSeq(rs []rotation) int64 {
	if len(rs) == 0 {
		return 0
	}
	return rs[len(rs)-1].seq
}
