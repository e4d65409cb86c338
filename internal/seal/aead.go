package seal

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"log/slog"
	"math"

	"golang.org/x/crypto/chacha20poly1305"
)

const (
	// KeySize is the size in bytes of every symmetric key in this package.
	KeySize = chacha20poly1305.KeySize

	// formatVersion is every wrap's format, and the format of fields
	// sealed before padding existed (they still open).
	formatVersion byte = 0x01
	// formatPadded is a field sealed after padding its plaintext to a
	// size bucket (see padField).
	formatPadded byte = 0x02
	nonceSize         = chacha20poly1305.NonceSizeX
	headerSize        = 1 + nonceSize
	sealOverhead      = headerSize + chacha20poly1305.Overhead

	domainField       = "salama/field"
	domainDataKey     = "salama/data-key"
	domainOrgIdentity = "salama/org-identity"
)

// Sealed is a field sealed under a report's [DataKey]. It is opaque: store it
// as bytes, give it back to [DataKey.Open].
type Sealed []byte

// DataKey is a report's random 256-bit data key. Withdrawal and purge destroy
// a report by deleting every wrap of its DataKey.
//
// The zero value is unusable (every method returns [ErrDestroyed]), so a key
// that was never generated or unwrapped can never seal under all zeros.
type DataKey struct {
	b    [KeySize]byte
	live bool
}

// NewDataKey returns a fresh random data key.
func NewDataKey() (*DataKey, error) {
	dk := &DataKey{live: true}
	if _, err := rand.Read(dk.b[:]); err != nil {
		return nil, fmt.Errorf("seal: reading randomness: %w", err)
	}
	return dk, nil
}

// Seal seals plaintext as the field named field of report reportID. Both
// must be non-empty: they are the associated data that stops a ciphertext
// being swapped between reports or fields.
//
// The plaintext is padded to a size bucket first (format 0x02, see
// [PaddedSize]), so that the length of a sealed field says little about the
// length of what a survivor wrote.
func (dk *DataKey) Seal(reportID, field string, plaintext []byte) (Sealed, error) {
	if dk == nil || !dk.live {
		return nil, ErrDestroyed
	}
	return sealPadded(&dk.b, domainField, reportID, field, plaintext)
}

// Open opens a field sealed by [DataKey.Seal] with the same reportID and
// field, in either format: padded (0x02) or sealed before padding existed
// (0x01). Any failure, including a wrong report id or field name, returns
// [ErrOpen].
func (dk *DataKey) Open(reportID, field string, s Sealed) ([]byte, error) {
	if dk == nil || !dk.live {
		return nil, ErrDestroyed
	}
	if len(s) > 0 && s[0] == formatPadded {
		return openPadded(&dk.b, domainField, reportID, field, s)
	}
	return openAEAD(&dk.b, domainField, reportID, field, s)
}

// Destroy zeroes the key and makes it unusable. It must not run concurrently
// with another method on the same key.
func (dk *DataKey) Destroy() {
	if dk == nil {
		return
	}
	clear(dk.b[:])
	dk.live = false
}

// Format redacts the key in any fmt verb.
func (dk DataKey) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte("seal.DataKey(redacted)")) }

// LogValue redacts the key in log/slog.
func (dk DataKey) LogValue() slog.Value { return slog.StringValue("redacted") }

// Key is a 256-bit symmetric key that wraps other keys: a caseworker's
// session key, a receipt's wrap key, a password's key-encryption key, an
// organisation's recovery key. Like [DataKey], its zero value is unusable.
type Key struct {
	b    [KeySize]byte
	live bool
}

// NewKey returns a fresh random key.
func NewKey() (*Key, error) {
	k := &Key{live: true}
	if _, err := rand.Read(k.b[:]); err != nil {
		return nil, fmt.Errorf("seal: reading randomness: %w", err)
	}
	return k, nil
}

// KeyFromBytes copies exactly [KeySize] bytes into a new key (for example a
// session key read back from a cookie). The caller may clear b afterwards.
func KeyFromBytes(b []byte) (*Key, error) {
	if len(b) != KeySize {
		return nil, fmt.Errorf("%w: a key is %d bytes", ErrInvalidInput, KeySize)
	}
	k := &Key{live: true}
	copy(k.b[:], b)
	return k, nil
}

// Bytes returns a copy of the key, for putting a session key in a cookie. It
// returns nil for a destroyed key.
func (k *Key) Bytes() []byte {
	if k == nil || !k.live {
		return nil
	}
	return append([]byte(nil), k.b[:]...)
}

// Destroy zeroes the key and makes it unusable. It must not run concurrently
// with another method on the same key.
func (k *Key) Destroy() {
	if k == nil {
		return
	}
	clear(k.b[:])
	k.live = false
}

// Format redacts the key in any fmt verb.
func (k Key) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte("seal.Key(redacted)")) }

// LogValue redacts the key in log/slog.
func (k Key) LogValue() slog.Value { return slog.StringValue("redacted") }

// WrapDataKey wraps dk for report reportID and a purpose naming who holds
// this wrap (for example "receipt"). Both are bound as associated data.
func (k *Key) WrapDataKey(reportID, purpose string, dk *DataKey) ([]byte, error) {
	if k == nil || !k.live || dk == nil || !dk.live {
		return nil, ErrDestroyed
	}
	return sealAEAD(&k.b, domainDataKey, reportID, purpose, dk.b[:])
}

// UnwrapDataKey reverses [Key.WrapDataKey] with the same reportID and
// purpose. Any failure returns [ErrOpen].
func (k *Key) UnwrapDataKey(reportID, purpose string, w []byte) (*DataKey, error) {
	if k == nil || !k.live {
		return nil, ErrDestroyed
	}
	pt, err := openAEAD(&k.b, domainDataKey, reportID, purpose, w)
	if err != nil {
		return nil, err
	}
	defer clear(pt)
	if len(pt) != KeySize {
		return nil, ErrOpen
	}
	dk := &DataKey{live: true}
	copy(dk.b[:], pt)
	return dk, nil
}

// WrapOrgIdentity wraps an organisation's private key for organisation orgID
// and a purpose naming who holds this wrap (for example "user:<id>",
// "session:<hash>" or "recovery"). Both are bound as associated data.
func (k *Key) WrapOrgIdentity(orgID, purpose string, o *OrgIdentity) ([]byte, error) {
	if k == nil || !k.live {
		return nil, ErrDestroyed
	}
	if o == nil || o.id == nil {
		return nil, fmt.Errorf("%w: no organisation identity", ErrInvalidInput)
	}
	pt := []byte(o.id.String())
	defer clear(pt)
	return sealAEAD(&k.b, domainOrgIdentity, orgID, purpose, pt)
}

// UnwrapOrgIdentity reverses [Key.WrapOrgIdentity] with the same orgID and
// purpose. Any failure returns [ErrOpen].
func (k *Key) UnwrapOrgIdentity(orgID, purpose string, w []byte) (*OrgIdentity, error) {
	if k == nil || !k.live {
		return nil, ErrDestroyed
	}
	pt, err := openAEAD(&k.b, domainOrgIdentity, orgID, purpose, w)
	if err != nil {
		return nil, err
	}
	defer clear(pt)
	return parseOrgIdentity(pt)
}

// additionalData encodes (version, domain, a, b) unambiguously: every string
// is length-prefixed, so ("ab", "c") and ("a", "bc") differ.
func additionalData(domain, a, b string) ([]byte, error) {
	return versionedAD(formatVersion, domain, a, b)
}

// versionedAD is additionalData for a given format version, which the
// associated data binds, so that a blob cannot be relabelled as another
// version.
func versionedAD(version byte, domain, a, b string) ([]byte, error) {
	if a == "" || b == "" {
		return nil, fmt.Errorf("%w: empty id or name in associated data", ErrInvalidInput)
	}
	ad := make([]byte, 0, 1+12+len(domain)+len(a)+len(b))
	ad = append(ad, version)
	for _, s := range [...]string{domain, a, b} {
		if uint64(len(s)) > math.MaxUint32 {
			return nil, fmt.Errorf("%w: associated data too long", ErrInvalidInput)
		}
		ad = binary.BigEndian.AppendUint32(ad, uint32(len(s)))
		ad = append(ad, s...)
	}
	return ad, nil
}

func sealAEAD(key *[KeySize]byte, domain, a, b string, plaintext []byte) ([]byte, error) {
	ad, err := additionalData(domain, a, b)
	if err != nil {
		return nil, err
	}
	aead, err := chacha20poly1305.NewX(key[:])
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err) // unreachable: the key size is fixed
	}
	out := make([]byte, headerSize, sealOverhead+len(plaintext))
	out[0] = formatVersion
	if _, err := rand.Read(out[1:headerSize]); err != nil {
		return nil, fmt.Errorf("seal: reading randomness: %w", err)
	}
	return aead.Seal(out, out[1:headerSize], plaintext, ad), nil
}

func openAEAD(key *[KeySize]byte, domain, a, b string, sealed []byte) ([]byte, error) {
	if len(sealed) < sealOverhead || sealed[0] != formatVersion {
		return nil, ErrOpen
	}
	ad, err := additionalData(domain, a, b)
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
	return pt, nil
}
