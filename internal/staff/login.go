package staff

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/salama-ke/salama/internal/audit"
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
		return "", fmt.Errorf("staff: TOTP secret of %s: %w", u.ID, err)
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
		return "", fmt.Errorf("staff: organisation key of %s: %w", u.ID, err)
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
