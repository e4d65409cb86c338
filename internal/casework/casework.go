// Package casework owns what caseworkers do with reports: the inbox,
// reading a report and its evidence, replying to the survivor, notes,
// status, assignment and classification, referrals, evidence bundles and
// case exports.
//
// Who is logged in is internal/staff's: casework is given its Principal and
// opens a report's data key through it (Principal.ReportKey), so the
// organisation key never leaves staff. Every read of sealed content and
// every change is audited.
//
// It must never let one organisation reach another's reports (a report of
// another organisation is "not found", never "forbidden"), and never log
// content.
package casework

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/salama-ke/salama/internal/audit"
	"github.com/salama-ke/salama/internal/evidence"
	"github.com/salama-ke/salama/internal/seal"
	"github.com/salama-ke/salama/internal/staff"
	"github.com/salama-ke/salama/internal/store"
)

// Errors callers branch on. ErrNotFound, ErrForbidden, ErrInvalid and
// ErrNoSession are the staff package's values: a console page need not ask
// which of the two refused.
var (
	ErrNotFound      = staff.ErrNotFound
	ErrForbidden     = staff.ErrForbidden
	ErrInvalid       = staff.ErrInvalid // a problem.Problem with one of the Problem keys below
	ErrNoSession     = staff.ErrNoSession
	ErrBadTransition = errors.New("casework: that status change is not allowed")
)

// Config holds what the service needs.
type Config struct {
	Store  *store.Store
	KDF    *seal.KDF
	Secret *seal.NetworkSecret
	Audit  *audit.Log
	// Signing signs evidence bundles (the audit log's key).
	Signing *seal.SigningKey
	Now     func() time.Time
	// Staff is who is logged in: casework asks it to confirm a user
	// again before a sensitive action (Reauthenticate).
	Staff *staff.Service
	// Nudge, when set, queues the neutral "you have a new message" SMS to
	// a survivor who chose SMS contact, inside tx, the transaction that
	// stores the caseworker's message messageID (internal/sms.Nudger.Queue).
	Nudge func(ctx context.Context, tx *sql.Tx, reportID, messageID, phone string) error
	// Images makes display copies and previews of screenshots; nil means
	// one that takes its slots from KDF.
	Images *evidence.Decoder
}

// Service is the casework service.
type Service struct {
	Config
}

// New returns a service with defaults filled in.
func New(c Config) *Service {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Images == nil {
		c.Images = newDecoder(c.KDF)
	}
	return &Service{Config: c}
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
)

// ProblemKeys lists every key above.
var ProblemKeys = []string{ProblemEmpty, ProblemTooLong, ProblemCloseReason, ProblemNotAMember, ProblemIncidentType,
	ProblemContextFlag, ProblemDeclineReason, ProblemOutcome, ProblemExportOptions}
