package ussd

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/salama-ke/salama/internal/directory"
	"github.com/salama-ke/salama/internal/locale"
	"github.com/salama-ke/salama/internal/ratelimit"
	"github.com/salama-ke/salama/internal/reporting"
	"github.com/salama-ke/salama/internal/seal"
	"github.com/salama-ke/salama/internal/sms"
	"github.com/salama-ke/salama/internal/store"
)

// Reports is what the menus need from the reporting service.
type Reports interface {
	// SubmitOnce stores a report; the same seed gives the same receipt
	// and one report.
	SubmitOnce(ctx context.Context, in reporting.Input, seed []byte) (*reporting.Submission, error)
	// Open opens a report from its receipt for one request; an unknown
	// receipt is reporting.ErrNoReport. It costs one argon2id evaluation,
	// queued behind every other one the server is running.
	Open(ctx context.Context, r seal.Receipt) (Opened, error)
	// Resume opens the report again from a data key Opened.WrapKey
	// wrapped under k, without argon2id. A wrap that does not open is
	// reporting.ErrNoSession; a report withdrawn since,
	// reporting.ErrNoReport.
	Resume(ctx context.Context, reportID string, k *seal.Key, wrapped []byte) (Opened, error)
	// Services is the directory.
	Services(ctx context.Context) ([]directory.Service, error)
}

// Opened is a report opened with its receipt, for one request.
type Opened interface {
	// ReportID names the report, to bind the session to it.
	ReportID() string
	Latest(ctx context.Context) (*reporting.Latest, error)
	Reply(ctx context.Context, text string) error
	// WrapKey wraps the report's data key under k, for Resume.
	WrapKey(k *seal.Key) ([]byte, error)
	Close()
}

// Sessions keeps session states; *store.Store is one.
type Sessions interface {
	USSDSession(ctx context.Context, idHash []byte, now time.Time) (string, error)
	PutUSSDSession(ctx context.Context, idHash []byte, old, state string, now, expires time.Time) error
}

// Config is what a Handler needs.
type Config struct {
	Reports  Reports
	Sessions Sessions
	Catalog  *locale.Catalog
	Secret   *seal.NetworkSecret
	// Lang is the language of the first screen; the menu switches.
	Lang locale.Lang
	Log  *slog.Logger
	Now  func() time.Time
	// TTL is how long a session lives after its last request; zero means
	// DefaultTTL.
	TTL time.Duration
	// ReceiptRule limits receipts typed from one phone number (hard: a
	// receipt is the only key to a report).
	ReceiptRule ratelimit.Rule
	// Deadline bounds the work of one request, from its arrival; zero
	// means DefaultDeadline. Opening a report waits in the argon2id queue
	// only as long as lets its evaluation (which cannot be interrupted)
	// end inside it; a request that cannot ends with "busy, dial again in
	// a minute".
	Deadline time.Duration
}

// DefaultTTL is the longest a gateway keeps a USSD session alive.
const DefaultTTL = 180 * time.Second

// DefaultDeadline is how long one request may work before it gives up and
// says the service is busy. Gateways drop a request after 10 seconds, and
// the phone then shows "connection problem or invalid MMI code"; 7 seconds
// leaves room for the network both ways and for writing the session.
const DefaultDeadline = 7 * time.Second

// DefaultReceiptRule allows five receipts at once from one phone, then one
// every two minutes, like the web.
var DefaultReceiptRule = ratelimit.Rule{Burst: 5, Every: 2 * time.Minute}

// Handler answers the gateway's USSD callbacks.
type Handler struct {
	Config
	guesses  *ratelimit.Limiter
	counties map[locale.Lang][]string // slugs sorted by name, per language
	// mem keys the wraps of report data keys kept in session states
	// (checkKey). It is random, lives only in this process's memory and
	// dies with it: the database holds wraps nothing on disk can open.
	mem *seal.NetworkSecret
	// opens times recent argon2id openings, to know how long the queue
	// may be waited on (argonContext).
	opens evalClock
}

// evalClock remembers how long the last openings of a report took. The
// shortest of them is close to one evaluation with no wait, on this
// machine under its present load.
type evalClock struct {
	mu     sync.Mutex
	recent [16]time.Duration
	n      int
}

func (c *evalClock) add(d time.Duration) {
	c.mu.Lock()
	c.recent[c.n%len(c.recent)] = d
	c.n++
	c.mu.Unlock()
}

// estimate is the shortest recent opening, or a cautious second before
// there is any.
func (c *evalClock) estimate() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == 0 {
		return time.Second
	}
	best := c.recent[0]
	for _, d := range c.recent[:min(c.n, len(c.recent))] {
		best = min(best, d)
	}
	return best
}

// New returns a handler.
func New(c Config) (*Handler, error) {
	if c.Reports == nil || c.Sessions == nil || c.Catalog == nil || c.Secret == nil {
		return nil, errors.New("ussd: handler needs the reports, the sessions, the catalog and the network secret")
	}
	if _, ok := locale.ParseLang(string(c.Lang)); !ok {
		c.Lang = locale.English
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.TTL == 0 {
		c.TTL = DefaultTTL
	}
	if c.ReceiptRule == (ratelimit.Rule{}) {
		c.ReceiptRule = DefaultReceiptRule
	}
	if c.Deadline <= 0 {
		c.Deadline = DefaultDeadline
	}
	mem, err := seal.GenerateNetworkSecret()
	if err != nil {
		return nil, err
	}
	h := &Handler{Config: c, guesses: ratelimit.New(c.ReceiptRule), counties: map[locale.Lang][]string{}, mem: mem}
	for _, l := range locale.Langs {
		p := c.Catalog.Printer(l)
		var slugs []string
		for _, cy := range directory.Counties() {
			slugs = append(slugs, cy.Slug)
		}
		slices.SortStableFunc(slugs, func(a, b string) int {
			return strings.Compare(strings.ToLower(p.T(directory.CountyKey(a))), strings.ToLower(p.T(directory.CountyKey(b))))
		})
		h.counties[l] = slugs
	}
	return h, nil
}

// ServeHTTP is the callback. It always answers 200 with a screen.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	var resp Response
	if err := r.ParseForm(); err != nil {
		resp = h.failEnd(h.Lang, "ussd.error")
	} else if req, err := ParseRequest(r.PostForm); err != nil {
		if errors.Is(err, ErrTooLong) {
			resp = h.failEnd(h.Lang, "ussd.too_long")
		} else {
			resp = h.failEnd(h.Lang, "ussd.error")
		}
		h.Log.InfoContext(r.Context(), "ussd request refused", "reason", err.Error())
	} else {
		resp = h.Answer(r.Context(), req)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, resp.String())
}

// Answer turns one request into one screen and moves the session on.
//
// The gateway sends all inputs so far; the state records how many it has
// acted on. Any more than that are the survivor's next answer, whole (it
// may itself contain '*'). The same number again is the gateway repeating a
// request: the same screen is shown again and nothing is done twice. Fewer
// than before cannot come from one phone following the screens: the session
// starts again at the menu and says so.
func (h *Handler) Answer(ctx context.Context, req Request) Response {
	if req.SessionID == "" {
		return h.failEnd(h.Lang, "ussd.error")
	}
	now := h.Now()
	idHash := h.sessionKey(req.SessionID, req.Phone)
	inputs := req.Inputs()
	// The screen's own work (argon2id above all) runs under the
	// deadline; reading and writing the session state do not, so that a
	// request that ran out of time still leaves the state as it was.
	work, cancel := context.WithTimeout(ctx, h.Deadline)
	defer cancel()
	t := &turn{h: h, ctx: work, req: req, inputs: inputs, idHash: idHash}
	defer t.close()

	raw, err := h.Sessions.USSDSession(ctx, idHash, now)
	switch {
	case errors.Is(err, store.ErrNotFound):
		// Answers and no session: a code dialled with choices
		// (*384*123*1*1# arrives as "1*1" on the first request), or a
		// session whose state is gone (a menu left open too long). Either
		// way the answers are all here: they are walked from the menu.
		st := newState(h.Lang)
		t.walk(st, inputs)
		resp := t.show(st)
		if t.busy {
			return h.busyEnd(ctx, st.Lang)
		}
		if err := h.Sessions.PutUSSDSession(ctx, idHash, "", st.encode(), now, now.Add(h.TTL)); err != nil {
			return h.afterSaveError(t, idHash, err)
		}
		return resp
	case err != nil:
		h.Log.ErrorContext(ctx, "ussd session unavailable", "err", err)
		return h.failEnd(h.Lang, "ussd.error")
	}

	st, err := decodeState(raw)
	if err != nil {
		h.Log.WarnContext(ctx, "ussd session state unreadable; starting again")
		st = restart(h.Lang, len(inputs))
	} else {
		n := len(inputs)
		switch {
		case st.Screen.final():
			if n != st.Seen {
				return h.failEnd(st.Lang, "ussd.expired")
			}
		case n == st.Seen:
			// A repeated request: show the screen again.
		case n > st.Seen:
			// Everything after the inputs already acted on is the one
			// answer typed on this screen: the gateway joins answers with
			// '*', so an answer with a '*' in it ("Homa*Bay", a code typed
			// as 1234*5678*…, a reply) arrives as several inputs, and is
			// put back together whole.
			from := st.Seen
			st.Seen = n
			st.Problem = ""
			t.step(st, strings.Join(inputs[from:], "*"), from)
		default:
			st = restart(st.Lang, n)
		}
	}
	resp := t.show(st)
	if t.busy {
		// The state stays as it was: the gateway may post the request
		// again, and a later dial starts afresh.
		return h.busyEnd(ctx, st.Lang)
	}
	if next := st.encode(); next != raw {
		if err := h.Sessions.PutUSSDSession(ctx, idHash, raw, next, now, now.Add(h.TTL)); err != nil {
			return h.afterSaveError(t, idHash, err)
		}
	}
	return resp
}

// sessionKey is where a session's state is kept: an HMAC of the gateway's
// session id and the caller's number, so that a session id the gateway
// gives again (to another caller, or reused after a restart) never finds
// another caller's screen, receipt or report. The id is length-prefixed so
// that no (id, number) pair collides with another.
func (h *Handler) sessionKey(sessionID, phone string) []byte {
	msg := make([]byte, 0, 4+len(sessionID)+len(phone))
	msg = binary.BigEndian.AppendUint32(msg, uint32(len(sessionID)))
	msg = append(msg, sessionID...)
	msg = append(msg, phoneKey(phone)...)
	return h.Secret.MAC("ussd-session/v2", msg)
}

// phoneKey is the caller's number as the keys of this package use it: in
// E.164 when it reads as a phone number, so that one handset is one caller
// however the gateway writes its number.
func phoneKey(phone string) string {
	if p, ok := sms.NormalisePhone(phone); ok {
		return p
	}
	return strings.TrimSpace(phone)
}

// guessKey is the in-memory rate limiter's key for receipts typed on one
// phone: an HMAC of the number under a key derived from the network secret
// (the limiter hashes it again under its daily key). It never leaves memory.
func (h *Handler) guessKey(phone string) netip.Addr {
	return sms.KeyAddr(h.Secret, "ussd-receipt", phoneKey(phone))
}

// bind is what a session keeps of the report its receipt opened: a keyed
// hash of the report's id under the session's own key, so the state names
// no report to whoever reads the table, and a later request of the session
// can only open that one report.
func (h *Handler) bind(idHash []byte, reportID string) []byte {
	return h.Secret.MAC("ussd-opened", append(append([]byte{}, idHash...), reportID...))
}

// checkKey is the key a session's state keeps the opened report's data key
// under: a MAC, under the process's memory-only key, of the session's key
// and the receipt typed in it. So the wrap opens only in this process, only
// for this caller's session, and only with the receipt that opened it; a
// request carrying anything else at the receipt's place cannot unwrap it and
// goes the slow way, through argon2id and the binding check.
func (h *Handler) checkKey(idHash []byte, r seal.Receipt) (*seal.Key, error) {
	msg := binary.BigEndian.AppendUint32(nil, uint32(len(idHash)))
	msg = append(append(msg, idHash...), r.String()...)
	return seal.KeyFromBytes(h.mem.MAC("ussd-check-key", msg))
}

// afterSaveError answers when the state could not be written: if another
// request of the session moved it meanwhile, with that request's screen;
// otherwise with an apology.
func (h *Handler) afterSaveError(t *turn, idHash []byte, err error) Response {
	if errors.Is(err, store.ErrConflict) {
		if raw, err := h.Sessions.USSDSession(t.ctx, idHash, h.Now()); err == nil {
			if st, err := decodeState(raw); err == nil {
				return t.show(st)
			}
		}
	}
	h.Log.ErrorContext(t.ctx, "ussd session not saved", "err", err)
	return h.failEnd(h.Lang, "ussd.error")
}

// busyEnd ends a request that ran out of time, most often waiting for
// argon2id while many check their reports at once: a clear screen the
// survivor can act on, rather than nothing when the gateway gives up.
func (h *Handler) busyEnd(ctx context.Context, l locale.Lang) Response {
	h.Log.WarnContext(ctx, "ussd request out of time; answered busy", "deadline", h.Deadline.String())
	return h.failEnd(l, "ussd.busy")
}

// failEnd ends the session with a message and the emergency numbers.
func (h *Handler) failEnd(l locale.Lang, key string) Response {
	p := h.Catalog.Printer(l)
	return finish(true, fill([]string{p.T(key)}, p.T("ussd.footer"), p.T("ussd.footer_short")))
}
