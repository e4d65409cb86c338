// Package reporting owns the survivor's side of Salama: turning a submitted
// form into a sealed, routed report with a receipt; logging back in with the
// receipt; the thread with the caseworker; withdrawal.
//
// It must never keep anything the survivor did not type (no address, no
// browser details), never keep a receipt, and never store half a report:
// every submission is one transaction.
package reporting

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/salama-ke/salama/internal/token"

	"github.com/salama-ke/salama/internal/report"

	"github.com/salama-ke/salama/internal/audit"
	"github.com/salama-ke/salama/internal/directory"
	"github.com/salama-ke/salama/internal/evidence"
	"github.com/salama-ke/salama/internal/ids"
	"github.com/salama-ke/salama/internal/seal"
	"github.com/salama-ke/salama/internal/store"
)

// Errors the web layer turns into messages.
var (
	ErrTokenExpired = errors.New("reporting: form token expired or invalid")
	ErrNoReport     = errors.New("reporting: no report for that receipt")
	ErrNoSession    = errors.New("reporting: no session")
	ErrRetry        = errors.New("reporting: submission collided; ask the survivor to send again")
	ErrEmpty        = errors.New("reporting: empty message")
	// ErrDiskLow means new reports are refused because the disk under the
	// data directory is nearly full (salama serve --min-free-disk): the
	// survivor is asked to try later, with everything typed kept.
	ErrDiskLow = errors.New("reporting: too little free disk space to take a new report")
	// ErrBusy: too many screenshots are being opened at once; nothing was
	// stored, the survivor may send again in a minute.
	ErrBusy = evidence.ErrBusy
)

// Config holds what the service needs from outside.
type Config struct {
	Store       *store.Store
	KDF         *seal.KDF
	KDFParams   seal.KDFParams // for receipts
	ReceiptSalt []byte
	Secret      *seal.NetworkSecret
	Audit       *audit.Log // withdrawals are audited (actor: survivor); may be nil in tests of this package
	Now         func() time.Time
	// TokenLifetime is how long a form may stay open before it must be
	// sent again; it is also how long a double submit shows the same receipt.
	TokenLifetime time.Duration
	// SessionIdle ends a receipt login after this long without a request.
	SessionIdle time.Duration
	// OnUpgradeError, if set, hears why an old receipt's upgrade to the
	// current derivation could not be written (the report opened anyway;
	// the next login tries again). The error names no receipt.
	OnUpgradeError func(error)
	// DiskLow, if set, says the disk is nearly full: new reports are then
	// refused with ErrDiskLow on every channel, before anything is sealed,
	// while logins, reading and replies go on.
	DiskLow func() bool
	// Images makes the display copies of screenshots; nil means one that
	// takes its slots from KDF (see evidence.Slots).
	Images *evidence.Decoder
}

// Service is the survivor-facing reporting service.
type Service struct {
	Config
	// receipts derives receipt keys (seal.Receipts); receiptsErr says why
	// it could not be built from Config, and is returned by every use.
	receipts    *seal.Receipts
	receiptsErr error

	mu       sync.Mutex
	dirAt    time.Time // zero: nothing cached
	services []directory.Service
	orgs     []store.Organisation
	rules    []store.RoutingRule
}

// New returns a service.
func New(c Config) *Service {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.TokenLifetime == 0 {
		c.TokenLifetime = 3 * time.Hour
	}
	if c.SessionIdle == 0 {
		c.SessionIdle = 15 * time.Minute
	}
	if c.Images == nil {
		slots := evidence.Slots(nil)
		if c.KDF != nil {
			slots = c.KDF
		}
		c.Images = evidence.NewDecoder(slots, evidence.DefaultQueue, evidence.DefaultWait)
	}
	s := &Service{Config: c}
	s.receipts, s.receiptsErr = seal.NewReceipts(c.KDF, c.Secret, c.ReceiptSalt, c.KDFParams)
	return s
}

// Directory returns the services and organisations, cached for a minute: the
// directory changes rarely and is read on every help page.
func (s *Service) Directory(ctx context.Context) ([]directory.Service, []store.Organisation, error) {
	svcs, orgs, _, err := s.routing(ctx)
	return svcs, orgs, err
}

// routing returns the directory and the routing rules, cached together for
// a minute. An edit in the console drops the cache of this instance at once
// (InvalidateDirectory); other instances see it within the minute.
func (s *Service) routing(ctx context.Context) ([]directory.Service, []store.Organisation, []store.RoutingRule, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.dirAt.IsZero() && s.Now().Sub(s.dirAt) < time.Minute {
		return s.services, s.orgs, s.rules, nil
	}
	svcs, err := directory.Stored(ctx, s.Store)
	if err != nil {
		return nil, nil, nil, err
	}
	orgs, err := s.Store.Organisations(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	rules, err := s.Store.RoutingRules(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	s.services, s.orgs, s.rules, s.dirAt = svcs, orgs, rules, s.Now()
	return svcs, orgs, rules, nil
}

// InvalidateDirectory drops the cached directory and routing rules after an
// edit.
func (s *Service) InvalidateDirectory() {
	s.mu.Lock()
	s.services, s.orgs, s.rules, s.dirAt = nil, nil, nil, time.Time{}
	s.mu.Unlock()
}

// --- form tokens ---------------------------------------------------------

// A form token is version(1) ‖ issued unix seconds(8) ‖ random(16) ‖
// MAC(32), base64url. It proves the form came from us recently and lets a
// double submit be recognised: a token that made a report is spent, and
// sending it again stores nothing and shows no receipt (SPEC §6 "Shown
// once"). Nothing about the receipt is derived from it: the token sits in
// the page, and the browser keeps the form it was posted with in its
// history, where anyone holding the phone can send it again.
const tokenVersion = 1

// Form tokens are MACed per purpose, so a token of one form is never
// accepted by another.
const (
	tokenReport = "form-token"        // the report and tip forms
	tokenLogIn  = "check-login-token" // the receipt login form
)

// NewToken returns a fresh token for the report and tip forms.
func (s *Service) NewToken() string { return s.newToken(tokenReport) }

// NewLoginToken returns a fresh token for the receipt login form. There is
// no cookie before the login, so the token cannot be tied to the browser:
// it proves that the form was one of ours, recently; a request from another
// site is refused by the web layer from the browser's own headers.
func (s *Service) NewLoginToken() string { return s.newToken(tokenLogIn) }

// CheckLoginToken returns ErrTokenExpired unless tok is a fresh login token.
func (s *Service) CheckLoginToken(tok string) error {
	_, err := s.checkToken(tokenLogIn, tok)
	return err
}

func (s *Service) tokens() token.Maker { return token.Maker{Secret: s.Secret, Now: s.Now} }

func (s *Service) newToken(purpose string) string { return s.tokens().Form(purpose) }

// checkToken returns the token's random part if it is ours, for purpose,
// and fresh.
func (s *Service) checkToken(purpose, tok string) ([]byte, error) {
	r, err := s.tokens().CheckForm(purpose, tok, s.TokenLifetime)
	if err != nil {
		return nil, ErrTokenExpired
	}
	return r, nil
}

// --- submission ----------------------------------------------------------

// Submission is the result of a successful submit.
type Submission struct {
	// Receipt is the report's receipt, to show once. It is the zero
	// Receipt when Again is set on the web: a spent form token never
	// shows the code again.
	Receipt seal.Receipt
	Report  *store.Report
	// Again says the same submission arrived before (a form sent twice, a
	// gateway repeating a request): nothing new was stored.
	Again bool
}

// Submit seals, routes and stores a report or tip from the web form, with a
// fresh random receipt. The input must have been decoded without problems.
// A form token that already made a report is spent: sending it again
// stores nothing and returns that report with Again set and no receipt.
func (s *Service) Submit(ctx context.Context, in Input) (*Submission, error) {
	return s.submitOnce(ctx, in, tokenReport, origin{channel: store.ChannelWeb})
}

// submitOnce stores a report from a form whose token has the given
// purpose, with a fresh random receipt, unless the token is not ours or
// spent: a token that made a report returns that report with Again set
// and no receipt.
func (s *Service) submitOnce(ctx context.Context, in Input, purpose string, o origin) (*Submission, error) {
	random, err := s.checkToken(purpose, in.Token)
	if err != nil {
		return nil, err
	}
	o.tokenHash = s.Secret.MAC("submit-token", random)
	if id, err := s.Store.ReportIDByToken(ctx, o.tokenHash, s.Now().Add(-s.TokenLifetime)); err == nil {
		return s.again(ctx, seal.Receipt{}, id)
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	receipt, err := seal.NewReceipt()
	if err != nil {
		return nil, err
	}
	return s.create(ctx, in, o, receipt)
}

// origin is how a report reached create.
type origin struct {
	channel string
	// tokenHash marks the submission, so that the same one sent twice
	// stores one report (nil: no mark).
	tokenHash []byte
	// seeded: the receipt was derived from the submission's seed, so a
	// repeated submission may show it again (USSD); otherwise a repeat
	// never shows a receipt (SPEC §6 "Shown once").
	seeded bool
	// taker is the caseworker who took the report on the survivor's
	// behalf (intake.go); nil when the survivor sent it herself.
	taker *Taker
}

// create seals, routes and stores a report in one transaction.
func (s *Service) create(ctx context.Context, in Input, o origin, receipt seal.Receipt) (*Submission, error) {
	channel, tokenHash := o.channel, o.tokenHash
	// Refuse before the argon2id and the sealing, not half-way through a
	// write that would fail on a full disk. (A form sent twice while the
	// disk is low is refused too, though its first copy may be stored:
	// sent again later it shows as already sent.)
	if s.DiskLow != nil && s.DiskLow() {
		return nil, ErrDiskLow
	}
	if s.receiptsErr != nil {
		return nil, s.receiptsErr
	}
	// Screenshots first: when no decoding slot comes in time the survivor
	// is asked to send again, and no argon2id evaluation was spent.
	prep, err := s.prepare(ctx, in)
	if err != nil {
		return nil, err
	}
	ring, err := s.receipts.Keys(ctx, receipt)
	if err != nil {
		return nil, err
	}
	defer ring.Destroy()
	keys := ring.Current()
	svcs, orgs, rules, err := s.routing(ctx)
	if err != nil {
		return nil, err
	}
	var org *store.Organisation
	if o.taker != nil {
		org, err = takerOrg(o.taker, orgs)
	} else {
		org, err = Route(in, orgs, svcs, rules)
	}
	if err != nil {
		return nil, err
	}
	recipient, err := seal.ParseOrgRecipient(org.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("organisation %s public key: %w", org.ID, err)
	}

	nr := &store.NewReport{Report: reportFromInput(in, org.ID, s.Now().UTC()), Fields: map[string]seal.Sealed{}, TokenHash: tokenHash, Blind: prep.blind}
	nr.Channel = channel
	dk, err := seal.NewDataKey()
	if err != nil {
		return nil, err
	}
	defer dk.Destroy()
	for attempt := 0; ; attempt++ {
		nr.ID, nr.CaseRef = ids.New(), ids.CaseRef()
		if err := s.sealInto(nr, dk, in, prep); err != nil {
			return nil, err
		}
		if nr.OrgWrap, err = recipient.WrapDataKey(dk); err != nil {
			return nil, err
		}
		nr.OrgRecipient, nr.OrgPublicKey = "org:"+org.ID, recipient.String()
		if nr.ReceiptWrap, err = keys.WrapDataKey(nr.ID, dk); err != nil {
			return nil, err
		}
		nr.ReceiptLookup, nr.ReceiptVersion = keys.Lookup, int(keys.Version)
		if o.taker != nil {
			// The report and the entry naming who took it commit
			// together: no report taken without its entry.
			if nr.Audit, err = s.Audit.Prepare(audit.Event{Actor: audit.UserActor(o.taker.UserID), OrgID: o.taker.OrgID,
				Action: audit.ReportTaken, ReportID: nr.ID, Detail: "channel=" + channel}); err != nil {
				return nil, err
			}
		}
		err = s.Store.CreateReport(ctx, nr)
		switch {
		case err == nil:
			return &Submission{Receipt: receipt, Report: &nr.Report}, nil
		case errors.Is(err, store.ErrDuplicateToken):
			id, lerr := s.Store.ReportIDByToken(ctx, tokenHash, time.Time{})
			if lerr != nil {
				return nil, lerr
			}
			// Another request with the same token won the race and
			// showed its receipt; this one's was never stored.
			if !o.seeded {
				receipt = seal.Receipt{}
			}
			return s.again(ctx, receipt, id)
		case errors.Is(err, store.ErrDuplicateKey) && attempt < 2:
			continue // a case reference collided: draw new ids
		case errors.Is(err, store.ErrOrgKeyChanged) && attempt < 2:
			// The organisation's key was replaced (a member was removed)
			// since it was read, perhaps from the directory cache: wrap
			// to the new one.
			s.InvalidateDirectory()
			fresh, ferr := s.Store.Organisation(ctx, org.ID)
			if ferr != nil {
				return nil, ferr
			}
			if recipient, err = seal.ParseOrgRecipient(fresh.PublicKey); err != nil {
				return nil, fmt.Errorf("organisation %s public key: %w", org.ID, err)
			}
			continue
		case errors.Is(err, store.ErrDuplicateKey):
			return nil, ErrRetry
		default:
			return nil, err
		}
	}
}

// again is a submission seen before: the report it made, and the receipt
// only when the channel may show it again (USSD; never the web).
func (s *Service) again(ctx context.Context, receipt seal.Receipt, id string) (*Submission, error) {
	r, err := s.Store.Report(ctx, id)
	if err != nil {
		return nil, err
	}
	if r.Destroyed() && receipt.Digits() != "" {
		return nil, ErrTokenExpired
	}
	return &Submission{Receipt: receipt, Report: r, Again: true}, nil
}

// Contact is the sealed "how to reach you" field.
type Contact struct {
	Phone     string `json:"phone,omitempty"`
	SafeTimes string `json:"safe_times,omitempty"`
	MaySayWho string `json:"may_say_who,omitempty"`
}

func (s *Service) sealInto(nr *store.NewReport, dk *seal.DataKey, in Input, prep prepared) error {
	clear(nr.Fields)
	nr.Attachments = nr.Attachments[:0]
	put := func(name string, b []byte) error {
		v, err := dk.Seal(nr.ID, name, b)
		nr.Fields[name] = v
		return err
	}
	if in.Narrative != "" {
		if err := put(report.FieldNarrative, []byte(in.Narrative)); err != nil {
			return err
		}
	}
	if len(prep.identifiers) > 0 {
		b, _ := json.Marshal(prep.identifiers)
		if err := put(report.FieldIdentifiers, b); err != nil {
			return err
		}
	}
	if in.ContactPref == "phone" && in.Phone != "" {
		b, _ := json.Marshal(Contact{Phone: in.Phone, SafeTimes: in.SafeTimes, MaySayWho: in.MaySayWho})
		if err := put(report.FieldContact, b); err != nil {
			return err
		}
	}
	if in.Country != "" && in.County == "outside" {
		if err := put(report.FieldCountry, []byte(in.Country)); err != nil {
			return err
		}
	}
	for i, u := range in.Files {
		a := store.NewAttachment{ID: ids.New()}
		var err error
		if a.Sealed, err = dk.Seal(nr.ID, report.AttachmentField(a.ID), attachmentBytes(u)); err != nil {
			return err
		}
		if d := prep.displays[i]; d != nil {
			if a.Display, err = dk.Seal(nr.ID, report.DisplayField(a.ID), d); err != nil {
				return err
			}
		}
		nr.Attachments = append(nr.Attachments, a)
	}
	return nil
}

func reportFromInput(in Input, orgID string, now time.Time) store.Report {
	r := store.Report{
		Kind: in.Kind, Channel: store.ChannelWeb, OrgID: orgID, Status: store.StatusNew,
		CreatedAt: now, UpdatedAt: now,
		About: in.About, Categories: in.What, AgeBand: in.AgeBand, County: in.County,
		WhenLast: in.WhenLast, DangerNow: in.Danger, Help: in.Help, ContactPref: in.ContactPref,
		ConsentRefer: in.Share == "refer", ConsentMatch: in.AllowMatch || in.Kind == KindTip, ConsentStats: in.CountStats,
		ConsentPolice: in.SharePolice && in.Kind == KindReport, ConsentLegal: in.ShareLegal && in.Kind == KindReport,
		ChildInvolved: in.Child(),
	}
	if in.Kind == KindTip {
		r.Categories = []string{"advertised"}
		r.ContactPref = "code"
	}
	if r.AgeBand == "notsay" {
		r.AgeBand = ""
	}
	if r.County == "notsay" {
		r.County = ""
	}
	r.Urgency = Urgency(r)
	return r
}

// Urgency ranks a report for the inbox: danger now, then a child involved,
// then sexual violence recent enough for post-rape care.
func Urgency(r store.Report) int {
	u := 0
	if r.DangerNow == "yes" {
		u += 4
	}
	if r.ChildInvolved {
		u += 2
	}
	if report.WithinPEPWindow(r.Categories, r.WhenLast) {
		u++
	}
	return u
}

// Situation is what the help-now page matches on.
func Situation(r *store.Report) directory.Situation {
	needs := make([]report.Need, 0, len(r.Help))
	for _, h := range r.Help {
		needs = append(needs, report.Need(h))
	}
	about := r.About
	if r.ChildInvolved && about == "" {
		about = "child"
	}
	return directory.Situation{About: about, Categories: r.Categories, AgeBand: r.AgeBand, County: r.County,
		WhenLast: r.WhenLast, DangerNow: r.DangerNow == "yes", Help: needs}
}

func knownCounty(slug string) bool {
	_, ok := directory.CountyBySlug(slug)
	return ok
}
