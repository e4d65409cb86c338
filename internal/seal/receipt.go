package seal

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"log/slog"
	"math"
	"math/bits"
)

const (
	receiptDigits = 16
	receiptSpace  = 10_000_000_000_000_000 // 10^16 receipts, about 2^53
	// receiptLimit is the largest multiple of 10^16 that fits in a uint64;
	// random values at or above it are redrawn so that every receipt is
	// equally likely.
	receiptLimit = (math.MaxUint64 / receiptSpace) * receiptSpace

	// ReceiptSeedSize is the minimum seed for ReceiptFromSeed.
	ReceiptSeedSize = 32
	// maxReceiptInput bounds what ParseReceipt will look at.
	maxReceiptInput = 128
)

// Receipt is a survivor's receipt code: 16 decimal digits, the only
// credential a survivor holds. It is shown as "4821 7730 1195 6604". The zero
// value is not a receipt.
//
// A Receipt is a secret: it redacts itself in log/slog, but String and Digits
// return it in clear for the one page that shows it.
type Receipt struct {
	d [receiptDigits]byte // ASCII digits
}

// NewReceipt draws a receipt uniformly at random.
func NewReceipt() (Receipt, error) {
	var b [8]byte
	for {
		if _, err := rand.Read(b[:]); err != nil {
			return Receipt{}, fmt.Errorf("seal: reading randomness: %w", err)
		}
		if n := binary.BigEndian.Uint64(b[:]); n < receiptLimit {
			return receiptFromNumber(n % receiptSpace), nil
		}
	}
}

// ReceiptFromSeed derives a receipt deterministically from a secret seed of
// at least 32 bytes (an HMAC output, say), so that a USSD gateway that
// repeats the request whose answer it lost gets the same receipt screen.
// Never seed it from anything a browser holds (a form token): whoever has
// the browser's history could then see the receipt again. The first 32 bytes, read as a big-endian
// 256-bit integer, are reduced mod 10^16; the bias is below 2^-200.
func ReceiptFromSeed(seed []byte) (Receipt, error) {
	if len(seed) < ReceiptSeedSize {
		return Receipt{}, fmt.Errorf("%w: receipt seed shorter than %d bytes", ErrInvalidInput, ReceiptSeedSize)
	}
	// Horner's rule on 64-bit limbs: r = (r·2^64 + limb) mod 10^16.
	var r uint64
	for i := 0; i < ReceiptSeedSize; i += 8 {
		r = bits.Rem64(r, binary.BigEndian.Uint64(seed[i:i+8]), receiptSpace)
	}
	return receiptFromNumber(r), nil
}

func receiptFromNumber(n uint64) Receipt {
	var r Receipt
	for i := receiptDigits - 1; i >= 0; i-- {
		r.d[i] = '0' + byte(n%10)
		n /= 10
	}
	return r
}

// isReceiptSeparator lists what a survivor may type or paste between digits:
// spaces (including no-break and narrow no-break spaces that copy-paste and
// phone keyboards produce), tabs, line breaks, hyphens, dashes and dots.
func isReceiptSeparator(c rune) bool {
	switch c {
	case ' ', '\t', '\r', '\n', '-', '.',
		'\u00a0', // no-break space
		'\u202f', // narrow no-break space
		'\u2007', // figure space
		'\u2010', // hyphen
		'\u2011', // non-breaking hyphen
		'\u2012', // figure dash
		'\u2013', // en dash
		'\u2014', // em dash
		'\u2212': // minus sign
		return true
	}
	return false
}

// ParseReceipt reads a receipt as typed: exactly 16 ASCII digits, with any
// number of separators (spaces, no-break spaces, tabs, line breaks, hyphens,
// dashes, dots) before, between or after them. Anything else (other digits
// such as Arabic-Indic or full-width, letters, 15 or 17 digits) returns
// [ErrReceiptFormat]; the error never contains the input.
func ParseReceipt(s string) (Receipt, error) {
	var r Receipt
	if len(s) > maxReceiptInput {
		return Receipt{}, ErrReceiptFormat
	}
	n := 0
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9':
			if n == receiptDigits {
				return Receipt{}, ErrReceiptFormat
			}
			r.d[n] = byte(c)
			n++
		case isReceiptSeparator(c):
		default:
			return Receipt{}, ErrReceiptFormat
		}
	}
	if n != receiptDigits {
		return Receipt{}, ErrReceiptFormat
	}
	return r, nil
}

func (r Receipt) valid() bool { return r.d[0] != 0 }

// String returns the receipt grouped by four: "4821 7730 1195 6604". It is
// empty for the zero Receipt.
func (r Receipt) String() string {
	if !r.valid() {
		return ""
	}
	b := make([]byte, 0, receiptDigits+3)
	for i := 0; i < receiptDigits; i += 4 {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, r.d[i:i+4]...)
	}
	return string(b)
}

// Digits returns the 16 digits without separators (for USSD screens). It is
// empty for the zero Receipt.
func (r Receipt) Digits() string {
	if !r.valid() {
		return ""
	}
	return string(r.d[:])
}

// LogValue redacts the receipt in log/slog.
func (r Receipt) LogValue() slog.Value { return slog.StringValue("redacted") }

// ReceiptVersion numbers the ways receipt keys have been derived. A stored
// receipt row records its version, so that a receipt issued under an older
// derivation keeps opening its report and is upgraded at its next login.
type ReceiptVersion int

const (
	// ReceiptV1 used the two halves of argon2id(receipt, network salt)
	// directly as the lookup key and the wrap key. Salt and parameters are
	// in the database, so a dump alone let one guess be tried against
	// every report at once. It is read, never written: only to let receipts
	// issued before ReceiptV2 log in once more and be upgraded.
	ReceiptV1 ReceiptVersion = 1
	// ReceiptV2 keys each half with HMAC-SHA-256 under a subkey of the
	// network secret, which is never in the database (SPEC §6 "Receipt"):
	// a dump alone allows no guessing at all, and with the network secret
	// too every guess still costs an argon2id evaluation.
	ReceiptV2 ReceiptVersion = 2

	// CurrentReceiptVersion is the derivation new receipts are written with.
	CurrentReceiptVersion = ReceiptV2
)

// Purposes of the wrap of a report's data key under a receipt. They differ
// between versions, so a wrap can only ever open under the version it was
// written with.
const (
	receiptWrapPurposeV1 = "receipt"
	receiptWrapPurposeV2 = "receipt/v2"
)

// ReceiptKeys are what a receipt unlocks under one derivation version:
// Lookup (32 bytes) is stored in the database to find the report, the wrap
// key (kept inside, used through WrapDataKey and UnwrapDataKey) wraps the
// report's data key for the survivor.
type ReceiptKeys struct {
	Version ReceiptVersion
	Lookup  []byte
	wrap    *Key
}

// WrapDataKey wraps dk for report reportID under the receipt.
func (k ReceiptKeys) WrapDataKey(reportID string, dk *DataKey) ([]byte, error) {
	return k.wrap.WrapDataKey(reportID, k.Version.purpose(), dk)
}

// UnwrapDataKey opens a wrap written by WrapDataKey of the same version.
// Any failure returns [ErrOpen] (or [ErrDestroyed]).
func (k ReceiptKeys) UnwrapDataKey(reportID string, w []byte) (*DataKey, error) {
	return k.wrap.UnwrapDataKey(reportID, k.Version.purpose(), w)
}

func (v ReceiptVersion) purpose() string {
	if v == ReceiptV1 {
		return receiptWrapPurposeV1
	}
	return receiptWrapPurposeV2
}

// ReceiptKeyring is every version's keys of one receipt, from one argon2id
// evaluation.
type ReceiptKeyring struct {
	keys []ReceiptKeys // newest first
}

// Current are the keys new receipt rows are written with.
func (r ReceiptKeyring) Current() ReceiptKeys { return r.keys[0] }

// Versions are the keys of every version a stored receipt may have, newest
// first.
func (r ReceiptKeyring) Versions() []ReceiptKeys { return r.keys }

// Matching returns the keys whose lookup key is lookup (a stored row's),
// of whichever version and network secret generation, and whether the ring
// has them.
func (r ReceiptKeyring) Matching(lookup []byte) (ReceiptKeys, bool) {
	for _, k := range r.keys {
		if hmac.Equal(k.Lookup, lookup) {
			return k, true
		}
	}
	return ReceiptKeys{}, false
}

// Version returns the keys of version v, and whether the ring has them.
func (r ReceiptKeyring) Version(v ReceiptVersion) (ReceiptKeys, bool) {
	for _, k := range r.keys {
		if k.Version == v {
			return k, true
		}
	}
	return ReceiptKeys{}, false
}

// Destroy zeroes every wrap key of the ring.
func (r ReceiptKeyring) Destroy() {
	for _, k := range r.keys {
		k.wrap.Destroy()
	}
}

// Receipts derives the keys of a network's receipts. It holds what the
// derivation needs: the network salt and argon2id parameters (both stored in
// the database, fixed at the network's first start) and the network secret
// (never in the database).
type Receipts struct {
	kdf    *KDF
	salt   []byte
	params KDFParams
	// gens are the v2 subkeys under the current network secret, then
	// under each earlier generation of it (a rotation, internal/keys),
	// newest first: a receipt issued before a rotation keeps opening and
	// is upgraded to the current generation at its next login.
	gens []receiptSubkeys
}

type receiptSubkeys struct {
	lookup []byte // HKDF-Expand(secret, "salama/receipt/v2/lookup")
	wrap   []byte // HKDF-Expand(secret, "salama/receipt/v2/wrap")
}

func receiptSubkeysOf(s *NetworkSecret) receiptSubkeys {
	return receiptSubkeys{lookup: s.subkey("salama/receipt/v2/lookup"), wrap: s.subkey("salama/receipt/v2/wrap")}
}

// NewReceipts checks the salt (at least SaltSize bytes), the parameters (as
// [KDFParams.Validate]) and the secret, and returns the network's receipt
// derivation.
func NewReceipts(kdf *KDF, secret *NetworkSecret, networkSalt []byte, p KDFParams) (*Receipts, error) {
	if kdf == nil {
		return nil, fmt.Errorf("%w: no KDF", ErrInvalidInput)
	}
	if secret == nil || !secret.live {
		return nil, fmt.Errorf("%w: no network secret", ErrInvalidInput)
	}
	if len(networkSalt) < SaltSize {
		return nil, fmt.Errorf("%w: salt shorter than %d bytes", ErrInvalidInput, SaltSize)
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	rs := &Receipts{kdf: kdf, salt: append([]byte(nil), networkSalt...), params: p,
		gens: []receiptSubkeys{receiptSubkeysOf(secret)}}
	for _, prev := range secret.Previous() {
		rs.gens = append(rs.gens, receiptSubkeysOf(prev))
	}
	return rs, nil
}

// Keys runs argon2id(16 digits, network salt) once and returns the keys of
// every version:
//
//	a ‖ b      = argon2id(digits, salt, params), 32 bytes each
//	v2 lookup  = HMAC-SHA-256(HKDF-Expand(secret, "salama/receipt/v2/lookup", 32), a)
//	v2 wrap    = HMAC-SHA-256(HKDF-Expand(secret, "salama/receipt/v2/wrap", 32), b)
//	v1 lookup  = a, v1 wrap = b (read only)
//
// and, after a rotation of the network secret, the v2 keys under each
// earlier generation (read only, between the current ones and v1). The
// caller must Destroy the ring.
func (rs *Receipts) Keys(ctx context.Context, r Receipt) (ReceiptKeyring, error) {
	if !r.valid() {
		return ReceiptKeyring{}, ErrReceiptFormat
	}
	a, b, err := rs.kdf.derive64(ctx, r.d[:], rs.salt, rs.params)
	if err != nil {
		return ReceiptKeyring{}, err
	}
	defer clear(b)
	var ring ReceiptKeyring
	for _, g := range rs.gens {
		v2wrap := hmacSHA256(g.wrap, b)
		k, err := receiptKeys(ReceiptV2, hmacSHA256(g.lookup, a), v2wrap)
		clear(v2wrap)
		if err != nil {
			ring.Destroy()
			return ReceiptKeyring{}, err
		}
		ring.keys = append(ring.keys, k)
	}
	legacy, err := receiptKeys(ReceiptV1, a, b)
	if err != nil {
		ring.Destroy()
		return ReceiptKeyring{}, err
	}
	ring.keys = append(ring.keys, legacy)
	return ring, nil
}

func receiptKeys(v ReceiptVersion, lookup, wrap []byte) (ReceiptKeys, error) {
	k, err := KeyFromBytes(wrap)
	if err != nil {
		return ReceiptKeys{}, err
	}
	return ReceiptKeys{Version: v, Lookup: lookup, wrap: k}, nil
}

func hmacSHA256(key, msg []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(msg)
	return m.Sum(nil)
}
