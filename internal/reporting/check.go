package reporting

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/salama-ke/salama/internal/report"

	"github.com/salama-ke/salama/internal/audit"
	"github.com/salama-ke/salama/internal/ids"
	"github.com/salama-ke/salama/internal/seal"
	"github.com/salama-ke/salama/internal/store"
	"github.com/salama-ke/salama/internal/token"
)

// MaxReply is the longest message a survivor may send in one go.
const MaxReply = 4000

// CheckSession is a survivor logged in with their receipt (on the check
// page or a USSD screen), and its methods are what she can do with her
// report: read it, reply, answer referrals, withdraw it, log out. The data
// key is held only for the length of one request.
type CheckSession struct {
	ReportID string
	// Unsaved says why this request's session could not be written (a
	// read-only database, a full disk): the report can be read now, but
	// replying, answering or deleting cannot be done, and a login without
	// a stored session has no cookie to come back with. Nil when all is
	// well.
	Unsaved error
	svc     *Service
	id      []byte
	dk      *seal.DataKey
}

// Close forgets the data key.
func (c *CheckSession) Close() { c.dk.Destroy() }

// CSRF is the token the session's forms carry; "" for a session that was
// never stored (it has no forms).
func (c *CheckSession) CSRF() string {
	s := c.svc
	if c.id == nil {
		return ""
	}
	return s.tokens().CSRF("check-csrf", c.id)
}

// VerifyCSRF checks a form's token against the session.
func (c *CheckSession) VerifyCSRF(tok string) bool {
	s := c.svc
	return c.id != nil && s.tokens().VerifyCSRF("check-csrf", c.id, tok)
}

// LogIn opens the report a receipt belongs to and starts a session. It
// returns the cookie value: a random session id and the session key that
// seals the report's data key in the database. Unknown receipts and
// withdrawn reports cost the same argon2id evaluation and give the same
// ErrNoReport.
func (s *Service) LogIn(ctx context.Context, r seal.Receipt) (cookie string, err error) {
	cookie, c, err := s.Enter(ctx, r)
	if err != nil {
		return "", err
	}
	defer c.Close()
	if c.Unsaved != nil {
		return "", c.Unsaved
	}
	return cookie, nil
}

// Enter is LogIn for the check page: it also returns the report opened for
// this request. If the session cannot be stored while the report can be
// read (a read-only database, a full disk), the survivor still reads their
// report now: the cookie is "" and the CheckSession's Unsaved says why.
// The caller must Close the CheckSession.
func (s *Service) Enter(ctx context.Context, r seal.Receipt) (cookie string, c *CheckSession, err error) {
	reportID, dk, err := s.openReceipt(ctx, r)
	if err != nil {
		return "", nil, err
	}
	c = &CheckSession{svc: s, ReportID: reportID, dk: dk}
	sess, err := token.NewSession()
	if err != nil {
		c.Close()
		return "", nil, err
	}
	defer sess.Destroy()
	sealed, err := sess.Key.WrapDataKey(reportID, "survivor-session", dk)
	if err != nil {
		c.Close()
		return "", nil, err
	}
	now := s.Now().UTC()
	if err := s.Store.CreateSurvivorSession(ctx, &store.SurvivorSession{IDHash: sess.IDHash(), ReportID: reportID, SealedKey: sealed, CreatedAt: now, LastSeen: now}); err != nil {
		c.Unsaved = err
		return "", c, nil
	}
	c.id = sess.ID
	return sess.Cookie(), c, nil
}

// openReceipt finds the report a receipt belongs to and unwraps its data
// key. One argon2id evaluation gives the receipt's lookup key under every
// derivation version (seal.Receipts), and one query looks for all of them,
// so that unknown receipts, current ones and old ones cost the same.
//
// A receipt row of an older version, or written under an earlier generation
// of the network secret (before a rotation), is upgraded on the spot: the data key is
// wrapped under the current keys and the row rewritten with the new lookup
// key, so the old lookup key and wrap are gone. If that write fails (a
// read-only database, a full disk) the report opens all the same and the
// upgrade waits for the next login.
func (s *Service) openReceipt(ctx context.Context, r seal.Receipt) (reportID string, dk *seal.DataKey, err error) {
	if s.receiptsErr != nil {
		return "", nil, s.receiptsErr
	}
	ring, err := s.receipts.Keys(ctx, r)
	if err != nil {
		return "", nil, err
	}
	defer ring.Destroy()
	var lookups [][]byte
	for _, k := range ring.Versions() {
		lookups = append(lookups, k.Lookup)
	}
	row, err := s.Store.ReceiptByLookup(ctx, lookups...)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil, ErrNoReport
	}
	if err != nil {
		return "", nil, err
	}
	// The keys whose lookup found the row: of its version and, for v2, of
	// the network secret generation it was written under.
	keys, ok := ring.Matching(row.Lookup)
	if !ok || keys.Version != seal.ReceiptVersion(row.Version) {
		return "", nil, ErrNoReport
	}
	dk, err = keys.UnwrapDataKey(row.ReportID, row.Wrap)
	if err != nil {
		return "", nil, ErrNoReport
	}
	if cur := ring.Current(); !bytes.Equal(keys.Lookup, cur.Lookup) {
		w, err := cur.WrapDataKey(row.ReportID, dk)
		if err == nil {
			err = s.Store.UpgradeReceipt(ctx, row.ReportID, row.Lookup, cur.Lookup, w, int(cur.Version))
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) && s.OnUpgradeError != nil {
			s.OnUpgradeError(err)
		}
	}
	return row.ReportID, dk, nil
}

// Session resumes a receipt login from its cookie value.
func (s *Service) Session(ctx context.Context, cookie string) (*CheckSession, error) {
	sess, err := token.ParseSession(cookie)
	if err != nil {
		return nil, ErrNoSession
	}
	defer sess.Destroy()
	now := s.Now().UTC()
	ss, err := s.Store.SurvivorSession(ctx, sess.IDHash())
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNoSession
	}
	if err != nil {
		return nil, err
	}
	if ss.LastSeen.Before(now.Add(-s.SessionIdle)) {
		_ = s.Store.DeleteSurvivorSession(ctx, ss.IDHash) // or the expiry job will
		return nil, ErrNoSession
	}
	// Marking the session used is the request's only write: if it fails,
	// the report is still read, and the session ends as idle unless a
	// later request can mark it.
	unsaved := s.Store.TouchSurvivorSession(ctx, ss.IDHash, now)
	dk, err := sess.Key.UnwrapDataKey(ss.ReportID, "survivor-session", ss.SealedKey)
	if err != nil {
		return nil, ErrNoSession // a tampered cookie
	}
	return &CheckSession{svc: s, ReportID: ss.ReportID, Unsaved: unsaved, id: sess.ID, dk: dk}, nil
}

// LogOut ends the session; the sealed data key goes with it.
func (c *CheckSession) LogOut(ctx context.Context) error {
	s := c.svc
	return s.Store.DeleteSurvivorSession(ctx, token.IDHash(c.id))
}

// EndSession deletes the receipt login a cookie names, as Quick exit does.
// Only the session id in the cookie is needed, so even a cookie whose key
// part was damaged ends its session (token.ParseSession). A cookie that
// names no session is not an error.
func (s *Service) EndSession(ctx context.Context, cookie string) error {
	sess, err := token.ParseSession(cookie)
	if err != nil {
		return nil
	}
	sess.Destroy()
	return s.Store.DeleteSurvivorSession(ctx, sess.IDHash())
}

// Message is one entry of the thread, opened.
type Message struct {
	FromSurvivor bool
	At           time.Time
	Text         string
}

// View is what the survivor sees of their own report.
type View struct {
	Report      *store.Report
	Thread      []Message
	Narrative   string
	Identifiers []Identifier
	Phone       string
	Attachments int
}

// View opens the survivor's report for the check page.
func (c *CheckSession) View(ctx context.Context) (*View, error) {
	s := c.svc
	r, err := s.Store.Report(ctx, c.ReportID)
	if err != nil {
		return nil, err
	}
	v := &View{Report: r}
	fields, err := s.Store.ReportFields(ctx, r.ID)
	if err != nil {
		return nil, err
	}
	if f, ok := fields[report.FieldNarrative]; ok {
		b, err := c.dk.Open(r.ID, report.FieldNarrative, f)
		if err != nil {
			return nil, err
		}
		v.Narrative = string(b)
	}
	if f, ok := fields[report.FieldIdentifiers]; ok {
		b, err := c.dk.Open(r.ID, report.FieldIdentifiers, f)
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(b, &v.Identifiers); err != nil {
			return nil, err
		}
	}
	if f, ok := fields[report.FieldContact]; ok {
		b, err := c.dk.Open(r.ID, report.FieldContact, f)
		if err != nil {
			return nil, err
		}
		var ct Contact
		if err := json.Unmarshal(b, &ct); err != nil {
			return nil, err
		}
		v.Phone = ct.Phone
	}
	atts, err := s.Store.Attachments(ctx, r.ID)
	if err != nil {
		return nil, err
	}
	v.Attachments = len(atts)
	msgs, err := s.Store.Messages(ctx, r.ID)
	if err != nil {
		return nil, err
	}
	for _, m := range msgs {
		b, err := c.dk.Open(r.ID, report.MessageField(m.ID), m.Sealed)
		if err != nil {
			return nil, err
		}
		v.Thread = append(v.Thread, Message{FromSurvivor: m.Author == store.AuthorSurvivor, At: m.CreatedAt, Text: string(b)})
	}
	return v, nil
}

// Reply adds the survivor's message to the thread, sealed under the report's
// key. It returns ErrEmpty for a blank message; the caller checks the length
// against MaxReply first so the text can be shown again.
func (c *CheckSession) Reply(ctx context.Context, text string) error {
	s := c.svc
	text = strings.TrimSpace(strings.ToValidUTF8(text, "\uFFFD"))
	if text == "" {
		return ErrEmpty
	}
	if utf8.RuneCountInString(text) > MaxReply {
		return errors.New("reporting: reply too long")
	}
	id := ids.New()
	sealed, err := c.dk.Seal(c.ReportID, report.MessageField(id), []byte(text))
	if err != nil {
		return err
	}
	return s.Store.AddMessage(ctx, &store.Message{ID: id, ReportID: c.ReportID, Author: store.AuthorSurvivor, CreatedAt: s.Now().UTC(), Sealed: sealed})
}

// Withdraw destroys the report's content and ends every session on it. The
// audit log records that the holder of the receipt withdrew it, nothing more.
func (c *CheckSession) Withdraw(ctx context.Context) error {
	s := c.svc
	r, err := s.Store.Report(ctx, c.ReportID)
	if err != nil {
		return err
	}
	if err := s.Store.Withdraw(ctx, c.ReportID, s.Now().UTC()); err != nil {
		return err
	}
	if s.Audit == nil {
		return nil
	}
	return s.Audit.Record(ctx, audit.Event{Actor: audit.ActorSurvivor, OrgID: r.OrgID, Action: audit.ReportWithdrawn, ReportID: r.ID})
}
