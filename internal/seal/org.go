package seal

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"

	"filippo.io/age"
)

// maxOrgWrapSize bounds the input UnwrapDataKey will parse. A hybrid age file
// holding a data key is about 1.3 KB.
const maxOrgWrapSize = 16 << 10

// OrgIdentity is an organisation's private key: an age hybrid post-quantum
// (ML-KEM-768 + X25519) identity. It leaves this package only wrapped under a
// [Key] (see [Key.WrapOrgIdentity]).
type OrgIdentity struct {
	id *age.HybridIdentity
}

// OrgRecipient is an organisation's public key, stored in the database in
// its age encoding ("age1pq1…").
type OrgRecipient struct {
	r *age.HybridRecipient
}

// GenerateOrgIdentity returns a new random organisation key pair.
func GenerateOrgIdentity() (*OrgIdentity, error) {
	id, err := age.GenerateHybridIdentity()
	if err != nil {
		return nil, fmt.Errorf("seal: generating organisation key: %w", err)
	}
	return &OrgIdentity{id: id}, nil
}

func parseOrgIdentity(b []byte) (*OrgIdentity, error) {
	// The parse error is dropped: it may quote part of the secret key.
	id, err := age.ParseHybridIdentity(string(b))
	if err != nil {
		return nil, ErrOpen
	}
	return &OrgIdentity{id: id}, nil
}

// Recipient returns the public key of o, or nil for a zero OrgIdentity.
func (o *OrgIdentity) Recipient() *OrgRecipient {
	if o == nil || o.id == nil {
		return nil
	}
	return &OrgRecipient{r: o.id.Recipient()}
}

// Format redacts the private key in any fmt verb.
func (o OrgIdentity) Format(f fmt.State, verb rune) {
	_, _ = f.Write([]byte("seal.OrgIdentity(redacted)"))
}

// LogValue redacts the private key in log/slog.
func (o OrgIdentity) LogValue() slog.Value { return slog.StringValue("redacted") }

// UnwrapDataKey opens a data key wrapped by [OrgRecipient.WrapDataKey] to
// this organisation. Any failure returns [ErrOpen].
func (o *OrgIdentity) UnwrapDataKey(w []byte) (*DataKey, error) {
	if o == nil || o.id == nil {
		return nil, ErrDestroyed
	}
	if len(w) > maxOrgWrapSize {
		return nil, ErrOpen
	}
	r, err := age.Decrypt(bytes.NewReader(w), o.id)
	if err != nil {
		return nil, ErrOpen
	}
	// Read one byte more than a key: reaching EOF before the limit means age
	// has authenticated the final chunk, so a truncated or extended file
	// cannot pass.
	pt, err := io.ReadAll(io.LimitReader(r, KeySize+1))
	defer clear(pt)
	if err != nil || len(pt) != KeySize {
		return nil, ErrOpen
	}
	dk := &DataKey{live: true}
	copy(dk.b[:], pt)
	return dk, nil
}

// ParseOrgRecipient parses an organisation public key in its age encoding.
// Only hybrid post-quantum keys ("age1pq1…") are accepted.
func ParseOrgRecipient(s string) (*OrgRecipient, error) {
	r, err := age.ParseHybridRecipient(s)
	if err != nil {
		return nil, ErrRecipientFormat
	}
	return &OrgRecipient{r: r}, nil
}

// String returns the age encoding of the public key, for the database.
func (r *OrgRecipient) String() string {
	if r == nil || r.r == nil {
		return ""
	}
	return r.r.String()
}

// WrapDataKey wraps dk to this organisation as one binary (not armored) age
// file with a single recipient. age refuses to mix post-quantum recipients
// with others in one file, and one file per recipient keeps every wrap
// independently deletable.
func (r *OrgRecipient) WrapDataKey(dk *DataKey) ([]byte, error) {
	if r == nil || r.r == nil {
		return nil, fmt.Errorf("%w: no organisation public key", ErrInvalidInput)
	}
	if dk == nil || !dk.live {
		return nil, ErrDestroyed
	}
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, r.r)
	if err != nil {
		return nil, fmt.Errorf("seal: age: %w", err)
	}
	if _, err := w.Write(dk.b[:]); err != nil {
		return nil, fmt.Errorf("seal: age: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("seal: age: %w", err)
	}
	return buf.Bytes(), nil
}
