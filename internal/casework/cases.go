package casework

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/salama-ke/salama/internal/report"
	"github.com/salama-ke/salama/internal/staff"

	"github.com/salama-ke/salama/internal/problem"

	"github.com/salama-ke/salama/internal/audit"
	"github.com/salama-ke/salama/internal/evidence"
	"github.com/salama-ke/salama/internal/ids"
	"github.com/salama-ke/salama/internal/reporting"
	"github.com/salama-ke/salama/internal/seal"
	"github.com/salama-ke/salama/internal/store"
)

// Statuses a caseworker moves a report through, and the moves allowed.
var (
	Statuses    = []string{store.StatusNew, store.StatusInReview, store.StatusReferred, store.StatusClosed}
	transitions = map[string][]string{
		store.StatusNew:      {store.StatusInReview, store.StatusClosed},
		store.StatusInReview: {store.StatusReferred, store.StatusClosed},
		store.StatusReferred: {store.StatusInReview, store.StatusClosed},
		store.StatusClosed:   {store.StatusInReview},
	}
	// CloseReasons are why a report is closed; one is required.
	CloseReasons = []string{"resolved", "referred_elsewhere", "no_contact", "survivor_request", "duplicate", "not_in_scope"}
)

// NextStatuses lists where a report may go from status.
func NextStatuses(status string) []string { return transitions[status] }

// The GBVIMS classification: the six core incident types, and the context
// flags that make the network's figures comparable with GBVIMS.
var (
	GBVTypes     = []string{"rape", "sexual_assault", "physical_assault", "forced_marriage", "denial_of_resources", "psychological_abuse"}
	ContextFlags = []string{"online", "commercial_sexual_exploitation", "trafficking", "child_sexual_abuse"}
)

// MaxText bounds a message or note.
const MaxText = 4000

// InboxPage is one page of the inbox.
type InboxPage struct {
	Reports []store.Report
	Next    string         // cursor of the next page, "" if none
	Counts  map[string]int // per status, capped at CountCap
}

// CountCap is where inbox counts stop counting.
const CountCap = 1000

// Inbox lists the principal's organisation's reports in one status, most
// urgent first, then oldest. It shows only clear fields and opens nothing.
func (s *Service) Inbox(ctx context.Context, p *staff.Principal, status, category, county, after string, limit int) (*InboxPage, error) {
	if !slices.Contains(Statuses, status) {
		status = store.StatusNew
	}
	rows, next, err := s.Store.Inbox(ctx, store.InboxQuery{OrgID: p.OrgID, Status: status, Category: category, County: county,
		After: store.ParseCursor(after), Limit: limit})
	if err != nil {
		return nil, err
	}
	page := &InboxPage{Reports: rows, Next: next.String(), Counts: map[string]int{}}
	for _, st := range Statuses {
		if page.Counts[st], err = s.Store.CountCapped(ctx, p.OrgID, st, CountCap); err != nil {
			return nil, err
		}
	}
	return page, nil
}

// report loads a report of the principal's organisation; any other is "not
// found".
func (s *Service) report(ctx context.Context, p *staff.Principal, id string) (*store.Report, error) {
	r, err := s.Store.Report(ctx, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && (r.OrgID != p.OrgID || r.Destroyed()) {
		return nil, ErrNotFound
	}
	return r, err
}

// dataKey unwraps a report's data key with the organisation key.
func (s *Service) dataKey(ctx context.Context, p *staff.Principal, r *store.Report) (*seal.DataKey, error) {
	wrap, gen, err := s.Store.ReportWrap(ctx, r.ID, "org:"+p.OrgID)
	if err != nil {
		return nil, err
	}
	return p.ReportKey(ctx, s.Store, wrap, gen)
}

// Case is a report opened for a caseworker.
type Case struct {
	Report      *store.Report
	Narrative   string
	Identifiers []reporting.Identifier
	Contact     *reporting.Contact
	Country     string
	Attachments []AttachmentInfo
	Thread      []ThreadEntry
	Notes       []NoteEntry
	Members     []store.User
	// SMSNudges says whether the survivor is told of a reply by SMS: they
	// chose SMS contact, and nudges are on.
	SMSNudges bool
}

// AttachmentInfo describes a file without its bytes: its content type as
// evidence.Check found it, and so its kind (what the console does with it).
type AttachmentInfo struct {
	ID, ContentType string
	Kind            evidence.Kind
	Size            int
}

// ThreadEntry is one message of the thread.
type ThreadEntry struct {
	FromSurvivor bool
	Author       string
	At           time.Time
	Text         string
	// Nudge is the SMS nudge this caseworker message queued, if it did
	// (a message written while a nudge was queued is covered by that one).
	// It carries states and times, never the number.
	Nudge *store.Nudge
}

// NoteEntry is one private note.
type NoteEntry struct {
	Author string
	At     time.Time
	Text   string
}

// Open decrypts a report for the principal, and audits the read.
func (s *Service) Open(ctx context.Context, p *staff.Principal, id string) (*Case, error) {
	r, err := s.report(ctx, p, id)
	if err != nil {
		return nil, err
	}
	dk, err := s.dataKey(ctx, p, r)
	if err != nil {
		return nil, err
	}
	defer dk.Destroy()
	if err := s.record(ctx, audit.UserActor(p.UserID), p.OrgID, audit.ReportRead, r.ID, ""); err != nil {
		return nil, err // no read without its audit entry
	}
	if r.OpenedAt.IsZero() {
		if err := s.Store.MarkOpened(ctx, r.ID, s.Now().UTC()); err != nil {
			return nil, err
		}
	}
	c := &Case{Report: r}
	fields, err := s.Store.ReportFields(ctx, r.ID)
	if err != nil {
		return nil, err
	}
	open := func(name string) ([]byte, bool, error) {
		f, ok := fields[name]
		if !ok {
			return nil, false, nil
		}
		b, err := dk.Open(r.ID, name, f)
		return b, true, err
	}
	if b, ok, err := open(report.FieldNarrative); err != nil {
		return nil, err
	} else if ok {
		c.Narrative = string(b)
	}
	if b, ok, err := open(report.FieldIdentifiers); err != nil {
		return nil, err
	} else if ok {
		if err := json.Unmarshal(b, &c.Identifiers); err != nil {
			return nil, err
		}
	}
	if b, ok, err := open(report.FieldContact); err != nil {
		return nil, err
	} else if ok {
		c.Contact = &reporting.Contact{}
		if err := json.Unmarshal(b, c.Contact); err != nil {
			return nil, err
		}
	}
	if b, ok, err := open(report.FieldCountry); err != nil {
		return nil, err
	} else if ok {
		c.Country = string(b)
	}
	atts, err := s.Store.Attachments(ctx, r.ID)
	if err != nil {
		return nil, err
	}
	for _, a := range atts {
		b, err := dk.Open(r.ID, report.AttachmentField(a.ID), a.Sealed)
		if err != nil {
			return nil, err
		}
		ct, data, _ := bytes.Cut(b, []byte("\n"))
		c.Attachments = append(c.Attachments, AttachmentInfo{ID: a.ID, ContentType: string(ct), Kind: evidence.KindOf(string(ct)), Size: len(data)})
	}
	if c.Members, err = s.Store.Users(ctx, p.OrgID); err != nil {
		return nil, err
	}
	name := func(userID string) string {
		for _, m := range c.Members {
			if m.ID == userID {
				if m.DisplayName != "" {
					return m.DisplayName
				}
				return m.Username
			}
		}
		return "former member"
	}
	msgs, err := s.Store.Messages(ctx, r.ID)
	if err != nil {
		return nil, err
	}
	nudges, err := s.Store.Nudges(ctx, r.ID)
	if err != nil {
		return nil, err
	}
	c.SMSNudges = s.Nudge != nil && r.ContactPref == "phone"
	for _, m := range msgs {
		b, err := dk.Open(r.ID, report.MessageField(m.ID), m.Sealed)
		if err != nil {
			return nil, err
		}
		e := ThreadEntry{FromSurvivor: m.Author == store.AuthorSurvivor, At: m.CreatedAt, Text: string(b), Author: "Survivor"}
		if !e.FromSurvivor {
			e.Author = name(m.UserID)
			for i := range nudges {
				if nudges[i].MessageID == m.ID {
					e.Nudge = &nudges[i]
				}
			}
		}
		c.Thread = append(c.Thread, e)
	}
	notes, err := s.Store.Notes(ctx, r.ID)
	if err != nil {
		return nil, err
	}
	for _, n := range notes {
		b, err := dk.Open(r.ID, report.NoteField(n.ID), n.Sealed)
		if err != nil {
			return nil, err
		}
		c.Notes = append(c.Notes, NoteEntry{Author: name(n.UserID), At: n.CreatedAt, Text: string(b)})
	}
	return c, nil
}

// Attachment returns a file for viewing, and audits it. A screenshot comes
// as its display copy (turned upright, re-encoded without EXIF, GPS or XMP;
// see displayCopy), never the original, which only leaves in an evidence
// bundle; ErrNoPreview if it cannot be shown. Any other file comes as sent,
// with the content type found in its bytes, for the console to play (a
// voice note) or offer as a download (a PDF, a chat export): nothing is
// made from it on the server.
func (s *Service) Attachment(ctx context.Context, p *staff.Principal, reportID, attID string) (contentType string, data []byte, err error) {
	r, att, dk, err := s.revealAttachment(ctx, p, reportID, attID)
	if err != nil {
		return "", nil, err
	}
	defer dk.Destroy()
	b, err := dk.Open(r.ID, report.AttachmentField(att.ID), att.Sealed)
	if err != nil {
		return "", nil, err
	}
	ct, original, _ := bytes.Cut(b, []byte("\n"))
	if evidence.KindOf(string(ct)) != evidence.KindImage {
		return string(ct), original, nil
	}
	return s.displayCopy(ctx, dk, r.ID, att)
}

// Conversation returns a chat export read as a conversation, and audits it
// as a reveal: from the display copy made when the report arrived, or, for
// a report without one (a referral's copy), read from the original now,
// never stored. ErrNoPreview if the file is not a chat export or cannot be
// read.
func (s *Service) Conversation(ctx context.Context, p *staff.Principal, reportID, attID string) (*evidence.Chat, error) {
	r, att, dk, err := s.revealAttachment(ctx, p, reportID, attID)
	if err != nil {
		return nil, err
	}
	defer dk.Destroy()
	b, err := dk.Open(r.ID, report.AttachmentField(att.ID), att.Sealed)
	if err != nil {
		return nil, err
	}
	ct, original, _ := bytes.Cut(b, []byte("\n"))
	return s.chat(ctx, dk, r.ID, att, string(ct), original)
}

// chat reads a chat export as a conversation: from the display copy made
// when the report arrived, or, for a report without one (a referral's
// copy), from the original now, in one of the decoder's slots, never
// stored. ErrNoPreview if it is not a chat export or cannot be read. The
// console's reveal and the evidence bundle's printable summary both read a
// chat here.
func (s *Service) chat(ctx context.Context, dk *seal.DataKey, reportID string, att store.Attachment, contentType string, original []byte) (*evidence.Chat, error) {
	if evidence.KindOf(contentType) != evidence.KindChat {
		return nil, ErrNoPreview
	}
	sealed, err := s.Store.AttachmentDisplay(ctx, reportID, att.ID)
	if err != nil {
		return nil, err
	}
	var js []byte
	if sealed != nil {
		d, err := dk.Open(reportID, report.DisplayField(att.ID), sealed)
		if err != nil {
			return nil, err
		}
		_, js, _ = bytes.Cut(d, []byte("\n"))
	} else if js, err = s.Images.Conversation(ctx, contentType, original); err != nil {
		if errors.Is(err, evidence.ErrBusy) || ctx.Err() != nil {
			return nil, err
		}
		return nil, ErrNoPreview
	}
	var c evidence.Chat
	if err := json.Unmarshal(js, &c); err != nil {
		return nil, ErrNoPreview
	}
	return &c, nil
}

// revealAttachment finds a report's file for the principal and records the
// reveal before anything of it is decrypted.
func (s *Service) revealAttachment(ctx context.Context, p *staff.Principal, reportID, attID string) (*store.Report, store.Attachment, *seal.DataKey, error) {
	r, err := s.report(ctx, p, reportID)
	if err != nil {
		return nil, store.Attachment{}, nil, err
	}
	atts, err := s.Store.Attachments(ctx, r.ID)
	if err != nil {
		return nil, store.Attachment{}, nil, err
	}
	i := slices.IndexFunc(atts, func(a store.Attachment) bool { return a.ID == attID })
	if i < 0 {
		return nil, store.Attachment{}, nil, ErrNotFound
	}
	dk, err := s.dataKey(ctx, p, r)
	if err != nil {
		return nil, store.Attachment{}, nil, err
	}
	if err := s.record(ctx, audit.UserActor(p.UserID), p.OrgID, audit.AttachmentRevealed, r.ID, "attachment="+attID); err != nil {
		dk.Destroy()
		return nil, store.Attachment{}, nil, err
	}
	return r, atts[i], dk, nil
}

// SetStatus moves a report along its workflow; closing needs a reason.
func (s *Service) SetStatus(ctx context.Context, p *staff.Principal, id, status, reason string) error {
	r, err := s.report(ctx, p, id)
	if err != nil {
		return err
	}
	if !slices.Contains(transitions[r.Status], status) {
		return ErrBadTransition
	}
	if status == store.StatusClosed {
		if !slices.Contains(CloseReasons, reason) {
			return problem.Invalid(ErrInvalid, ProblemCloseReason, "reason")
		}
	} else {
		reason = ""
	}
	if err := s.Store.UpdateCase(ctx, p.OrgID, id, store.CaseUpdate{Status: &status, ClosedReason: &reason}, s.Now().UTC()); err != nil {
		return err
	}
	detail := "status=" + r.Status + "→" + status
	if reason != "" {
		detail += " reason=" + reason
	}
	return s.record(ctx, audit.UserActor(p.UserID), p.OrgID, audit.StatusChanged, id, detail)
}

// Assign gives a report to a member of the organisation, or to nobody ("").
func (s *Service) Assign(ctx context.Context, p *staff.Principal, id, userID string) error {
	if _, err := s.report(ctx, p, id); err != nil {
		return err
	}
	if userID != "" {
		u, err := s.Store.User(ctx, userID)
		if err != nil || u.OrgID != p.OrgID || u.Disabled {
			return problem.Invalid(ErrInvalid, ProblemNotAMember, "user")
		}
	}
	if err := s.Store.UpdateCase(ctx, p.OrgID, id, store.CaseUpdate{AssignedTo: &userID}, s.Now().UTC()); err != nil {
		return err
	}
	detail := ""
	if userID != "" {
		detail = "assignee=" + userID
	}
	return s.record(ctx, audit.UserActor(p.UserID), p.OrgID, audit.Assigned, id, detail)
}

// Classify records the GBVIMS incident type and context flags.
func (s *Service) Classify(ctx context.Context, p *staff.Principal, id, gbvType string, flags []string) error {
	if _, err := s.report(ctx, p, id); err != nil {
		return err
	}
	if gbvType != "" && !slices.Contains(GBVTypes, gbvType) {
		return problem.Invalid(ErrInvalid, ProblemIncidentType, "gbv_type")
	}
	var clean []string
	for _, f := range ContextFlags { // canonical order, no duplicates
		if slices.Contains(flags, f) {
			clean = append(clean, f)
		}
	}
	if len(clean) != len(slices.Compact(slices.Sorted(slices.Values(flags)))) {
		return problem.Invalid(ErrInvalid, ProblemContextFlag, "flag")
	}
	if err := s.Store.UpdateCase(ctx, p.OrgID, id, store.CaseUpdate{GBVType: &gbvType, ContextFlags: &clean}, s.Now().UTC()); err != nil {
		return err
	}
	detail := "classification=" + cmp.Or(gbvType, "none")
	if len(clean) > 0 {
		detail += " category=" + strings.Join(clean, ",")
	}
	return s.record(ctx, audit.UserActor(p.UserID), p.OrgID, audit.ClassificationChanged, id, detail)
}

func cleanText(text string) (string, error) {
	text = strings.TrimSpace(strings.ToValidUTF8(text, "\uFFFD"))
	if text == "" {
		return "", problem.Invalid(ErrInvalid, ProblemEmpty, "text")
	}
	if utf8.RuneCountInString(text) > MaxText {
		return "", problem.Invalid(ErrInvalid, ProblemTooLong, "text")
	}
	return text, nil
}

// sealText checks a note or message, opens the report's key and seals the
// text as the field that name gives a new id (report.NoteField or
// report.MessageField). The caller destroys the returned key.
func (s *Service) sealText(ctx context.Context, p *staff.Principal, id string, field func(string) string, text string) (r *store.Report, dk *seal.DataKey, tid string, sealed seal.Sealed, err error) {
	if text, err = cleanText(text); err != nil {
		return nil, nil, "", nil, err
	}
	if r, err = s.report(ctx, p, id); err != nil {
		return nil, nil, "", nil, err
	}
	if dk, err = s.dataKey(ctx, p, r); err != nil {
		return nil, nil, "", nil, err
	}
	tid = ids.New()
	if sealed, err = dk.Seal(r.ID, field(tid), []byte(text)); err != nil {
		dk.Destroy()
		return nil, nil, "", nil, err
	}
	return r, dk, tid, sealed, nil
}

// AddNote adds a private note, sealed under the report's key.
func (s *Service) AddNote(ctx context.Context, p *staff.Principal, id, text string) error {
	r, dk, nid, sealed, err := s.sealText(ctx, p, id, report.NoteField, text)
	if err != nil {
		return err
	}
	dk.Destroy()
	if err := s.Store.AddNote(ctx, &store.Note{ID: nid, ReportID: r.ID, UserID: p.UserID, CreatedAt: s.Now().UTC(), Sealed: sealed}); err != nil {
		return err
	}
	return s.record(ctx, audit.UserActor(p.UserID), p.OrgID, audit.NoteAdded, r.ID, "note="+nid)
}

// SendMessage writes to the survivor, sealed under the report's key; they
// read it on /check and over USSD. A survivor who chose SMS contact is
// nudged: the nudge is queued in the transaction that stores the message
// and sent by a background job, so the caseworker never waits on the SMS
// provider and a nudge is never lost.
func (s *Service) SendMessage(ctx context.Context, p *staff.Principal, id, text string) error {
	r, dk, mid, sealed, err := s.sealText(ctx, p, id, report.MessageField, text)
	if err != nil {
		return err
	}
	defer dk.Destroy()
	phone, err := s.nudgeNumber(ctx, r, dk)
	if err != nil {
		return err
	}
	m := &store.Message{ID: mid, ReportID: r.ID, UserID: p.UserID, CreatedAt: s.Now().UTC(), Sealed: sealed}
	if err := s.Store.Tx(ctx, func(tx *sql.Tx) error {
		if err := store.AddCaseworkerMessageTx(ctx, tx, m); err != nil {
			return err
		}
		if phone == "" {
			return nil
		}
		return s.Nudge(ctx, tx, r.ID, mid, phone)
	}); err != nil {
		return err
	}
	if r.Status == store.StatusNew {
		// Answering a report means someone is looking at it. Like every
		// status change, this one is audited.
		st := store.StatusInReview
		if err := s.Store.UpdateCase(ctx, p.OrgID, r.ID, store.CaseUpdate{Status: &st}, s.Now().UTC()); err != nil {
			return err
		}
		if err := s.record(ctx, audit.UserActor(p.UserID), p.OrgID, audit.StatusChanged, r.ID, "status="+r.Status+"→"+st); err != nil {
			return err
		}
	}
	return s.record(ctx, audit.UserActor(p.UserID), p.OrgID, audit.MessageSent, r.ID, "message="+mid)
}

// nudgeNumber is the number to nudge about a new message: the one a
// survivor who chose to be contacted by SMS gave, or "" (no SMS contact, or
// nudges off). The nudge itself is the network's neutral wording: never the
// message, never a receipt.
func (s *Service) nudgeNumber(ctx context.Context, r *store.Report, dk *seal.DataKey) (string, error) {
	if s.Nudge == nil || r.ContactPref != "phone" {
		return "", nil
	}
	f, err := s.Store.ReportFields(ctx, r.ID)
	if err != nil {
		return "", err
	}
	if f[report.FieldContact] == nil {
		return "", nil
	}
	b, err := dk.Open(r.ID, report.FieldContact, f[report.FieldContact])
	if err != nil {
		return "", err
	}
	var ct reporting.Contact
	if err := json.Unmarshal(b, &ct); err != nil {
		return "", err
	}
	return ct.Phone, nil
}
