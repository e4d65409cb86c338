// Package casework owns what caseworkers do: logging in with a password and
// a TOTP code, the organisation key that login unlocks, the inbox, reading a
// report, replying to the survivor, notes, status, assignment and
// classification, and an organisation's members.
//
// Key handling follows SPEC §6: argon2id on the password gives a verifier and
// a key-encryption key that unwraps the organisation's private key; at login
// that key is re-sealed under a fresh session key that lives only in the
// caseworker's cookie. A database dump alone, or a cookie alone, opens
// nothing. Every read of sealed content and every change is audited.
//
// It must never let one organisation reach another's reports (a report of
// another organisation is "not found", never "forbidden"), never log content,
// and never keep a password, a TOTP secret or an organisation key in clear.
package casework

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"time"

	"github.com/salama-ke/salama/internal/token"

	"github.com/salama-ke/salama/internal/audit"
	"github.com/salama-ke/salama/internal/evidence"
	"github.com/salama-ke/salama/internal/seal"
	"github.com/salama-ke/salama/internal/store"
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
// reveals nothing about which part was wrong.
var (
	ErrBadLogin      = errors.New("casework: wrong username, password or code")
	ErrLocked        = errors.New("casework: too many failed logins with this username; wait a few minutes")
	ErrMustEnrol     = errors.New("casework: finish enrolment first")
	ErrNoSession     = errors.New("casework: no session")
	ErrNotFound      = errors.New("casework: not found")
	ErrForbidden     = errors.New("casework: not allowed for this role")
	ErrWeakPassword  = errors.New("casework: password too weak")
	ErrBadTransition = errors.New("casework: that status change is not allowed")
	ErrInvalid       = errors.New("casework: invalid value") // a problem.Problem with one of the Problem keys below
	ErrUsernameTaken = errors.New("casework: username taken")
)

// Config holds what the service needs.
type Config struct {
	Store     *store.Store
	KDF       *seal.KDF
	KDFParams seal.KDFParams // for new passwords and enrolment codes
	Secret    *seal.NetworkSecret
	Audit     *audit.Log
	// Signing signs evidence bundles (the audit log's key).
	Signing *seal.SigningKey
	Now     func() time.Time
	// SessionIdle and SessionMax bound a console login.
	SessionIdle, SessionMax time.Duration
	// Nudge, when set, queues the neutral "you have a new message" SMS to
	// a survivor who chose SMS contact, inside tx, the transaction that
	// stores the caseworker's message messageID (internal/sms.Nudger.Queue).
	Nudge func(ctx context.Context, tx *sql.Tx, reportID, messageID, phone string) error
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
	// Images makes display copies and previews of screenshots; nil means
	// one that takes its slots from KDF.
	Images *evidence.Decoder
}

// Service is the casework service.
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
	if c.Images == nil {
		c.Images = newDecoder(c.KDF)
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

// The keys of the problems (internal/problem) casework refuses a request
// with, matching ErrInvalid. The console words each one (console,
// problems.go); a test checks that every key has its words.
const (
	ProblemEmpty         = "empty"          // a message or note with nothing in it
	ProblemTooLong       = "too_long"       // a message or note over MaxText
	ProblemCloseReason   = "close_reason"   // closing without a reason
	ProblemNotAMember    = "not_a_member"   // assigning to someone outside the organisation
	ProblemIncidentType  = "incident_type"  // an unknown GBVIMS incident type
	ProblemContextFlag   = "context_flag"   // an unknown context flag
	ProblemDeclineReason = "decline_reason" // declining a referral without a reason
	ProblemOutcome       = "outcome"        // completing a referral without an outcome
	ProblemExportOptions = "export_options" // a case export's format, layout, period or fields
	ProblemUsername      = "username"       // a username outside 3–40 of a-z 0-9 . - _
	ProblemRole          = "role"           // an unknown role
	ProblemSelfDisable   = "self_disable"   // an admin disabling themselves
	ProblemSelfUnlock    = "self_unlock"    // an admin unlocking themselves
)

// ProblemKeys lists every key above.
var ProblemKeys = []string{ProblemEmpty, ProblemTooLong, ProblemCloseReason, ProblemNotAMember, ProblemIncidentType,
	ProblemContextFlag, ProblemDeclineReason, ProblemOutcome, ProblemExportOptions, ProblemUsername, ProblemRole,
	ProblemSelfDisable, ProblemSelfUnlock}
