package seal

import (
	"context"
	"crypto/rand"
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
// at least 32 bytes (an HMAC output, say), so that a form submitted twice can
// show the same receipt again. The first 32 bytes, read as a big-endian
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

// ReceiptKeys are what a receipt unlocks: Lookup (32 bytes) is stored in the
// database to find the report; Wrap wraps the report's data key for the
// survivor.
type ReceiptKeys struct {
	Lookup []byte
	Wrap   *Key
}

// ReceiptKeys derives argon2id(16 digits, networkSalt, p): the first 32 bytes
// are the lookup key, the last 32 the wrap key. networkSalt must be at least
// SaltSize bytes and is the same for every receipt of the network.
func (k *KDF) ReceiptKeys(ctx context.Context, r Receipt, networkSalt []byte, p KDFParams) (ReceiptKeys, error) {
	if !r.valid() {
		return ReceiptKeys{}, ErrReceiptFormat
	}
	lookup, w, err := k.derive64(ctx, r.d[:], networkSalt, p)
	if err != nil {
		return ReceiptKeys{}, err
	}
	wrap, err := KeyFromBytes(w)
	clear(w)
	if err != nil {
		return ReceiptKeys{}, err
	}
	return ReceiptKeys{Lookup: lookup, Wrap: wrap}, nil
}
