package reporting

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/salama-ke/salama/internal/store"
)

// Intake: a caseworker takes a report on a survivor's behalf, from a phone
// call, a walk-in or a chat (the console's /console/intake). It is the
// same report as the public form makes, from the same Input and Decode,
// sealed and given a fresh random receipt the same way; what differs:
//
//   - it goes to the caseworker's own organisation, not through the
//     routing rules: the survivor reached that organisation, and its
//     caseworker follows the case up (docs/casework.md says why);
//   - the channel says how it was taken, and the audit log names the
//     caseworker (report.taken), in the same transaction as the report;
//   - its form token is the intake form's own purpose, so a public form's
//     token is not accepted and the other way round.
//
// The receipt is returned once, for the caseworker to read out; it is not
// kept, logged or audited, and a form token sent again shows no receipt.

// IntakeChannels are the channels a caseworker may record, in the order
// the form offers them.
var IntakeChannels = []string{store.ChannelIntakePhone, store.ChannelIntakeWalkIn, store.ChannelIntakeChat, store.ChannelIntakeOther}

// tokenIntake is the intake form's token purpose.
const tokenIntake = "intake-token"

// ErrNoOrganisation means the caseworker's organisation cannot receive
// reports (it has no key: nothing can be sealed to it).
var ErrNoOrganisation = errors.New("reporting: the caseworker's organisation cannot receive reports")

// Taker is the caseworker who takes a report, and how it reached them.
type Taker struct {
	UserID, OrgID string
	Channel       string // one of IntakeChannels
}

// NewIntakeToken returns a fresh token for the console's intake form.
func (s *Service) NewIntakeToken() string { return s.newToken(tokenIntake) }

// Take stores a report a caseworker took on a survivor's behalf. in must
// have been decoded without problems (Decode, KindReport) and carry an
// intake form token. A token that already made a report is spent: sending
// it again stores nothing and returns that report with Again set and no
// receipt, as on the web.
func (s *Service) Take(ctx context.Context, in Input, t Taker) (*Submission, error) {
	if !slices.Contains(IntakeChannels, t.Channel) {
		return nil, fmt.Errorf("reporting: intake channel %q", t.Channel)
	}
	if in.Kind != KindReport || t.UserID == "" || t.OrgID == "" {
		return nil, errors.New("reporting: an intake is a report, taken by a caseworker of an organisation")
	}
	if s.Audit == nil {
		return nil, errors.New("reporting: an intake needs the audit log")
	}
	return s.submitOnce(ctx, in, tokenIntake, origin{channel: t.Channel, taker: &t})
}

// takerOrg is the organisation an intake goes to: the caseworker's own.
func takerOrg(t *Taker, orgs []store.Organisation) (*store.Organisation, error) {
	for i := range orgs {
		if orgs[i].ID == t.OrgID {
			if orgs[i].PublicKey == "" {
				return nil, ErrNoOrganisation
			}
			return &orgs[i], nil
		}
	}
	return nil, ErrNoOrganisation
}
