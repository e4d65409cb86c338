package casework

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
	"unicode/utf8"

	"github.com/salama-ke/salama/internal/audit"
	"github.com/salama-ke/salama/internal/ids"
	"github.com/salama-ke/salama/internal/seal"
	"github.com/salama-ke/salama/internal/store"
	"github.com/salama-ke/salama/internal/totp"
)

// MinPassword is the shortest password accepted: a passphrase of a few words
// is easier to remember on a shared office computer than a short jumble.
const MinPassword = 12

// Lockout: after lockAfter failures in a row an account is locked for a
// minute, doubling with each further failure up to maxLock.
const (
	lockAfter = 5
	maxLock   = time.Hour
)

// Login checks a password and a TOTP code and starts a session. It returns
// the cookie value: a random session id and the session key.
func (s *Service) Login(ctx context.Context, username, password, code string) (string, error) {
	now := s.Now().UTC()
	u, err := s.Store.UserByUsername(ctx, normaliseUsername(username))
	if errors.Is(err, store.ErrNotFound) {
		// Spend the same argon2id work as a real user, so timing does not
		// tell which usernames exist.
		salt, _ := seal.NewSalt()
		s.KDF.Password(ctx, password, salt, s.KDFParams)
		s.record(ctx, audit.ActorUnknown, "", audit.LoginFailed, "", "reason=unknown_user")
		return "", ErrBadLogin
	}
	if err != nil {
		return "", err
	}
	if u.LockedUntil.After(now) {
		s.record(ctx, audit.UserActor(u.ID), u.OrgID, audit.LoginFailed, "", "reason=locked")
		return "", ErrLocked
	}
	typed := password
	if u.Enrolling() {
		// Until enrolment the "password" is the enrolment code, typed
		// as printed (with dashes) or loosely.
		typed = normaliseCode(password)
	}
	kek, err := s.checkPassword(ctx, u, typed)
	if err != nil {
		return "", err
	}
	defer kek.Destroy()
	if u.Disabled {
		s.record(ctx, audit.UserActor(u.ID), u.OrgID, audit.LoginFailed, "", "reason=disabled")
		return "", ErrBadLogin
	}
	if u.Enrolling() {
		return "", ErrMustEnrol
	}
	secret, err := kek.OpenSecret(u.ID, "totp", u.TOTPSealed)
	if err != nil {
		return "", fmt.Errorf("casework: TOTP secret of %s: %w", u.ID, err)
	}
	step, ok := totp.Verify(totp.Secret(secret), code, now, u.TOTPLastStep)
	why := "wrong_code"
	if ok {
		// The conditional update makes a code usable once even when two
		// logins race with it.
		if ok, err = s.Store.UseTOTPStep(ctx, u.ID, step); err != nil {
			return "", err
		}
		why = "replayed_code"
	} else if _, valid := totp.Verify(totp.Secret(secret), code, now, 0); valid {
		// A right code for a step already used: someone who saw the
		// password and the code typed is trying them again. The audit
		// log says so; the page does not.
		why = "replayed_code"
	}
	if !ok {
		s.fail(ctx, u, why)
		return "", ErrBadLogin
	}
	orgKey, err := kek.UnwrapOrgIdentity(u.OrgID, userWrapPurpose(u.ID), u.OrgKeyWrap)
	if err != nil {
		return "", fmt.Errorf("casework: organisation key of %s: %w", u.ID, err)
	}
	cookie, err := s.startSession(ctx, u, orgKey)
	if err != nil {
		return "", err
	}
	s.record(ctx, audit.UserActor(u.ID), u.OrgID, audit.LoginOK, "", "method=totp")
	return cookie, nil
}

// checkPassword runs argon2id and compares; on a mismatch it counts the
// failure. It returns the key-encryption key.
func (s *Service) checkPassword(ctx context.Context, u *store.User, password string) (*seal.Key, error) {
	params, err := seal.ParseKDFParams(u.KDFParams)
	if err != nil {
		return nil, err
	}
	verifier, kek, err := s.KDF.Password(ctx, password, u.KDFSalt, params)
	if err != nil {
		return nil, err
	}
	if !seal.VerifierEqual(verifier, u.Verifier) {
		kek.Destroy()
		s.fail(ctx, u, "wrong_password")
		return nil, ErrBadLogin
	}
	return kek, nil
}

func (s *Service) fail(ctx context.Context, u *store.User, why string) {
	// Count from the stored number, read again under a lock, not from u,
	// which was read before argon2id ran: guesses sent in parallel would
	// otherwise all store the same count and never reach the lockout. The
	// lock covers one instance; several instances need the store to
	// increment atomically.
	s.failMu.Lock()
	n := u.FailedLogins + 1
	if cur, err := s.Store.User(ctx, u.ID); err == nil {
		n = cur.FailedLogins + 1
	}
	var until time.Time
	if n >= lockAfter {
		d := time.Minute << min(n-lockAfter, 6)
		until = s.Now().UTC().Add(min(d, maxLock))
	}
	_ = s.Store.RecordLoginFailure(ctx, u.ID, n, until)
	s.failMu.Unlock()
	s.record(ctx, audit.UserActor(u.ID), u.OrgID, audit.LoginFailed, "", "reason="+why)
}

func userWrapPurpose(userID string) string { return "user:" + userID }

func (s *Service) startSession(ctx context.Context, u *store.User, orgKey *seal.OrgIdentity) (string, error) {
	sk, err := seal.NewKey()
	if err != nil {
		return "", err
	}
	defer sk.Destroy()
	sealed, err := sk.WrapOrgIdentity(u.OrgID, "session", orgKey)
	if err != nil {
		return "", err
	}
	id := make([]byte, 16)
	if _, err := rand.Read(id); err != nil {
		return "", err
	}
	now := s.Now().UTC()
	if err := s.Store.CreateConsoleSession(ctx, &store.ConsoleSession{IDHash: sha(id), UserID: u.ID, SealedKey: sealed, CreatedAt: now, LastSeen: now}); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(append(id, sk.Bytes()...)), nil
}

// Session resumes a login from its cookie value.
func (s *Service) Session(ctx context.Context, cookie string) (*Principal, error) {
	b, err := base64.RawURLEncoding.DecodeString(cookie)
	if err != nil || len(b) != 16+32 {
		return nil, ErrNoSession
	}
	id, key := b[:16], b[16:]
	now := s.Now().UTC()
	cs, err := s.Store.ConsoleSessionValid(ctx, sha(id), now.Add(-s.SessionIdle), now.Add(-s.SessionMax), now)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNoSession
	}
	if err != nil {
		return nil, err
	}
	u, err := s.Store.User(ctx, cs.UserID)
	if err != nil {
		return nil, err
	}
	if u.Disabled {
		return nil, ErrNoSession
	}
	sk, err := seal.KeyFromBytes(key)
	if err != nil {
		return nil, ErrNoSession
	}
	defer sk.Destroy()
	orgKey, err := sk.UnwrapOrgIdentity(u.OrgID, "session", cs.SealedKey)
	if err != nil {
		// A live session id with the wrong key: a tampered or forged
		// cookie. Whose session it named is worth a trace.
		s.record(ctx, audit.UserActor(u.ID), u.OrgID, audit.LoginFailed, "", "reason=bad_cookie")
		return nil, ErrNoSession
	}
	org, err := s.Store.Organisation(ctx, u.OrgID)
	if err != nil {
		return nil, err
	}
	return &Principal{UserID: u.ID, OrgID: u.OrgID, Username: u.Username, DisplayName: u.DisplayName,
		Role: Role(u.Role), OrgName: org.Name, sessID: id, orgKey: orgKey}, nil
}

// Logout ends the session: its sealed organisation key is deleted, so the
// cookie opens nothing any more.
func (s *Service) Logout(ctx context.Context, p *Principal) error {
	if err := s.Store.DeleteConsoleSession(ctx, sha(p.sessID)); err != nil {
		return err
	}
	return s.record(ctx, audit.UserActor(p.UserID), p.OrgID, audit.Logout, "", "")
}

// --- members and enrolment ---------------------------------------------

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
	if utf8.RuneCountInString(password) < MinPassword {
		return ErrWeakPassword
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
		return nil, fmt.Errorf("%w: a username is 3 to 40 of a-z 0-9 . - _", ErrInvalid)
	}
	if _, ok := ParseRole(string(n.Role)); !ok {
		return nil, fmt.Errorf("%w: role", ErrInvalid)
	}
	u := &store.User{ID: "usr_" + ids.New()[:16], OrgID: orgID, Username: username, DisplayName: strings.TrimSpace(n.DisplayName),
		Role: string(n.Role), KDFParams: s.KDFParams.String(), CreatedAt: s.Now().UTC()}
	var err error
	if u.KDFSalt, err = seal.NewSalt(); err != nil {
		return nil, err
	}
	verifier, kek, err := s.KDF.Password(ctx, secret, u.KDFSalt, s.KDFParams)
	if err != nil {
		return nil, err
	}
	defer kek.Destroy()
	u.Verifier = verifier
	if u.OrgKeyWrap, err = kek.WrapOrgIdentity(orgID, userWrapPurpose(u.ID), orgKey); err != nil {
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
	u, kek, err := s.checkEnrolment(ctx, username, code)
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

func (s *Service) checkEnrolment(ctx context.Context, username, code string) (*store.User, *seal.Key, error) {
	u, err := s.Store.UserByUsername(ctx, normaliseUsername(username))
	if errors.Is(err, store.ErrNotFound) {
		salt, _ := seal.NewSalt()
		s.KDF.Password(ctx, code, salt, s.KDFParams)
		return nil, nil, ErrBadLogin
	}
	if err != nil {
		return nil, nil, err
	}
	if !u.Enrolling() || u.Disabled || u.EnrolExpires.Before(s.Now()) || u.LockedUntil.After(s.Now()) {
		return nil, nil, ErrBadLogin
	}
	kek, err := s.checkPassword(ctx, u, normaliseCode(code))
	if err != nil {
		return nil, nil, err
	}
	return u, kek, nil
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
	u, oldKEK, err := s.checkEnrolment(ctx, username, code)
	if err != nil {
		return "", err
	}
	defer oldKEK.Destroy()
	secret, ok := s.enrolSecret(u.ID, token)
	if !ok {
		return "", ErrBadLogin
	}
	if utf8.RuneCountInString(password) < MinPassword {
		return "", ErrWeakPassword
	}
	step, ok := totp.Verify(secret, totpCode, s.Now(), 0)
	if !ok {
		// Counted and audited like a wrong code at login.
		s.fail(ctx, u, "wrong_code")
		return "", ErrBadLogin
	}
	orgKey, err := oldKEK.UnwrapOrgIdentity(u.OrgID, userWrapPurpose(u.ID), u.OrgKeyWrap)
	if err != nil {
		return "", err
	}
	if err := s.setPassword(ctx, u, orgKey, secret, password, step); err != nil {
		return "", err
	}
	s.record(ctx, audit.UserActor(u.ID), u.OrgID, audit.TOTPEnrolled, "", "")
	cookie, err := s.startSession(ctx, u, orgKey)
	if err != nil {
		return "", err
	}
	s.record(ctx, audit.UserActor(u.ID), u.OrgID, audit.LoginOK, "", "method=totp")
	return cookie, nil
}

// setPassword re-derives the user's key from a new password and re-wraps the
// organisation key and the TOTP secret under it.
func (s *Service) setPassword(ctx context.Context, u *store.User, orgKey *seal.OrgIdentity, secret totp.Secret, password string, lastStep int64) error {
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
	if nu.OrgKeyWrap, err = kek.WrapOrgIdentity(u.OrgID, userWrapPurpose(u.ID), orgKey); err != nil {
		return err
	}
	if nu.TOTPSealed, err = kek.SealSecret(u.ID, "totp", secret); err != nil {
		return err
	}
	return s.Store.SetUserKeys(ctx, &nu)
}

// ChangePassword replaces a logged-in user's password.
func (s *Service) ChangePassword(ctx context.Context, p *Principal, old, new string) error {
	u, err := s.Store.User(ctx, p.UserID)
	if err != nil {
		return err
	}
	if utf8.RuneCountInString(new) < MinPassword {
		return ErrWeakPassword
	}
	kek, err := s.checkPassword(ctx, u, old)
	if err != nil {
		return err
	}
	defer kek.Destroy()
	secret, err := kek.OpenSecret(u.ID, "totp", u.TOTPSealed)
	if err != nil {
		return err
	}
	if err := s.setPassword(ctx, u, p.orgKey, totp.Secret(secret), new, u.TOTPLastStep); err != nil {
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

// SetMemberDisabled disables (ending their sessions) or re-enables a member
// of the admin's organisation.
func (s *Service) SetMemberDisabled(ctx context.Context, p *Principal, userID string, disabled bool) error {
	if !p.Can(RoleOrgAdmin) {
		return ErrForbidden
	}
	u, err := s.Store.User(ctx, userID)
	if errors.Is(err, store.ErrNotFound) || err == nil && u.OrgID != p.OrgID {
		return ErrNotFound
	}
	if err != nil {
		return err
	}
	if u.ID == p.UserID {
		return fmt.Errorf("%w: you cannot disable yourself", ErrInvalid)
	}
	if Role(u.Role) == RoleCoordinator && p.Role != RoleCoordinator {
		// As AddMember: an organisation admin cannot make a coordinator,
		// nor lock one out.
		return ErrForbidden
	}
	if err := s.Store.SetUserDisabled(ctx, userID, disabled); err != nil {
		return err
	}
	action := audit.MemberDisabled
	if !disabled {
		action = audit.MemberEnabled
	}
	return s.record(ctx, audit.UserActor(p.UserID), p.OrgID, action, "", "user="+userID)
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
