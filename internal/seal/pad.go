package seal

import (
	"crypto/rand"
	"fmt"
	"math/bits"

	"golang.org/x/crypto/chacha20poly1305"
)

// Padding of sealed fields.
//
// XChaCha20-Poly1305 hides what a field says but not how long it is: an
// unpadded ciphertext is exactly 41 bytes longer than its plaintext. In a
// stolen database that tells a one-line report from a long account, and a
// screenshot's exact size can be matched against a known image. So a field
// is padded before it is sealed (format 0x02):
//
//	0x02 || nonce (24) || XChaCha20-Poly1305(plaintext || 0x80 || 0x00…, AD)
//
// with the associated data of format 0x01 but starting with 0x02. The
// padding is ISO/IEC 7816-4 (one 0x80 byte, then zeros), so it is removed
// without a length field: the last non-zero byte of the opened plaintext
// must be the 0x80 marker.
//
// The padded length (plaintext + marker) is the smallest bucket that holds
// it, see PaddedSize:
//
//   - up to 256 bytes: 256. Every short answer (a country, a contact, a
//     few identifiers, a short message or note, a narrative of a few
//     sentences) looks alike;
//   - up to 64 KiB: the next power of two (512, 1 KiB, … 64 KiB). A
//     narrative of up to 10,000 characters falls in one of eight buckets;
//   - above 64 KiB (screenshots): Padmé (Nikitin et al., "Reducing
//     Metadata Leakage from Encrypted Files and Communication with PURBs",
//     PETS 2019): the length is rounded up so that only its top
//     ⌊log2 ⌊log2 L⌋⌋ + 1 bits remain, which adds at most about 12 % and
//     usually 2–6 %.
//
// What remains visible is the bucket: whether a narrative is under 256
// bytes, under 512, …, and a screenshot's size to within a few per cent.
// How many fields a report has, and which, is visible too (the field names
// are in the clear; they are the associated data).
const (
	padFloor      = 256
	padPowersUpTo = 64 << 10
	padMarker     = 0x80
)

// PaddedSize returns the length that n bytes of plaintext are padded to
// (marker included) before sealing; a padded field's sealed length is
// PaddedSize(n) + 41.
func PaddedSize(n int) int {
	n++ // the marker
	switch {
	case n <= padFloor:
		return padFloor
	case n <= padPowersUpTo:
		return 1 << bits.Len(uint(n-1))
	}
	return padme(n)
}

// padme rounds l up as the Padmé scheme does: with E = ⌊log2 l⌋ and
// S = ⌊log2 E⌋ + 1, the low E − S bits are cleared (rounding up).
func padme(l int) int {
	e := bits.Len(uint(l)) - 1
	s := bits.Len(uint(e))
	mask := 1<<(e-s) - 1
	return (l + mask) &^ mask
}

// SealedSize returns the length of the sealed form of n bytes of field
// plaintext, for callers that budget storage.
func SealedSize(n int) int { return PaddedSize(n) + sealOverhead }

// sealPadded seals plaintext padded to its bucket, in format 0x02. The
// padded copy is built in the output buffer and sealed in place, so a
// large screenshot is not held twice.
func sealPadded(key *[KeySize]byte, domain, a, b string, plaintext []byte) ([]byte, error) {
	ad, err := versionedAD(formatPadded, domain, a, b)
	if err != nil {
		return nil, err
	}
	aead, err := chacha20poly1305.NewX(key[:])
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err) // unreachable: the key size is fixed
	}
	size := PaddedSize(len(plaintext))
	out := make([]byte, headerSize+size, headerSize+size+chacha20poly1305.Overhead)
	out[0] = formatPadded
	if _, err := rand.Read(out[1:headerSize]); err != nil {
		return nil, fmt.Errorf("seal: reading randomness: %w", err)
	}
	body := out[headerSize:]
	copy(body, plaintext)
	body[len(plaintext)] = padMarker // the rest is already zero
	sealed := aead.Seal(body[:0], out[1:headerSize], body, ad)
	return out[:headerSize+len(sealed)], nil
}

// openPadded opens a format 0x02 blob and removes its padding. The
// plaintext is authentic by then, so the padding check leaks nothing an
// attacker could use.
func openPadded(key *[KeySize]byte, domain, a, b string, sealed []byte) ([]byte, error) {
	if len(sealed) < sealOverhead || sealed[0] != formatPadded {
		return nil, ErrOpen
	}
	ad, err := versionedAD(formatPadded, domain, a, b)
	if err != nil {
		return nil, ErrOpen
	}
	aead, err := chacha20poly1305.NewX(key[:])
	if err != nil {
		return nil, ErrOpen
	}
	pt, err := aead.Open(nil, sealed[1:headerSize], sealed[headerSize:], ad)
	if err != nil {
		return nil, ErrOpen
	}
	i := len(pt) - 1
	for i >= 0 && pt[i] == 0 {
		i--
	}
	if i < 0 || pt[i] != padMarker {
		clear(pt)
		return nil, ErrOpen
	}
	return pt[:i:i], nil
}
