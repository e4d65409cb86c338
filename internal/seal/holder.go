package seal

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"

	"filippo.io/age"
)

// A holder is whoever holds a copy of an organisation's private key: a
// member, or the organisation's recovery code. Each holder has its own age
// key pair (hybrid post-quantum, like the organisation's), whose private key
// is sealed under the holder's key-encryption key (argon2id of the password
// or recovery code, SPEC §6), and the organisation's private key is wrapped
// to the holder's public key.
//
// Why the extra key pair: when a member leaves, the organisation's key pair
// is replaced, and the new private key must reach every remaining member and
// the recovery code without their passwords, which the server never has.
// Wrapping it to a holder's public key needs only that public key; without
// it the new key could only be wrapped under the old one, which the member
// who left also holds.

// domainHolderIdentity separates sealed holder identities from every other
// sealed blob (see the package documentation's Formats).
const domainHolderIdentity = "salama/holder-identity"

// orgIdentityHeader starts the plaintext of an age file that carries an
// organisation's private key, followed by the organisation's id and the
// key's generation, one per line: age has no associated data, so the
// binding to an organisation and a generation travels inside the
// encryption, and a wrap moved to another organisation or generation does
// not open.
const orgIdentityHeader = "salama/org-identity/v1"

// HolderIdentity is a holder's private key. It leaves this package only
// sealed under a [Key] (see [Key.WrapHolderIdentity]).
type HolderIdentity struct {
	id *age.HybridIdentity
}

// HolderRecipient is a holder's public key, stored in the database in its
// age encoding ("age1pq1…").
type HolderRecipient struct {
	r *age.HybridRecipient
}

// GenerateHolderIdentity returns a new random holder key pair.
func GenerateHolderIdentity() (*HolderIdentity, error) {
	id, err := age.GenerateHybridIdentity()
	if err != nil {
		return nil, fmt.Errorf("seal: generating holder key: %w", err)
	}
	return &HolderIdentity{id: id}, nil
}

// Recipient returns the public key of h, or nil for a zero HolderIdentity.
func (h *HolderIdentity) Recipient() *HolderRecipient {
	if h == nil || h.id == nil {
		return nil
	}
	return &HolderRecipient{r: h.id.Recipient()}
}

// Format redacts the private key in any fmt verb.
func (h HolderIdentity) Format(f fmt.State, verb rune) {
	_, _ = f.Write([]byte("seal.HolderIdentity(redacted)"))
}

// LogValue redacts the private key in log/slog.
func (h HolderIdentity) LogValue() slog.Value { return slog.StringValue("redacted") }

// ParseHolderRecipient parses a holder public key in its age encoding. Only
// hybrid post-quantum keys are accepted.
func ParseHolderRecipient(s string) (*HolderRecipient, error) {
	r, err := age.ParseHybridRecipient(s)
	if err != nil {
		return nil, ErrRecipientFormat
	}
	return &HolderRecipient{r: r}, nil
}

// String returns the age encoding of the public key, for the database.
func (r *HolderRecipient) String() string {
	if r == nil || r.r == nil {
		return ""
	}
	return r.r.String()
}

// WrapHolderIdentity seals a holder's private key for its owner (a user id,
// or an organisation id for its recovery code) and a purpose. Both are bound
// as associated data.
func (k *Key) WrapHolderIdentity(ownerID, purpose string, h *HolderIdentity) ([]byte, error) {
	if k == nil || !k.live {
		return nil, ErrDestroyed
	}
	if h == nil || h.id == nil {
		return nil, fmt.Errorf("%w: no holder identity", ErrInvalidInput)
	}
	pt := []byte(h.id.String())
	defer clear(pt)
	return sealAEAD(&k.b, domainHolderIdentity, ownerID, purpose, pt)
}

// UnwrapHolderIdentity reverses [Key.WrapHolderIdentity] with the same owner
// and purpose. Any failure returns [ErrOpen].
func (k *Key) UnwrapHolderIdentity(ownerID, purpose string, w []byte) (*HolderIdentity, error) {
	if k == nil || !k.live {
		return nil, ErrDestroyed
	}
	pt, err := openAEAD(&k.b, domainHolderIdentity, ownerID, purpose, w)
	if err != nil {
		return nil, err
	}
	defer clear(pt)
	id, err := age.ParseHybridIdentity(string(pt))
	if err != nil {
		return nil, ErrOpen
	}
	return &HolderIdentity{id: id}, nil
}

// WrapOrgIdentity wraps generation gen of organisation orgID's private key
// to this holder, as one binary age file.
func (r *HolderRecipient) WrapOrgIdentity(orgID string, gen int, o *OrgIdentity) ([]byte, error) {
	if r == nil || r.r == nil {
		return nil, fmt.Errorf("%w: no holder public key", ErrInvalidInput)
	}
	return wrapOrgIdentityTo(r.r, orgID, gen, o)
}

// UnwrapOrgIdentity opens a wrap made by [HolderRecipient.WrapOrgIdentity]
// for the same organisation and generation. Any failure returns [ErrOpen].
func (h *HolderIdentity) UnwrapOrgIdentity(orgID string, gen int, w []byte) (*OrgIdentity, error) {
	if h == nil || h.id == nil {
		return nil, ErrDestroyed
	}
	return unwrapOrgIdentityWith(h.id, orgID, gen, w)
}

// WrapOrgIdentity wraps an older generation gen of the organisation's
// private key to this (newer) organisation public key: while a key rotation
// re-wraps the reports, whoever holds the new key can still open what is
// wrapped to the old one, and nobody else can.
func (r *OrgRecipient) WrapOrgIdentity(orgID string, gen int, old *OrgIdentity) ([]byte, error) {
	if r == nil || r.r == nil {
		return nil, fmt.Errorf("%w: no organisation public key", ErrInvalidInput)
	}
	return wrapOrgIdentityTo(r.r, orgID, gen, old)
}

// UnwrapOrgIdentity opens an older generation's private key wrapped by
// [OrgRecipient.WrapOrgIdentity]. Any failure returns [ErrOpen].
func (o *OrgIdentity) UnwrapOrgIdentity(orgID string, gen int, w []byte) (*OrgIdentity, error) {
	if o == nil || o.id == nil {
		return nil, ErrDestroyed
	}
	return unwrapOrgIdentityWith(o.id, orgID, gen, w)
}

func orgIdentityBinding(orgID string, gen int) (string, error) {
	if orgID == "" || strings.ContainsAny(orgID, "\n") || gen < 1 {
		return "", fmt.Errorf("%w: organisation id or key generation", ErrInvalidInput)
	}
	return orgIdentityHeader + "\n" + orgID + "\n" + strconv.Itoa(gen) + "\n", nil
}

func wrapOrgIdentityTo(r age.Recipient, orgID string, gen int, o *OrgIdentity) ([]byte, error) {
	if o == nil || o.id == nil {
		return nil, fmt.Errorf("%w: no organisation identity", ErrInvalidInput)
	}
	head, err := orgIdentityBinding(orgID, gen)
	if err != nil {
		return nil, err
	}
	pt := []byte(head + o.id.String())
	defer clear(pt)
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, r)
	if err != nil {
		return nil, fmt.Errorf("seal: age: %w", err)
	}
	if _, err := w.Write(pt); err != nil {
		return nil, fmt.Errorf("seal: age: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("seal: age: %w", err)
	}
	return buf.Bytes(), nil
}

func unwrapOrgIdentityWith(i age.Identity, orgID string, gen int, w []byte) (*OrgIdentity, error) {
	head, err := orgIdentityBinding(orgID, gen)
	if err != nil || len(w) > maxOrgWrapSize {
		return nil, ErrOpen
	}
	r, err := age.Decrypt(bytes.NewReader(w), i)
	if err != nil {
		return nil, ErrOpen
	}
	// A hybrid identity's text is about 2.5 KB; reading to EOF within the
	// bound means age authenticated the last chunk.
	pt, err := io.ReadAll(io.LimitReader(r, maxOrgWrapSize))
	defer clear(pt)
	if err != nil || len(pt) >= maxOrgWrapSize {
		return nil, ErrOpen
	}
	rest, ok := bytes.CutPrefix(pt, []byte(head))
	if !ok {
		return nil, ErrOpen
	}
	return parseOrgIdentity(rest)
}

// Key derives a symmetric key for purpose from the network secret, with the
// same HKDF-Expand as every other subkey ("salama/key/" + purpose). It is
// for what the server must be able to open by itself after a restart, and
// that a database dump alone must not open: the copy of an organisation's
// old private key that a key rotation job re-wraps reports with.
func (s *NetworkSecret) Key(purpose string) (*Key, error) {
	s.mustLive()
	b := s.subkey("salama/key/" + purpose)
	defer clear(b)
	return KeyFromBytes(b)
}
