package sms

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/salama-ke/salama/internal/directory"
	"github.com/salama-ke/salama/internal/locale"
	"github.com/salama-ke/salama/internal/ratelimit"
	"github.com/salama-ke/salama/internal/seal"
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
	Help bool        // HELP, MSAADA or SAIDIA, or anything else we answer with how to ask
	Lang locale.Lang // the language of the keyword
	// Typed is what followed the keyword (a county, we hope); County is
	// the county it names, "" when none or more than one.
	Typed, County string
}

var keywords = map[string]locale.Lang{
	"help": locale.English, "msaada": locale.Kiswahili, "saidia": locale.Kiswahili,
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
// national lines; the second, when a county was named, the directory's best
// services there with a phone number.
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

// Responder answers inbound text messages.
type Responder struct {
	Sender   Sender
	Catalog  *locale.Catalog
	Services func(context.Context) ([]directory.Service, error)
	USSDCode string
	Lang     locale.Lang // for a text without a keyword
	Secret   *seal.NetworkSecret
	Log      *slog.Logger
	// limit bounds the answers one number gets: an inbound SMS costs the
	// sender little, each answer costs the network.
	limit *ratelimit.Limiter
}

// NewResponder returns a responder that answers each number at most 3 times
// in a burst, then once every 10 minutes.
func NewResponder(r Responder) *Responder {
	if r.Log == nil {
		r.Log = slog.Default()
	}
	if r.Lang == "" {
		r.Lang = locale.English
	}
	r.limit = ratelimit.New(ratelimit.Rule{Burst: 3, Every: 10 * time.Minute})
	return &r
}

// ServeHTTP is the inbound SMS callback. It answers 200 with an empty body
// to anything it read (the provider only needs to know it arrived), 400 to
// a form it could not read; the reply goes out as a new SMS.
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
	h.Answer(r.Context(), in)
	w.WriteHeader(http.StatusOK)
}

// Answer sends the help reply for one inbound message. Failures are logged
// without the number or the text; the sender gets nothing rather than
// something wrong.
func (h *Responder) Answer(ctx context.Context, in Inbound) {
	if ok, _ := h.limit.Allow(KeyAddr(h.Secret, "sms-inbound", in.From)); !ok {
		h.Log.InfoContext(ctx, "sms inbound not answered: too many from one number")
		return
	}
	k := ParseKeyword(h.Catalog, in.Text, h.Lang)
	var services []directory.Service
	if k.County != "" && h.Services != nil {
		var err error
		if services, err = h.Services(ctx); err != nil {
			h.Log.ErrorContext(ctx, "sms help: directory unavailable", "err", err)
		}
	}
	kind := "usage"
	if k.Help {
		kind = "help"
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	for _, msg := range HelpReply(h.Catalog.Printer(k.Lang), k, services, h.USSDCode) {
		if err := h.Sender.Send(ctx, in.From, msg); err != nil {
			h.Log.ErrorContext(ctx, "sms help reply not sent", "err", err)
			return
		}
	}
	h.Log.InfoContext(ctx, "sms help answered", "kind", kind, "county_named", k.County != "")
}
