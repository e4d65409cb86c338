package reporting

import (
	"context"
	"errors"
	"fmt"

	"github.com/salama-ke/salama/internal/report"

	"github.com/salama-ke/salama/internal/seal"
	"github.com/salama-ke/salama/internal/store"
)

// Feature phones (USSD) have no cookie and no form token. A gateway session
// is the only thing that ties one screen to the next, and the gateway
// resends everything the survivor typed with every request; so a report is
// made idempotent by a seed the caller derives from its session, and a check
// opens the report from the receipt again for each request.

// SubmitOnce stores a report that arrived on a channel without form tokens
// (USSD). The seed decides the receipt and marks the submission, so a
// gateway that sends the last request twice gets the same receipt twice and
// one report is stored. The seed must be secret and unique to one report:
// the caller derives it from a random nonce and the gateway's session id.
func (s *Service) SubmitOnce(ctx context.Context, in Input, channel string, seed []byte) (*Submission, error) {
	if len(seed) < 16 {
		return nil, fmt.Errorf("reporting: submission seed of %d bytes is too short", len(seed))
	}
	receipt, err := seal.ReceiptFromSeed(s.Secret.MAC("channel-receipt-seed", seed))
	if err != nil {
		return nil, err
	}
	tokenHash := s.Secret.MAC("channel-submit-token", seed)
	if id, err := s.Store.ReportIDByToken(ctx, tokenHash, s.Now().Add(-s.TokenLifetime)); err == nil {
		return s.again(ctx, receipt, id)
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	return s.create(ctx, in, origin{channel: channel, tokenHash: tokenHash, seeded: true}, receipt)
}

// OpenWithReceipt opens the report a receipt belongs to for the length of
// one request and starts no session. The caller must Close the
// CheckSession. Unknown receipts and withdrawn reports cost the same
// argon2id evaluation and give the same ErrNoReport; the caller rate-limits
// guesses. A receipt of an older derivation is upgraded, as at a web
// login (openReceipt); the upgrade is the only write.
func (s *Service) OpenWithReceipt(ctx context.Context, r seal.Receipt) (*CheckSession, error) {
	reportID, dk, err := s.openReceipt(ctx, r)
	if err != nil {
		return nil, err
	}
	return &CheckSession{svc: s, ReportID: reportID, dk: dk}, nil
}

// Latest is what a feature phone shows of a report: its status and the
// newest message from a caseworker, opened. Older messages and the
// survivor's own stay sealed.
type Latest struct {
	Status      string
	Newest      *Message // nil when no caseworker has written yet
	FromHelpers int      // how many messages caseworkers have written
}

// Latest opens the newest caseworker message of the session's report.
func (c *CheckSession) Latest(ctx context.Context) (*Latest, error) {
	s := c.svc
	r, err := s.Store.Report(ctx, c.ReportID)
	if err != nil {
		return nil, err
	}
	if r.Destroyed() {
		return nil, ErrNoReport
	}
	msgs, err := s.Store.Messages(ctx, r.ID)
	if err != nil {
		return nil, err
	}
	l := &Latest{Status: r.Status}
	var newest *store.Message
	for i := range msgs {
		if msgs[i].Author == store.AuthorCaseworker {
			l.FromHelpers++
			newest = &msgs[i] // oldest first, so the last one wins
		}
	}
	if newest != nil {
		b, err := c.dk.Open(r.ID, report.MessageField(newest.ID), newest.Sealed)
		if err != nil {
			return nil, err
		}
		l.Newest = &Message{At: newest.CreatedAt, Text: string(b)}
	}
	return l, nil
}

// purposeChannelCheck binds a data key wrapped for a check session on a
// channel without cookies (USSD) to that use.
const purposeChannelCheck = "channel-check"

// WrapKey wraps the session's data key under k, for a channel that has no
// cookie to carry a session key (USSD): the caller keeps the wrap in its
// own session state and k where the database is not (see ResumeWithKey).
func (c *CheckSession) WrapKey(k *seal.Key) ([]byte, error) {
	return k.WrapDataKey(c.ReportID, purposeChannelCheck, c.dk)
}

// ResumeWithKey opens a report again from a data key wrapped by WrapKey,
// without the argon2id evaluation of OpenWithReceipt: a feature phone that
// checked its receipt on one screen reads its report on the next ones at
// the cost of one unwrap. A wrap that does not open under k (another key,
// another report, a tampered state) is ErrNoSession; a report withdrawn or
// purged meanwhile is ErrNoReport, as at OpenWithReceipt.
func (s *Service) ResumeWithKey(ctx context.Context, reportID string, k *seal.Key, wrapped []byte) (*CheckSession, error) {
	dk, err := k.UnwrapDataKey(reportID, purposeChannelCheck, wrapped)
	if err != nil {
		return nil, ErrNoSession
	}
	r, err := s.Store.Report(ctx, reportID)
	if errors.Is(err, store.ErrNotFound) || err == nil && r.Destroyed() {
		dk.Destroy()
		return nil, ErrNoReport
	}
	if err != nil {
		dk.Destroy()
		return nil, err
	}
	return &CheckSession{svc: s, ReportID: reportID, dk: dk}, nil
}
