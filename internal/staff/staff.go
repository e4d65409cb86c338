// Package staff owns who the people at the console are: users and their
// roles, passwords, TOTP, logins with their back-off, sessions, enrolment
// and an organisation's members; and the custody of each organisation's
// key: who holds a copy of it, and replacing it (rotation.go) when a member
// is disabled or an operator asks.
//
// Key handling follows SPEC §6: argon2id on the password gives a verifier and
// a key-encryption key that unwraps the member's holder key, and through it
// the organisation's private key; at login that key is re-sealed under a
// fresh session key that lives only in the caseworker's cookie
// (token.Session). A database dump alone, or a cookie alone, opens nothing.
//
// What is done with reports is internal/casework's. It is given the
// logged-in Principal, which holds the organisation key in unexported
// fields: casework opens a report's data key with Principal.ReportKey and
// never sees the organisation key itself. Rotation is here because it is
// about who holds the key (members, sessions, the recovery holder, the
// re-wrap job's copies); its job re-wraps the report keys' wraps to the new
// key without opening any report.
//
// It must never keep a password, a TOTP secret or an organisation key in
// clear, never tell a login page which part of a login was wrong, and never
// let one organisation's admin act on another's members (they are "not
// found").
package staff

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/salama-ke/salama/internal/audit"
	"github.com/salama-ke/salama/internal/seal"
	"github.com/salama-ke/salama/internal/store"
	"github.com/salama-ke/salama/internal/token"
)

// Role is what a user may do.
type Role string

const (
	RoleCaseworker  Role = "caseworker"
	RoleOrgAdmin    Role = "org_admin"   // also manages the organisation's members
	RoleCoordinator Role = "coordinator" // also sees the whole network
)

// Roles lists the roles in the order forms offer them.
var Roles = []Role{RoleCaseworker, RoleOrgAdmin, RoleCoordinator}

// ParseRole reads a role name.
func ParseRole(s string) (Role, bool) {
	for _, r := range Roles {
		if string(r) == s {
			return r, true
		}
	}
	return "", false
}

// Errors callers branch on. ErrBadLogin covers an unknown user, a wrong
// password and a wrong, reused or missing code alike, so a login page
// reveals nothing about which part was wrong. ErrNotFound, ErrForbidden,
// ErrInvalid and ErrNoSession are casework's and network's too (the same
// values, so their words name no package), so a console page need not ask
// which package refused.
var (
	ErrBadLogin      = errors.New("staff: wrong username, password or code")
	ErrLocked        = errors.New("staff: too many failed logins with this username; wait a few minutes")
	ErrMustEnrol     = errors.New("staff: finish enrolment first")
	ErrNoSession     = errors.New("no session")
	ErrNotFound      = errors.New("not found")
	ErrForbidden     = errors.New("not allowed for this role")
	ErrWeakPassword  = errors.New("staff: password too weak")
	ErrInvalid       = errors.New("invalid value") // a problem.Problem with one of the Problem keys
	ErrUsernameTaken = errors.New("staff: username taken")
)

// The keys of the problems (internal/problem) staff refuses a request with,
// matching ErrInvalid. The console words each one (console, problems.go); a
// test checks that every key has its words.
const (
	ProblemUsername    = "username"     // a username outside 3–40 of a-z 0-9 . - _
	ProblemRole        = "role"         // an unknown role
	ProblemSelfDisable = "self_disable" // an admin disabling themselves
	ProblemSelfUnlock  = "self_unlock"  // an admin unlocking themselves
)

// ProblemKeys lists every key above.
var ProblemKeys = []string{ProblemUsername, ProblemRole, ProblemSelfDisable, ProblemSelfUnlock}

// Config holds what the service needs.
type Config struct {
	Store     *store.Store
	KDF       *seal.KDF
	KDFParams seal.KDFParams // for new passwords and enrolment codes
	Secret    *seal.NetworkSecret
	Audit     *audit.Log
	Now       func() time.Time
	// SessionIdle and SessionMax bound a console login.
	SessionIdle, SessionMax time.Duration
	// EnrolmentLifetime is how long an enrolment code works.
	EnrolmentLifetime time.Duration
	// OnDirectoryChange, if set, is called after an organisation's key
	// changes, to drop caches of the organisations (reporting's); the
	// network's editing service (internal/network) has its own for
	// directory and routing edits.
	OnDirectoryChange func()
	// AfterRekeyBatch, if set, runs after each committed batch of the
	// key-rotation job (RewrapOrgKeys) with its size; an error stops the
	// job there. Tests use it to cut a rotation short between steps.
	AfterRekeyBatch func(n int) error
	// RekeyBatch is how many report keys one transaction of that job
	// re-wraps (0: 200).
	RekeyBatch int
}

// Service is the staff identity service.
type Service struct {
	Config
	// The stand-in verifier an unknown username is checked against (see
	// account), drawn once.
	dummyOnce sync.Once
	dummyV    dummyVerifier
	dummyErr  error
}

// New returns a service with defaults filled in.
func New(c Config) *Service {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.SessionIdle == 0 {
		c.SessionIdle = 30 * time.Minute
	}
	if c.SessionMax == 0 {
		c.SessionMax = 12 * time.Hour
	}
	if c.EnrolmentLifetime == 0 {
		c.EnrolmentLifetime = 7 * 24 * time.Hour
	}
	return &Service{Config: c}
}

// Principal is a logged-in user for the length of one request. It holds the
// organisation's private key; Close forgets it.
type Principal struct {
	UserID, OrgID, Username, DisplayName string
	Role                                 Role
	OrgName                              string
	sess                                 *token.Session    // the session id and key, from the cookie
	orgKey                               *seal.OrgIdentity // generation keyGen of the organisation key
	keyGen                               int
	older                                map[int]*seal.OrgIdentity // retired generations opened through a rotation's chain
}

// Close ends the principal's hold on key material.
func (p *Principal) Close() {
	p.sess.Destroy()
	p.orgKey, p.older = nil, nil
}

// Can reports whether the principal's role allows managing members (admin)
// or seeing the network (coordinator).
func (p *Principal) Can(r Role) bool {
	switch r {
	case RoleCaseworker:
		return true
	case RoleOrgAdmin:
		return p.Role == RoleOrgAdmin || p.Role == RoleCoordinator
	case RoleCoordinator:
		return p.Role == RoleCoordinator
	}
	return false
}

// ReportKey unwraps a report's data key from its wrap to the principal's
// organisation (wrap, of key generation gen, as store.ReportWrap returns
// them) with the organisation key this session holds; a wrap not re-wrapped
// yet after a rotation opens through the rotation's chain (st's
// OrgKeyChain). It is how casework reads reports: the organisation key
// itself never leaves this package.
func (p *Principal) ReportKey(ctx context.Context, st *store.Store, wrap []byte, gen int) (*seal.DataKey, error) {
	if p.orgKey == nil {
		return nil, ErrNoSession
	}
	key := p.orgKey
	if gen < p.keyGen {
		var err error
		if key, err = p.olderKey(ctx, st, gen); err != nil {
			return nil, err
		}
	}
	return key.UnwrapDataKey(wrap)
}

// olderKey returns generation gen of the principal's organisation key, below
// the one its session holds, through the chain of a rotation in progress.
func (p *Principal) olderKey(ctx context.Context, st *store.Store, gen int) (*seal.OrgIdentity, error) {
	if k := p.older[gen]; k != nil {
		return k, nil
	}
	chain, err := st.OrgKeyChain(ctx, p.OrgID)
	if err != nil {
		return nil, err
	}
	if p.older == nil {
		p.older = map[int]*seal.OrgIdentity{}
	}
	k := p.orgKey
	for g := p.keyGen - 1; g >= gen; g-- {
		if o := p.older[g]; o != nil {
			k = o
			continue
		}
		c, ok := chain[g]
		if !ok {
			return nil, fmt.Errorf("staff: no chain to generation %d of %s's key", g, p.OrgID)
		}
		if k, err = k.UnwrapOrgIdentity(p.OrgID, g, c); err != nil {
			return nil, err
		}
		p.older[g] = k
	}
	return k, nil
}

// CSRF is the token every console form of this session carries.
func (s *Service) CSRF(p *Principal) string {
	return s.tokens().CSRF("console-csrf", p.sess.ID)
}

// tokens makes and checks the console's form and CSRF tokens.
func (s *Service) tokens() token.Maker { return token.Maker{Secret: s.Secret, Now: s.Now} }

// FormToken is a token for a console form shown before login (login,
// enrolment), valid two hours.
func (s *Service) FormToken() string { return s.tokens().Form("console-form") }

// CheckFormToken reports whether tok is a fresh console form token.
func (s *Service) CheckFormToken(tok string) bool {
	_, err := s.tokens().CheckForm("console-form", tok, 2*time.Hour)
	return err == nil
}

// VerifyCSRF checks a form's token.
func (s *Service) VerifyCSRF(p *Principal, tok string) bool {
	return s.tokens().VerifyCSRF("console-csrf", p.sess.ID, tok)
}

// Refused records a console request refused for a reason the audit log must
// show, such as a forged CSRF token: the logged-in user it came with (p may
// be nil before login) and a reason code. There is no audit action for a
// refused request yet, so it is recorded as a failed login.
func (s *Service) Refused(ctx context.Context, p *Principal, why string) {
	actor, org := audit.ActorUnknown, ""
	if p != nil {
		actor, org = audit.UserActor(p.UserID), p.OrgID
	}
	s.record(ctx, actor, org, audit.LoginFailed, "", "reason="+why)
}

func (s *Service) record(ctx context.Context, actor, orgID string, action audit.Action, reportID, detail string) error {
	return s.Audit.Record(ctx, audit.Event{Actor: actor, OrgID: orgID, Action: action, ReportID: reportID, Detail: detail})
}
