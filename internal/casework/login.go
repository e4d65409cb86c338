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

	"github.com/salama-ke/salama/internal/problem"

	"github.com/salama-ke/salama/internal/audit"
	"github.com/salama-ke/salama/internal/ids"
	"github.com/salama-ke/salama/internal/seal"
	"github.com/salama-ke/salama/internal/store"
	"github.com/salama-ke/salama/internal/token"
	"github.com/salama-ke/salama/internal/totp"
)

// Back-off of failed logins, counted per typed username whether or not it
// exists (store.LoginBackoff). After freeFailures wrong tries in a row, each
// next try must wait: firstWait, doubling, at most maxWait. A quiet
// forgetAfter starts the count again. The cap is what keeps anybody who
// guesses at a colleague's username from locking them out for good; the
// per-address limit of the console (ratelimit) and TOTP bound the guessing.
const (
	freeFailures = 3
	firstWait    = 30 * time.Second
	maxWait      = 5 * time.Minute
	forgetAfter  = 15 * time.Minute
)

// BackoffForgotten is how long after the last failure a count of failed
// logins is forgotten; older counts can be deleted.
const BackoffForgotten = forgetAfter

// BackoffWait is how long the next try must wait after n failures in a row.
func BackoffWait(n int) time.Duration {
	if n < freeFailures {
		return 0
	}
	return min(firstWait<<min(n-freeFailures, 10), maxWait)
}

// WaitError is a login refused, before any password was checked, because of
// earlier failures with the same username. It matches ErrLocked. Until is
// the same for a username that exists and for one that does not.
type WaitError struct{ Until time.Time }

func (e *WaitError) Error() string { return ErrLocked.Error() }

// Is makes a WaitError match ErrLocked.
func (e *WaitError) Is(target error) bool { return target == ErrLocked }

// backoffKey is the keyed hash failures of a typed username are counted
// under: the same for every spelling Login accepts, and no username in clear
// in the database.
func (s *Service) backoffKey(username string) []byte {
	return s.Secret.MAC("login-backoff", []byte(normaliseUsername(username)))
}

// backoff refuses a try that comes before the wait earlier failures with
// key ask for.
func (s *Service) backoff(ctx context.Context, key []byte, now time.Time) error {
	b, err := s.Store.LoginBackoff(ctx, key)
	if err != nil {
		return err
	}
	if b.LastFailure.Before(now.Add(-forgetAfter)) {
		return nil
	}
	if until := b.LastFailure.Add(BackoffWait(b.Failures)); until.After(now) {
		return &WaitError{Until: until}
	}
	return nil
}

// BackoffUntil reports until when logins with username must wait (zero if
// they need not), for the Members page.
func (s *Service) BackoffUntil(ctx context.Context, username string) (time.Time, error) {
	err := s.backoff(ctx, s.backoffKey(username), s.Now().UTC())
	var w *WaitError
	if errors.As(err, &w) {
		return w.Until, nil
	}
	return time.Time{}, err
}

// account finds the user a login names. For a username nobody has it returns
// a stand-in with the dummy verifier, so that the caller takes the same path
// and pays the same argon2id evaluation as for a real one (and fails).
func (s *Service) account(ctx context.Context, username string) (*store.User, error) {
	u, err := s.Store.UserByUsername(ctx, normaliseUsername(username))
	if errors.Is(err, store.ErrNotFound) {
		d, err := s.dummy()
		if err != nil {
			return nil, err
		}
		return &store.User{KDFSalt: d.salt, KDFParams: s.KDFParams.String(), Verifier: d.verifier}, nil
	}
	return u, err
}

// dummyVerifier stands in for the user an unknown username does not name: a
// random salt and a random verifier that no password's argon2id matches.
type dummyVerifier struct{ salt, verifier []byte }

func (s *Service) dummy() (dummyVerifier, error) {
	s.dummyOnce.Do(func() {
		s.dummyV.salt, s.dummyErr = seal.NewSalt()
		s.dummyV.verifier = make([]byte, 32)
		if _, err := rand.Read(s.dummyV.verifier); err != nil && s.dummyErr == nil {
			s.dummyErr = err
		}
	})
	return s.dummyV, s.dummyErr
}

// Login checks a password and a TOTP code and starts a session. It returns
// the cookie value: a random session id and the session key.
//
// A username nobody has goes down the same path as a real one, with the
// same argon2id work and the same back-off, and fails at the same step
// with the same error: neither the answer nor its timing says whether the
// username exists.
func (s *Service) Login(ctx context.Context, username, password, code string) (string, error) {
	now := s.Now().UTC()
	key := s.backoffKey(username)
	u, err := s.account(ctx, username)
	if err != nil {
		return "", err
	}
	if err := s.backoff(ctx, key, now); err != nil {
		s.record(ctx, actorOf(u), u.OrgID, audit.LoginFailed, "", "reason=locked")
		return "", err
	}
	typed := password
	if u.Enrolling() {
		// Until enrolment the "password" is the enrolment code, typed
		// as printed (with dashes) or loosely.
		typed = normaliseCode(password)
	}
	kek, err := s.checkPassword(ctx, u, key, typed)
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
		s.fail(ctx, u, key, why)
		return "", ErrBadLogin
	}
	if _, err := s.Store.ClearLoginBackoff(ctx, key); err != nil {
		return "", err
	}
	orgKey, gen, err := s.openOrgKey(ctx, u, kek)
	if errors.Is(err, ErrNoOrgKey) {
		s.record(ctx, audit.UserActor(u.ID), u.OrgID, audit.LoginFailed, "", "reason=no_key")
		return "", err
	}
	if err != nil {
		return "", fmt.Errorf("casework: organisation key of %s: %w", u.ID, err)
	}
	cookie, err := s.startSession(ctx, u, orgKey, gen)
	if err != nil {
		return "", err
	}
	s.record(ctx, audit.UserActor(u.ID), u.OrgID, audit.LoginOK, "", "method=totp")
	// A key rotation whose job lost its copy of a retired key (a restore)
	// goes on from here. Best effort: the login itself succeeded.
	_ = s.handOverRekey(ctx, u.OrgID, orgKey, gen)
	return cookie, nil
}

// openOrgKey unwraps the member's copy of their organisation's current key
// with their password's (or enrolment code's) key: through their holder key
// pair, or, for a member from before holder keys, directly, and then gives
// them a holder key pair. ErrNoOrgKey when they hold no current copy.
func (s *Service) openOrgKey(ctx context.Context, u *store.User, kek *seal.Key) (*seal.OrgIdentity, int, error) {
	org, err := s.Store.Organisation(ctx, u.OrgID)
	if err != nil {
		return nil, 0, err
	}
	if len(u.OrgKeyWrap) == 0 || u.OrgKeyGen != org.KeyGen {
		return nil, 0, ErrNoOrgKey
	}
	if u.HolderKey != "" {
		h, err := kek.UnwrapHolderIdentity(u.ID, "holder", u.HolderWrap)
		if err != nil {
			return nil, 0, err
		}
		k, err := h.UnwrapOrgIdentity(u.OrgID, u.OrgKeyGen, u.OrgKeyWrap)
		return k, u.OrgKeyGen, err
	}
	k, err := kek.UnwrapOrgIdentity(u.OrgID, userWrapPurpose(u.ID), u.OrgKeyWrap)
	if err != nil {
		return nil, 0, err
	}
	h, err := seal.GenerateHolderIdentity()
	if err != nil {
		return nil, 0, err
	}
	hw, err := kek.WrapHolderIdentity(u.ID, "holder", h)
	if err != nil {
		return nil, 0, err
	}
	ow, err := h.Recipient().WrapOrgIdentity(u.OrgID, u.OrgKeyGen, k)
	if err != nil {
		return nil, 0, err
	}
	// Lost to a concurrent rotation, the upgrade is simply not made: the
	// session this login starts is then of a retired generation, refused.
	if ok, err := s.Store.SetUserHolder(ctx, u.ID, u.OrgKeyGen, h.Recipient().String(), hw, ow); err != nil {
		return nil, 0, err
	} else if ok {
		u.HolderKey, u.HolderWrap, u.OrgKeyWrap = h.Recipient().String(), hw, ow
	}
	return k, u.OrgKeyGen, nil
}

// actorOf is the audit actor of a login attempt: the user, or "unknown" for
// the stand-in of a username nobody has.
func actorOf(u *store.User) string {
	if u.ID == "" {
		return audit.ActorUnknown
	}
	return audit.UserActor(u.ID)
}

// checkPassword runs argon2id and compares; on a mismatch it counts the
// failure under key. It returns the key-encryption key.
func (s *Service) checkPassword(ctx context.Context, u *store.User, key []byte, password string) (*seal.Key, error) {
	params, err := seal.ParseKDFParams(u.KDFParams)
	if err != nil {
		return nil, err
	}
	verifier, kek, err := s.KDF.Password(ctx, password, u.KDFSalt, params)
	if err != nil {
		return nil, err
	}
	if match := seal.VerifierEqual(verifier, u.Verifier); !match || u.ID == "" {
		kek.Destroy()
		why := "wrong_password"
		if u.ID == "" {
			why = "unknown_user"
		}
		s.fail(ctx, u, key, why)
		return nil, ErrBadLogin
	}
	return kek, nil
}

// fail counts a failed login under key, atomically in the database (so that
// guesses sent at once to several instances all count), and audits it.
func (s *Service) fail(ctx context.Context, u *store.User, key []byte, why string) {
	now := s.Now().UTC()
	_, _ = s.Store.RecordLoginFailure(ctx, key, now, now.Add(-forgetAfter))
	s.record(ctx, actorOf(u), u.OrgID, audit.LoginFailed, "", "reason="+why)
}

func userWrapPurpose(userID string) string { return "user:" + userID }

func (s *Service) startSession(ctx context.Context, u *store.User, orgKey *seal.OrgIdentity, gen int) (string, error) {
	sess, err := token.NewSession()
	if err != nil {
		return "", err
	}
	defer sess.Destroy()
	sealed, err := sess.Key.WrapOrgIdentity(u.OrgID, "session", orgKey)
	if err != nil {
		return "", err
	}
	now := s.Now().UTC()
	if err := s.Store.CreateConsoleSession(ctx, &store.ConsoleSession{IDHash: sess.IDHash(), UserID: u.ID, SealedKey: sealed, KeyGen: gen, CreatedAt: now, LastSeen: now}); err != nil {
		return "", err
	}
	return sess.Cookie(), nil
}

// Session resumes a login from its cookie value.
func (s *Service) Session(ctx context.Context, cookie string) (*Principal, error) {
	sess, err := token.ParseSession(cookie)
	if err != nil {
		return nil, ErrNoSession
	}
	p, err := s.resume(ctx, sess)
	if err != nil {
		sess.Destroy()
	}
	return p, err
}

// resume opens the session a parsed cookie names; the principal keeps sess.
func (s *Service) resume(ctx context.Context, sess *token.Session) (*Principal, error) {
	now := s.Now().UTC()
	cs, err := s.Store.ConsoleSessionValid(ctx, sess.IDHash(), now.Add(-s.SessionIdle), now.Add(-s.SessionMax), now)
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
	org, err := s.Store.Organisation(ctx, u.OrgID)
	if err != nil {
		return nil, err
	}
	if cs.KeyGen != org.KeyGen {
		// The organisation's key was replaced after this login: the
		// session holds a retired key, which opens nothing new.
		_ = s.Store.DeleteConsoleSession(ctx, sess.IDHash())
		return nil, ErrNoSession
	}
	orgKey, err := sess.Key.UnwrapOrgIdentity(u.OrgID, "session", cs.SealedKey)
	if err != nil {
		// A live session id with the wrong key: a tampered or forged
		// cookie. Whose session it named is worth a trace.
		s.record(ctx, audit.UserActor(u.ID), u.OrgID, audit.LoginFailed, "", "reason=bad_cookie")
		return nil, ErrNoSession
	}
	return &Principal{UserID: u.ID, OrgID: u.OrgID, Username: u.Username, DisplayName: u.DisplayName,
		Role: Role(u.Role), OrgName: org.Name, sess: sess, orgKey: orgKey, keyGen: cs.KeyGen}, nil
}

// Logout ends the session: its sealed organisation key is deleted, so the
// cookie opens nothing any more.
func (s *Service) Logout(ctx context.Context, p *Principal) error {
	if err := s.Store.DeleteConsoleSession(ctx, p.sess.IDHash()); err != nil {
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
		return fmt.Errorf("casework: %s has no holder key", u.ID)
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
