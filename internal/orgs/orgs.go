// Package orgs owns the member organisations of the referral network and
// their keys. Creating an organisation generates its age key pair (hybrid
// post-quantum): the public key goes to the database so reports can be
// sealed to it; the private key is only ever stored wrapped, here for the
// recovery code printed once, and (by the console) for each member user.
// The recovery code, like each member, is a holder (seal.HolderIdentity):
// it opens a key pair of its own, and the organisation key is wrapped to
// that, so that a key rotation can give the code the new key without it.
//
// It must never store or print a private key, and prints a recovery code
// exactly once, at creation.
package orgs

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"github.com/salama-ke/salama/internal/seal"
	"github.com/salama-ke/salama/internal/store"
)

// New describes an organisation to create.
type New struct {
	Name            string
	Intake          bool
	ChildProtection bool
}

// Created is a new organisation and the recovery code that was shown once.
type Created struct {
	Org          *store.Organisation
	RecoveryCode string
}

// recoveryEncoding leaves out letters easily confused when read aloud.
var recoveryEncoding = base32.NewEncoding("ABCDEFGHJKLMNPQRSTUVWXYZ23456789").WithPadding(base32.NoPadding)

// NewRecoveryCode returns 160 random bits as eight groups of four letters
// and digits.
func NewRecoveryCode() (string, error) {
	b := make([]byte, 20)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	s := recoveryEncoding.EncodeToString(b)
	var groups []string
	for i := 0; i < len(s); i += 4 {
		groups = append(groups, s[i:min(i+4, len(s))])
	}
	return strings.Join(groups, "-"), nil
}

// normaliseRecoveryCode makes a typed recovery code comparable.
func normaliseRecoveryCode(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '-' || r == ' ':
			return -1
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		}
		return r
	}, s)
}

// Create generates the organisation's keys and stores it.
func Create(ctx context.Context, st *store.Store, kdf *seal.KDF, params seal.KDFParams, n New, now time.Time) (*Created, error) {
	name := strings.TrimSpace(n.Name)
	if name == "" {
		return nil, errors.New("orgs: a name is required")
	}
	id, err := newID()
	if err != nil {
		return nil, err
	}
	ident, err := seal.GenerateOrgIdentity()
	if err != nil {
		return nil, err
	}
	code, err := NewRecoveryCode()
	if err != nil {
		return nil, err
	}
	salt, err := seal.NewSalt()
	if err != nil {
		return nil, err
	}
	_, kek, err := kdf.Password(ctx, normaliseRecoveryCode(code), salt, params)
	if err != nil {
		return nil, err
	}
	defer kek.Destroy()
	holder, err := seal.GenerateHolderIdentity()
	if err != nil {
		return nil, err
	}
	holderWrap, err := kek.WrapHolderIdentity(id, "recovery", holder)
	if err != nil {
		return nil, err
	}
	wrap, err := holder.Recipient().WrapOrgIdentity(id, 1, ident)
	if err != nil {
		return nil, err
	}
	o := &store.Organisation{ID: id, Name: name, Intake: n.Intake, ChildProtection: n.ChildProtection,
		PublicKey: ident.Recipient().String(), RecoverySalt: salt, RecoveryParams: params.String(),
		RecoveryWrap: wrap, RecoveryHolder: holder.Recipient().String(), RecoveryHolderWrap: holderWrap,
		KeyGen: 1, CreatedAt: now.UTC()}
	if err := st.CreateOrganisation(ctx, o); err != nil {
		return nil, err
	}
	return &Created{Org: o, RecoveryCode: code}, nil
}

// CreateListed adds a service provider that does not run Salama (a
// hospital, a police gender desk, a government office): it has no keys and
// no users, so it can never receive a report or a sealed copy; referrals to
// its services are recorded hand-offs.
func CreateListed(ctx context.Context, st *store.Store, name string, now time.Time) (*store.Organisation, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return nil, errors.New("orgs: a name is required")
	}
	id, err := newID()
	if err != nil {
		return nil, err
	}
	o := &store.Organisation{ID: id, Name: name, CreatedAt: now.UTC()}
	return o, st.CreateOrganisation(ctx, o)
}

// Member reports whether an organisation runs Salama: it has a key pair, so
// reports and referral copies can be sealed to it.
func Member(o store.Organisation) bool { return o.PublicKey != "" }

// ErrNoRecoveryCopy means the recovery code no longer opens the
// organisation's key: a code from before holder keys that was not used
// before the key was rotated from the console. docs/security.md says what
// to do.
var ErrNoRecoveryCopy = errors.New("orgs: the recovery code no longer opens the organisation's current key")

// Recover unwraps an organisation's current private key with its recovery
// code. A code from before holder keys gets one now, so that later
// rotations keep it working.
func Recover(ctx context.Context, st *store.Store, kdf *seal.KDF, orgID, code string) (*seal.OrgIdentity, error) {
	o, err := st.Organisation(ctx, orgID)
	if err != nil {
		return nil, err
	}
	params, err := seal.ParseKDFParams(o.RecoveryParams)
	if err != nil {
		return nil, err
	}
	_, kek, err := kdf.Password(ctx, normaliseRecoveryCode(code), o.RecoverySalt, params)
	if err != nil {
		return nil, err
	}
	defer kek.Destroy()
	if o.RecoveryHolder != "" {
		h, err := kek.UnwrapHolderIdentity(orgID, "recovery", o.RecoveryHolderWrap)
		if err != nil {
			return nil, err
		}
		if len(o.RecoveryWrap) == 0 {
			return nil, ErrNoRecoveryCopy
		}
		return h.UnwrapOrgIdentity(orgID, o.KeyGen, o.RecoveryWrap)
	}
	if len(o.RecoveryWrap) == 0 {
		return nil, ErrNoRecoveryCopy
	}
	k, err := kek.UnwrapOrgIdentity(orgID, "recovery", o.RecoveryWrap)
	if err != nil {
		return nil, err
	}
	if k.Recipient().String() != o.PublicKey {
		return nil, ErrNoRecoveryCopy
	}
	h, err := seal.GenerateHolderIdentity()
	if err != nil {
		return nil, err
	}
	hw, err := kek.WrapHolderIdentity(orgID, "recovery", h)
	if err != nil {
		return nil, err
	}
	w, err := h.Recipient().WrapOrgIdentity(orgID, o.KeyGen, k)
	if err != nil {
		return nil, err
	}
	if _, err := st.SetRecoveryHolder(ctx, orgID, o.KeyGen, h.Recipient().String(), hw, w); err != nil {
		return nil, err
	}
	return k, nil
}

func newID() (string, error) {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return "org_" + hex.EncodeToString(b), nil
}
