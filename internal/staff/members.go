package staff

// Members and enrolment: adding a member with a one-time enrolment code,
// their first login (a TOTP secret and a password of their own), changing
// a password, and what an organisation admin does to the others.

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/salama-ke/salama/internal/audit"
	"github.com/salama-ke/salama/internal/ids"
	"github.com/salama-ke/salama/internal/problem"
	"github.com/salama-ke/salama/internal/seal"
	"github.com/salama-ke/salama/internal/store"
	"github.com/salama-ke/salama/internal/totp"
)

var codeEncoding = base32.NewEncoding("ABCDEFGHJKLMNPQRSTUVWXYZ23456789").WithPadding(base32.NoPadding)

// newEnrolmentCode returns 100 random bits as four groups of five.
func newEnrolmentCode() string {
	b := make([]byte, 13)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	s := codeEncoding.EncodeToString(b)[:20]
	return s[:5] + "-" + s[5:10] + "-" + s[10:15] + "-" + s[15:]
}

func normaliseCode(s string) string {
	return strings.ToUpper(strings.NewReplacer("-", "", " ", "").Replace(strings.TrimSpace(s)))
}

func normaliseUsername(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

func validUsername(s string) bool {
	if len(s) < 3 || len(s) > 40 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// NewUser describes a member to add.
type NewUser struct {
	Username, DisplayName string
	Role                  Role
}

// CreateUser adds a member of orgID, whose private key the caller holds
// (an admin's session, or the recovery code on the command line); actor is
// the audit actor. It returns the one-time enrolment code the new member logs in with first.
func (s *Service) CreateUser(ctx context.Context, actor string, orgID string, orgKey *seal.OrgIdentity, n NewUser) (string, error) {
	code := newEnrolmentCode()
	u, err := s.newUser(ctx, orgID, orgKey, n, normaliseCode(code))
	if err != nil {
		return "", err
	}
	u.EnrolExpires = s.Now().UTC().Add(s.EnrolmentLifetime)
	if err := s.Store.CreateUser(ctx, u); errors.Is(err, store.ErrDuplicateKey) {
		return "", ErrUsernameTaken
	} else if err != nil {
		return "", err
	}
	s.record(ctx, actor, orgID, audit.MemberAdded, "", "user="+u.ID+" role="+u.Role)
	return code, nil
}

// CreateEnrolledUser adds a member with a password and a TOTP secret already
// set: for the demo network, whose credentials are printed.
func (s *Service) CreateEnrolledUser(ctx context.Context, orgID string, orgKey *seal.OrgIdentity, n NewUser, password string, secret totp.Secret) error {
	if err := CheckPassword(password, n.Username); err != nil {
		return err
	}
	u, err := s.newUser(ctx, orgID, orgKey, n, password)
	if err != nil {
		return err
	}
	params, _ := seal.ParseKDFParams(u.KDFParams)
	_, kek, err := s.KDF.Password(ctx, password, u.KDFSalt, params)
	if err != nil {
		return err
	}
	defer kek.Destroy()
	if u.TOTPSealed, err = kek.SealSecret(u.ID, "totp", secret); err != nil {
		return err
	}
	if err := s.Store.CreateUser(ctx, u); errors.Is(err, store.ErrDuplicateKey) {
		return ErrUsernameTaken
	} else if err != nil {
		return err
	}
	return s.record(ctx, audit.ActorSystem, orgID, audit.MemberAdded, "", "user="+u.ID+" role="+u.Role)
}

func (s *Service) newUser(ctx context.Context, orgID string, orgKey *seal.OrgIdentity, n NewUser, secret string) (*store.User, error) {
	username := normaliseUsername(n.Username)
	if !validUsername(username) {
		return nil, problem.Invalid(ErrInvalid, ProblemUsername, "username")
	}
	if _, ok := ParseRole(string(n.Role)); !ok {
		return nil, problem.Invalid(ErrInvalid, ProblemRole, "role")
	}
	u := &store.User{ID: "usr_" + ids.New()[:16], OrgID: orgID, Username: username, DisplayName: strings.TrimSpace(n.DisplayName),
		Role: string(n.Role), KDFParams: s.KDFParams.String(), CreatedAt: s.Now().UTC()}
	var err error
	if u.KDFSalt, err = seal.NewSalt(); err != nil {
		return nil, err
	}
	// The key handed in must be the organisation's current one: a session
	// from before a rotation holds a retired key.
	org, err := s.Store.Organisation(ctx, orgID)
	if err != nil {
		return nil, err
	}
	if orgKey.Recipient().String() != org.PublicKey {
		return nil, store.ErrOrgKeyChanged
	}
	verifier, kek, err := s.KDF.Password(ctx, secret, u.KDFSalt, s.KDFParams)
	if err != nil {
		return nil, err
	}
	defer kek.Destroy()
	u.Verifier = verifier
	h, err := seal.GenerateHolderIdentity()
	if err != nil {
		return nil, err
	}
	u.HolderKey, u.OrgKeyGen = h.Recipient().String(), org.KeyGen
	if u.HolderWrap, err = kek.WrapHolderIdentity(u.ID, "holder", h); err != nil {
		return nil, err
	}
	if u.OrgKeyWrap, err = h.Recipient().WrapOrgIdentity(orgID, org.KeyGen, orgKey); err != nil {
		return nil, err
	}
	return u, nil
}

// Enrolment is the second step of a first login: the TOTP secret to add to
// an authenticator app, and a token that carries it to the last step.
type Enrolment struct {
	Username string
	Secret   totp.Secret
	Token    string
}

// BeginEnrolment checks an enrolment code and draws the member's TOTP
// secret.
func (s *Service) BeginEnrolment(ctx context.Context, username, code string) (*Enrolment, error) {
	u, kek, _, err := s.checkEnrolment(ctx, username, code)
	if err != nil {
		return nil, err
	}
	kek.Destroy()
	secret, err := totp.NewSecret()
	if err != nil {
		return nil, err
	}
	return &Enrolment{Username: u.Username, Secret: secret, Token: s.enrolToken(u.ID, secret)}, nil
}

// checkEnrolment checks a username and an enrolment code the way Login
// checks a password: same back-off, same argon2id work for a username nobody
// has. It returns the user, the code's key-encryption key and the back-off
// key.
func (s *Service) checkEnrolment(ctx context.Context, username, code string) (*store.User, *seal.Key, []byte, error) {
	now := s.Now().UTC()
	key := s.backoffKey(username)
	u, err := s.account(ctx, username)
	if err != nil {
		return nil, nil, nil, err
	}
	if err := s.backoff(ctx, key, now); err != nil {
		return nil, nil, nil, err
	}
	kek, err := s.checkPassword(ctx, u, key, normaliseCode(code))
	if err != nil {
		return nil, nil, nil, err
	}
	if !u.Enrolling() || u.Disabled || u.EnrolExpires.Before(now) {
		kek.Destroy()
		return nil, nil, nil, ErrBadLogin
	}
	return u, kek, key, nil
}

// enrolToken binds a drawn TOTP secret to the user for an hour: token =
// expiry ‖ secret ‖ MAC(user, expiry, secret).
func (s *Service) enrolToken(userID string, secret totp.Secret) string {
	b := binary.BigEndian.AppendUint64(nil, uint64(s.Now().Add(time.Hour).Unix()))
	b = append(b, secret...)
	b = append(b, s.Secret.MAC("enrol", append([]byte(userID+"\x00"), b...))...)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *Service) enrolSecret(userID, token string) (totp.Secret, bool) {
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(b) < 8+32 {
		return nil, false
	}
	body, mac := b[:len(b)-32], b[len(b)-32:]
	if !s.Secret.VerifyMAC("enrol", append([]byte(userID+"\x00"), body...), mac) {
		return nil, false
	}
	if time.Unix(int64(binary.BigEndian.Uint64(body[:8])), 0).Before(s.Now()) {
		return nil, false
	}
	return totp.Secret(body[8:]), true
}

// FinishEnrolment sets the member's password and TOTP secret (proved by a
// code from their app) and logs them in.
func (s *Service) FinishEnrolment(ctx context.Context, username, code, token, password, totpCode string) (string, error) {
	u, oldKEK, key, err := s.checkEnrolment(ctx, username, code)
	if err != nil {
		return "", err
	}
	defer oldKEK.Destroy()
	secret, ok := s.enrolSecret(u.ID, token)
	if !ok {
		return "", ErrBadLogin
	}
	if err := CheckPassword(password, u.Username); err != nil {
		return "", err
	}
	step, ok := totp.Verify(secret, totpCode, s.Now(), 0)
	if !ok {
		// Counted and audited like a wrong code at login.
		s.fail(ctx, u, key, "wrong_code")
		return "", ErrBadLogin
	}
	orgKey, gen, err := s.openOrgKey(ctx, u, oldKEK)
	if err != nil {
		return "", err
	}
	if err := s.setPassword(ctx, u, oldKEK, secret, password, step, nil); err != nil {
		return "", err
	}
	if _, err := s.Store.ClearLoginBackoff(ctx, key); err != nil {
		return "", err
	}
	s.record(ctx, audit.UserActor(u.ID), u.OrgID, audit.TOTPEnrolled, "", "")
	cookie, err := s.startSession(ctx, u, orgKey, gen)
	if err != nil {
		return "", err
	}
	s.record(ctx, audit.UserActor(u.ID), u.OrgID, audit.LoginOK, "", "method=totp")
	return cookie, nil
}

// setPassword re-derives the user's key from a new password and re-seals
// their holder key and TOTP secret under it (the organisation key stays
// wrapped to the holder key; oldKEK, the old password's or enrolment code's
// key, opens the holder key). Every session of the user but keep (an id
// hash; nil for none) ends.
func (s *Service) setPassword(ctx context.Context, u *store.User, oldKEK *seal.Key, secret totp.Secret, password string, lastStep int64, keep []byte) error {
	if u.HolderKey == "" {
		// openOrgKey gives every member a holder key before this runs.
		return fmt.Errorf("staff: %s has no holder key", u.ID)
	}
	h, err := oldKEK.UnwrapHolderIdentity(u.ID, "holder", u.HolderWrap)
	if err != nil {
		return err
	}
	salt, err := seal.NewSalt()
	if err != nil {
		return err
	}
	verifier, kek, err := s.KDF.Password(ctx, password, salt, s.KDFParams)
	if err != nil {
		return err
	}
	defer kek.Destroy()
	nu := *u
	nu.KDFSalt, nu.KDFParams, nu.Verifier, nu.TOTPLastStep = salt, s.KDFParams.String(), verifier, lastStep
	if nu.HolderWrap, err = kek.WrapHolderIdentity(u.ID, "holder", h); err != nil {
		return err
	}
	if nu.TOTPSealed, err = kek.SealSecret(u.ID, "totp", secret); err != nil {
		return err
	}
	return s.Store.SetUserKeys(ctx, &nu, keep)
}

// ChangePassword replaces a logged-in user's password, and ends every other
// session of theirs at once: a session someone opened with the old password
// (or a cookie left on another computer) opens nothing any more. A wrong old
// password counts as a failed login.
func (s *Service) ChangePassword(ctx context.Context, p *Principal, old, new string) error {
	u, err := s.Store.User(ctx, p.UserID)
	if err != nil {
		return err
	}
	if err := CheckPassword(new, u.Username); err != nil {
		return err
	}
	key := s.backoffKey(u.Username)
	if err := s.backoff(ctx, key, s.Now().UTC()); err != nil {
		return err
	}
	kek, err := s.checkPassword(ctx, u, key, old)
	if err != nil {
		return err
	}
	defer kek.Destroy()
	secret, err := kek.OpenSecret(u.ID, "totp", u.TOTPSealed)
	if err != nil {
		return err
	}
	if u.HolderKey == "" {
		// A member from before holder keys who has not logged in since
		// (their session is older): give them one now.
		if _, _, err := s.openOrgKey(ctx, u, kek); err != nil {
			return err
		}
	}
	if err := s.setPassword(ctx, u, kek, totp.Secret(secret), new, u.TOTPLastStep, p.sess.IDHash()); err != nil {
		return err
	}
	return s.record(ctx, audit.UserActor(u.ID), u.OrgID, audit.PasswordChanged, "", "")
}

// Members lists the principal's organisation's members (admins only).
func (s *Service) Members(ctx context.Context, p *Principal) ([]store.User, error) {
	if !p.Can(RoleOrgAdmin) {
		return nil, ErrForbidden
	}
	return s.Store.Users(ctx, p.OrgID)
}

// AddMember adds a member to the admin's organisation, wrapping the
// organisation key the admin's session holds; it returns the enrolment code.
func (s *Service) AddMember(ctx context.Context, p *Principal, n NewUser) (string, error) {
	if !p.Can(RoleOrgAdmin) {
		return "", ErrForbidden
	}
	if n.Role == RoleCoordinator && p.Role != RoleCoordinator {
		return "", ErrForbidden
	}
	return s.CreateUser(ctx, audit.UserActor(p.UserID), p.OrgID, p.orgKey, n)
}

// member returns a member of the admin's organisation that p may act on:
// not oneself, and a coordinator only for a coordinator (as AddMember: an
// organisation admin cannot make a coordinator, nor lock one out or
// unlock one). Another organisation's member is "not found".
func (s *Service) member(ctx context.Context, p *Principal, userID, self string) (*store.User, error) {
	if !p.Can(RoleOrgAdmin) {
		return nil, ErrForbidden
	}
	u, err := s.Store.User(ctx, userID)
	if errors.Is(err, store.ErrNotFound) || err == nil && u.OrgID != p.OrgID {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if u.ID == p.UserID {
		return nil, problem.Invalid(ErrInvalid, self, "")
	}
	if Role(u.Role) == RoleCoordinator && p.Role != RoleCoordinator {
		return nil, ErrForbidden
	}
	return u, nil
}

// SetMemberDisabled disables or re-enables a member of the admin's
// organisation.
//
// Disabling ends the member's sessions and replaces the organisation's key
// pair in the same transaction (rotateOrgKey): the member's copy of the key
// is gone, the remaining members and the recovery code get the new key, the
// reports are re-wrapped to it by a durable job, and every other session of
// the organisation ends (the admin's own goes on with the new key).
// Re-enabling wraps the current key for the member again; a member from
// before holder keys cannot receive it and needs a new enrolment.
func (s *Service) SetMemberDisabled(ctx context.Context, p *Principal, userID string, disabled bool) error {
	u, err := s.member(ctx, p, userID, ProblemSelfDisable)
	if err != nil {
		return err
	}
	if p.orgKey == nil {
		return ErrNoSession
	}
	actor := audit.UserActor(p.UserID)
	if !disabled {
		var wrap []byte
		if u.HolderKey != "" {
			hr, err := seal.ParseHolderRecipient(u.HolderKey)
			if err != nil {
				return err
			}
			if wrap, err = hr.WrapOrgIdentity(p.OrgID, p.keyGen, p.orgKey); err != nil {
				return err
			}
		}
		if err := s.Store.EnableMember(ctx, userID, p.OrgID, p.keyGen, wrap); err != nil {
			return err
		}
		return s.record(ctx, actor, p.OrgID, audit.MemberEnabled, "", "user="+userID)
	}
	if u.Disabled {
		return nil
	}
	_, _, n, err := s.rotateOrgKey(ctx, p.OrgID, p.orgKey, p.keyGen, userID, p)
	if err != nil {
		return err
	}
	if s.OnDirectoryChange != nil {
		s.OnDirectoryChange() // reports are wrapped to the new public key at once
	}
	s.record(ctx, actor, p.OrgID, audit.MemberDisabled, "", "user="+userID)
	return s.record(ctx, actor, p.OrgID, audit.OrgKeyRotated, "", fmt.Sprintf("reason=%s count=%d user=%s", RotateMemberDisabled, n, userID))
}

// UnlockMember lets a member of the admin's organisation log in again at
// once after failed logins, instead of waiting out the back-off: for a
// colleague who mistyped, or while someone guesses at their username. The
// attempts were audited as they came; the unlock is audited too. Nobody
// unlocks themselves: whoever is logged in does not need it, and a stolen
// session should not help guessing. It reports whether there was anything
// to clear.
func (s *Service) UnlockMember(ctx context.Context, p *Principal, userID string) (bool, error) {
	u, err := s.member(ctx, p, userID, ProblemSelfUnlock)
	if err != nil {
		return false, err
	}
	cleared, err := s.Store.ClearLoginBackoff(ctx, s.backoffKey(u.Username))
	if err != nil {
		return false, err
	}
	return cleared, s.record(ctx, audit.UserActor(p.UserID), p.OrgID, audit.MemberUnlocked, "", "user="+userID)
}

// EnrolmentSecret recovers the TOTP secret an enrolment token carries, to
// show the same QR code again after a mistake.
func (s *Service) EnrolmentSecret(username, token string) (totp.Secret, bool) {
	u, err := s.Store.UserByUsername(context.Background(), normaliseUsername(username))
	if err != nil || !u.Enrolling() {
		return nil, false
	}
	return s.enrolSecret(u.ID, token)
}
