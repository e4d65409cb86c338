package sms

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/salama-ke/salama/internal/directory"
	"github.com/salama-ke/salama/internal/ids"
	"github.com/salama-ke/salama/internal/jobs"
	"github.com/salama-ke/salama/internal/locale"
	"github.com/salama-ke/salama/internal/ratelimit"
	"github.com/salama-ke/salama/internal/seal"
	"github.com/salama-ke/salama/internal/store"
)

// Inbound is a text message as Africa's Talking posts it to the callback.
type Inbound struct {
	From, To, Text, Date, ID, LinkID string
}

// Limits on an inbound callback.
const (
	maxInboundBody = 16 << 10
	maxInboundText = 1600 // ten concatenated SMS
)

// Errors of ParseInbound.
var (
	ErrNoSender = errors.New("sms: inbound message without a sender")
	ErrTooLong  = errors.New("sms: inbound message too long")
)

// ParseInbound reads the callback's form. The sender must be a phone
// number; the text is made valid UTF-8 and bounded.
func ParseInbound(form url.Values) (Inbound, error) {
	in := Inbound{From: strings.TrimSpace(form.Get("from")), To: form.Get("to"), Text: form.Get("text"),
		Date: form.Get("date"), ID: form.Get("id"), LinkID: form.Get("linkId")}
	from, ok := NormalisePhone(in.From)
	if !ok {
		return Inbound{}, ErrNoSender
	}
	in.From = from
	if len(in.Text) > 4*maxInboundText || utf8.RuneCountInString(in.Text) > maxInboundText {
		return Inbound{}, ErrTooLong
	}
	in.Text = strings.ToValidUTF8(in.Text, "\uFFFD")
	return in, nil
}

// Keyword is what an inbound text asks for.
type Keyword struct {
	Help bool // HELP, MSAADA or SAIDIA, or anything else we answer with how to ask
	// Stop is a text of just STOP or ACHA: no more nudges to this number.
	// Start is START or ANZA, which undoes it.
	Stop, Start bool
	Lang        locale.Lang // the language of the keyword
	// Typed is what followed the keyword (a county, we hope); County is
	// the county it names, "" when none or more than one.
	Typed, County string
}

var keywords = map[string]locale.Lang{
	"help": locale.English, "msaada": locale.Kiswahili, "saidia": locale.Kiswahili,
}

// stopWords end nudges to the number that sends one of them alone;
// startWords undo that.
var (
	stopWords  = map[string]locale.Lang{"stop": locale.English, "acha": locale.Kiswahili}
	startWords = map[string]locale.Lang{"start": locale.English, "anza": locale.Kiswahili}
)

// StopKey is how a number that texted STOP is kept (store.StopSMSTx): its
// blind index, never the number. phone is in E.164 (NormalisePhone).
func StopKey(secret *seal.NetworkSecret, phone string) []byte {
	return secret.BlindIndex("sms-stop", phone)
}

// StopReply is the confirmation of a STOP (stop true) or a START, in both
// languages, the keyword's first: the language of the number is not kept.
// It fits one SMS.
func StopReply(cat *locale.Catalog, first locale.Lang, stop bool) string {
	key := "sms.start.done"
	if stop {
		key = "sms.stop.done"
	}
	other := locale.Kiswahili
	if first == locale.Kiswahili {
		other = locale.English
	}
	return Plain(cat.Printer(first).T(key) + "\n" + cat.Printer(other).T(key))
}

// ParseKeyword reads "HELP", "Msaada nakuru", "help: Homa Bay" and the like.
// The first word is the keyword (case and punctuation do not matter); the
// rest may name a county. A text without a keyword is Help false, in
// fallback language def.
func ParseKeyword(cat *locale.Catalog, text string, def locale.Lang) Keyword {
	fields := strings.FieldsFunc(text, func(r rune) bool {
		return r == ' ' || r == '\n' || r == '\r' || r == '\t' || r == ',' || r == ':' || r == '.' || r == ';' || r == '!' || r == '\u00a0'
	})
	k := Keyword{Lang: def}
	if len(fields) == 0 {
		return k
	}
	if len(fields) == 1 {
		// Only a text of the one word: "acha" or "stop" may begin a
		// sentence that means something else.
		if l, ok := stopWords[letters(fields[0])]; ok {
			k.Stop, k.Lang = true, l
			return k
		}
		if l, ok := startWords[letters(fields[0])]; ok {
			k.Start, k.Lang = true, l
			return k
		}
	}
	lang, ok := keywords[letters(fields[0])]
	if !ok {
		return k
	}
	k.Help, k.Lang = true, lang
	if len(fields) > 1 {
		k.Typed = Truncate(strings.Join(fields[1:], " "), 40)
		if m := MatchCounties(cat, k.Typed); len(m) == 1 {
			k.County = m[0]
		}
	}
	return k
}

// HelpReply is the answer to a help request: one or two SMS, each within
// one segment of the GSM 7-bit alphabet. The first always carries the
// national lines and, when the network has one, the USSD code to report on
// (the catalog's words leave room for a code of 12 characters,
// *384*123456#; TestHelpReplyEveryCounty holds them to it); the second,
// when a county was named, the directory's best services there with a
// phone number.
func HelpReply(p *locale.Printer, k Keyword, services []directory.Service, ussdCode string) []string {
	first := p.T("sms.help.national")
	switch {
	case !k.Help:
		first = p.T("sms.help.usage")
	case k.Typed != "" && k.County == "":
		first = p.T("sms.help.no_county")
	}
	if ussdCode != "" {
		first = appendFit(first, p.T("sms.help.report", ussdCode))
	}
	if k.County == "" {
		if k.Help && k.Typed == "" {
			first = appendFit(first, p.T("sms.help.county_hint"))
		}
		return []string{Plain(first)}
	}
	name := p.T(directory.CountyKey(k.County))
	var lines []string
	for _, s := range directory.Match(services, directory.Query{County: k.County}) {
		phone := FirstNumber(s.Channels.Phone)
		if phone == "" || strings.HasPrefix(s.ID, "national.") {
			continue
		}
		lines = append(lines, Truncate(Plain(s.Name), 40)+" "+phone)
	}
	second := p.T("sms.help.near", name)
	if len(lines) == 0 {
		second = p.T("sms.help.near_none", name)
	}
	for _, l := range lines {
		next := second + "\n" + l
		if utf8.RuneCountInString(Plain(next)) > MaxSingle {
			break
		}
		second = next
	}
	return []string{Plain(first), Plain(second)}
}

// appendFit adds line to s on a new line if the result fits one SMS.
func appendFit(s, line string) string {
	if utf8.RuneCountInString(Plain(s+"\n"+line)) <= MaxSingle {
		return s + "\n" + line
	}
	return s
}

// FirstNumber is the first phone number of a service's "phone" field, which
// may list several ("0700 000 001 / 0700 000 002").
func FirstNumber(s string) string {
	s, _, _ = strings.Cut(s, ",")
	s, _, _ = strings.Cut(s, "/")
	s, _, _ = strings.Cut(s, ";")
	return strings.TrimSpace(Plain(s))
}

// Responder answers inbound text messages. An answer is durable: the
// reply SMS are jobs (JobReply), queued in one transaction with the record
// of the message's provider id, so that a callback the provider posts again
// (it did not hear our 200) is answered once, and a reply the provider
// could not take at once is retried until ReplyGiveUp. The number and the
// text travel sealed in the job's payload, erased when the job ends.
type Responder struct {
	Store    *store.Store
	Sender   Sender
	Catalog  *locale.Catalog
	Services func(context.Context) ([]directory.Service, error)
	USSDCode string
	Lang     locale.Lang // for a text without a keyword
	Secret   *seal.NetworkSecret
	Log      *slog.Logger
	Now      func() time.Time
	// limit bounds the answers one number gets: an inbound SMS costs the
	// sender little, each answer costs the network.
	limit *ratelimit.Limiter
}

// The reply's job, and how long a provider id is remembered.
const (
	JobReply = "sms.reply"
	// ReplyGiveUp is how long a help reply is retried: help numbers that
	// arrive much later than asked for confuse more than they help.
	ReplyGiveUp = 6 * time.Hour
	// InboundIDTTL is how long an inbound message's provider id is kept
	// (as a keyed hash) to recognise it posted again. Providers retry a
	// callback for minutes, not days.
	InboundIDTTL = 7 * 24 * time.Hour
)

// NewResponder returns a responder that answers each number at most 3 times
// in a burst, then once every 10 minutes.
func NewResponder(r Responder) *Responder {
	if r.Log == nil {
		r.Log = slog.Default()
	}
	if r.Lang == "" {
		r.Lang = locale.English
	}
	if r.Now == nil {
		r.Now = time.Now
	}
	r.limit = ratelimit.New(ratelimit.Rule{Burst: 3, Every: 10 * time.Minute})
	return &r
}

// ServeHTTP is the inbound SMS callback. It answers 200 with an empty body
// to anything it read (the provider only needs to know it arrived), 400 to
// a form it could not read, and 503 when the reply could not be queued, so
// that the provider posts it again; the reply goes out as a new SMS.
func (h *Responder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxInboundBody)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "unreadable form", http.StatusBadRequest)
		return
	}
	in, err := ParseInbound(r.PostForm)
	if err != nil {
		h.Log.InfoContext(r.Context(), "sms inbound ignored", "reason", err.Error())
		w.WriteHeader(http.StatusOK)
		return
	}
	if err := h.Answer(r.Context(), in); err != nil {
		h.Log.ErrorContext(r.Context(), "sms help reply not queued", "err", err)
		http.Error(w, "try again", http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// Answer queues the help reply to one inbound message. A message whose
// provider id was answered before gets nothing more. It returns an error
// only when the reply could not be queued; the sender then gets nothing
// rather than something wrong, and the provider may post again.
func (h *Responder) Answer(ctx context.Context, in Inbound) error {
	var idHash []byte
	if in.ID != "" {
		idHash = h.Secret.MAC("sms-inbound-id", []byte(in.ID))
	}
	k := ParseKeyword(h.Catalog, in.Text, h.Lang)
	if k.Stop || k.Start {
		return h.stopOrStart(ctx, in, idHash, k)
	}
	var services []directory.Service
	if k.County != "" && h.Services != nil {
		var err error
		if services, err = h.Services(ctx); err != nil {
			h.Log.ErrorContext(ctx, "sms help: directory unavailable", "err", err)
		}
	}
	msgs := HelpReply(h.Catalog.Printer(k.Lang), k, services, h.USSDCode)
	now := h.Now().UTC()
	var again, limited bool
	err := h.Store.Tx(ctx, func(tx *sql.Tx) error {
		limited = false
		var err error
		if again, err = seenBefore(ctx, tx, idHash, now); err != nil || again {
			return err
		}
		if ok, _ := h.limit.Allow(KeyAddr(h.Secret, "sms-inbound", in.From)); !ok {
			limited = true
			return nil // the id is remembered: it was answered, with silence
		}
		for i, m := range msgs {
			key := ""
			if idHash != nil {
				key = fmt.Sprintf("%s%x:%d", replyJobPrefix, idHash[:16], i)
			}
			// One job per SMS, so that a retry never sends one twice;
			// a second apart, so that they arrive in order.
			if err := queueReply(ctx, tx, h.Secret, in.From, m, key, now.Add(time.Duration(i)*time.Second), now); err != nil {
				return err
			}
		}
		return nil
	})
	switch {
	case err != nil:
		return err
	case again:
		h.Log.InfoContext(ctx, "sms inbound ignored", "reason", "posted again; answered already")
	case limited:
		h.Log.InfoContext(ctx, "sms inbound not answered: too many from one number")
	default:
		kind := "usage"
		if k.Help {
			kind = "help"
		}
		h.Log.InfoContext(ctx, "sms help queued", "kind", kind, "county_named", k.County != "", "messages", len(msgs))
	}
	return nil
}

// stopOrStart honours STOP (no more nudges to the number) or START. The
// number is kept by its blind index only. It is confirmed once: a STOP from
// a number already stopped, or a START from one that is not, changes
// nothing and gets no answer, so that a number cannot be made to receive
// SMS by texting STOP again and again.
func (h *Responder) stopOrStart(ctx context.Context, in Inbound, idHash []byte, k Keyword) error {
	key := StopKey(h.Secret, in.From)
	now := h.Now().UTC()
	var changed, again, limited bool
	err := h.Store.Tx(ctx, func(tx *sql.Tx) error {
		changed, limited = false, false
		var err error
		if again, err = seenBefore(ctx, tx, idHash, now); err != nil || again {
			return err
		}
		if k.Stop {
			changed, err = store.StopSMSTx(ctx, tx, key, now)
		} else {
			changed, err = store.StartSMSTx(ctx, tx, key)
		}
		if err != nil || !changed {
			return err
		}
		if ok, _ := h.limit.Allow(KeyAddr(h.Secret, "sms-inbound", in.From)); !ok {
			limited = true
			return nil // honoured all the same; only the confirmation is left out
		}
		jobKey := ""
		if idHash != nil {
			jobKey = fmt.Sprintf("%s%x:0", replyJobPrefix, idHash[:16])
		}
		return queueReply(ctx, tx, h.Secret, in.From, StopReply(h.Catalog, k.Lang, k.Stop), jobKey, now, now)
	})
	if err != nil {
		return err
	}
	what := "start"
	if k.Stop {
		what = "stop"
	}
	h.Log.InfoContext(ctx, "sms "+what, "changed", changed, "posted_again", again, "confirmation_limited", limited)
	return nil
}

// replyJobPrefix starts a reply job's unique key; the rest is the keyed
// hash of the provider's id and the message's place in the answer.
const replyJobPrefix = "sms.reply:"

// purposeReply names the sealing of a reply's number and text.
const purposeReply = "sms-reply"

// replyPayload is a reply job's payload: an id, and the number and text
// sealed to it.
type replyPayload struct {
	ID     string `json:"id"`
	Sealed []byte `json:"sealed"`
}

func queueReply(ctx context.Context, tx *sql.Tx, secret *seal.NetworkSecret, to, msg, key string, at, now time.Time) error {
	id := ids.New()
	sealed, err := secret.Seal(purposeReply, id, []byte(to+"\n"+msg))
	if err != nil {
		return err
	}
	payload, err := json.Marshal(replyPayload{ID: id, Sealed: sealed})
	if err != nil {
		return err
	}
	_, err = store.EnqueueJobTx(ctx, tx, store.NewJob{Kind: JobReply, Payload: payload, RunAt: at, UniqueKey: key}, now)
	return err
}

// Register adds the reply's job to q.
func (h *Responder) Register(q *jobs.Queue) {
	p := MessagePolicy
	p.GiveUpAfter = ReplyGiveUp
	p.OnFail = func(ctx context.Context, _ *jobs.Job, _ string) {
		h.Log.ErrorContext(ctx, "sms help reply given up", "after", ReplyGiveUp.String())
	}
	q.HandleWith(JobReply, h.send, p)
}

// send is the reply job.
func (h *Responder) send(ctx context.Context, j *jobs.Job) error {
	var pl replyPayload
	if err := json.Unmarshal(j.Payload, &pl); err != nil || pl.ID == "" {
		return jobs.Permanent(errors.New("sms reply: unreadable payload"))
	}
	b, err := h.Secret.Open(purposeReply, pl.ID, pl.Sealed)
	if err != nil {
		return jobs.Permanent(errors.New("sms reply: the payload does not open with this network secret"))
	}
	defer clear(b)
	to, msg, ok := strings.Cut(string(b), "\n")
	if !ok {
		return jobs.Permanent(errors.New("sms reply: unreadable payload"))
	}
	sctx, cancel := context.WithTimeout(ctx, sendTimeout)
	defer cancel()
	if err := h.Sender.Send(sctx, to, msg); err != nil {
		if errors.Is(err, ErrRejected) {
			return jobs.Permanent(err)
		}
		return err
	}
	h.Log.InfoContext(ctx, "sms help reply sent")
	return nil
}

// seenBefore records inside tx that the gateway's message id was answered,
// and reports whether it had been already: the gateway posts a message
// again when it did not hear our 200. A message without an id (idHash nil)
// is never seen before.
func seenBefore(ctx context.Context, tx *sql.Tx, idHash []byte, now time.Time) (bool, error) {
	if idHash == nil {
		return false, nil
	}
	fresh, err := store.MarkInboundSeenTx(ctx, tx, idHash, now, now.Add(InboundIDTTL))
	if err != nil {
		return false, err
	}
	return !fresh, nil
}
