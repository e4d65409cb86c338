package sms

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	"github.com/salama-ke/salama/internal/ratelimit"
	"github.com/salama-ke/salama/internal/seal"
)

// DefaultNudge is the nudge in both languages, because the survivor's
// language is not kept with their report. {ussd} is the network's USSD code.
// It says nothing about what the message is or who sent it.
const DefaultNudge = "You have a new message. Dial {ussd} and choose 2. / Una ujumbe mpya. Piga {ussd} uchague 2."

// DefaultNudgeQuiet is the least time between two nudges to one number: a
// caseworker who writes three times in an hour sends one SMS, not three that
// a person sharing the phone would notice.
const DefaultNudgeQuiet = 6 * time.Hour

// Nudger tells a survivor who chose SMS contact that a caseworker wrote. It
// takes a phone number and nothing else, so no receipt, case reference or
// word of the conversation can ever go into the SMS: the text is the
// network's wording, fixed at start.
//
// A nil *Nudger sends nothing and returns nil, so callers need not check
// whether SMS is configured.
type Nudger struct {
	sender Sender
	text   string
	quiet  *ratelimit.Limiter
	secret *seal.NetworkSecret
	log    *slog.Logger
}

// NudgeConfig configures a Nudger.
type NudgeConfig struct {
	Sender Sender
	// Wording is the message; "{ussd}" is replaced by USSDCode. Empty
	// means DefaultNudge. It must fit one SMS in the GSM 7-bit alphabet.
	Wording  string
	USSDCode string
	// Quiet is the least time between two nudges to one number; zero means
	// DefaultNudgeQuiet.
	Quiet  time.Duration
	Secret *seal.NetworkSecret
	Log    *slog.Logger
}

// NewNudger checks the wording and returns a Nudger.
func NewNudger(c NudgeConfig) (*Nudger, error) {
	if c.Sender == nil || c.Secret == nil {
		return nil, errors.New("sms: a nudger needs a sender and the network secret")
	}
	w := c.Wording
	if w == "" {
		w = DefaultNudge
	}
	if strings.Contains(w, "{ussd}") && strings.TrimSpace(c.USSDCode) == "" {
		return nil, errors.New("sms: the nudge wording uses {ussd} but no USSD code is set (--ussd-code)")
	}
	text := strings.TrimSpace(strings.ReplaceAll(w, "{ussd}", strings.TrimSpace(c.USSDCode)))
	switch {
	case text == "":
		return nil, errors.New("sms: the nudge wording is empty")
	case !IsPlain(text):
		return nil, errors.New("sms: the nudge wording must use only the GSM 7-bit alphabet (plain letters, digits and punctuation), or feature phones may show boxes")
	case len([]rune(text)) > MaxSingle:
		return nil, fmt.Errorf("sms: the nudge wording is %d characters; one SMS holds %d", len([]rune(text)), MaxSingle)
	case hasLongDigitRun(text, 10):
		return nil, errors.New("sms: the nudge wording must not contain a long number (it could be taken for a report code)")
	}
	quiet := c.Quiet
	if quiet == 0 {
		quiet = DefaultNudgeQuiet
	}
	log := c.Log
	if log == nil {
		log = slog.Default()
	}
	return &Nudger{sender: c.Sender, text: text, secret: c.Secret, log: log,
		quiet: ratelimit.New(ratelimit.Rule{Burst: 1, Every: quiet})}, nil
}

// Text is the nudge exactly as it is sent.
func (n *Nudger) Text() string {
	if n == nil {
		return ""
	}
	return n.text
}

// ErrBadNumber means the number cannot be read as a mobile number.
var ErrBadNumber = errors.New("sms: not a mobile number")

// Nudge sends the nudge to phone (as the survivor typed it, or E.164). A
// second nudge to the same number within the quiet time is skipped and
// counts as sent: the survivor has one nudge waiting already.
func (n *Nudger) Nudge(ctx context.Context, phone string) error {
	if n == nil {
		return nil
	}
	to, ok := NormalisePhone(phone)
	if !ok {
		return ErrBadNumber
	}
	if ok, _ := n.quiet.Allow(KeyAddr(n.secret, "sms-nudge", to)); !ok {
		n.log.DebugContext(ctx, "sms nudge skipped: one was sent recently")
		return nil
	}
	if err := n.sender.Send(ctx, to, n.text); err != nil {
		return err
	}
	return nil
}

// KeyAddr turns a secret value (a phone number) into an address-shaped key
// for ratelimit, which knows only addresses: the first 16 bytes of its MAC
// under the network secret, as an IPv6 address. The limiter hashes that again
// under its daily in-memory key and masks it to /64, keeping 64 bits of the
// MAC: enough to keep numbers apart, and nothing that names one.
func KeyAddr(secret *seal.NetworkSecret, purpose, value string) netip.Addr {
	var b [16]byte
	copy(b[:], secret.MAC(purpose, []byte(value)))
	b[0] = 0x20 // a global unicast address, never an IPv4-mapped one
	return netip.AddrFrom16(b)
}

func hasLongDigitRun(s string, n int) bool {
	run := 0
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			run++
			if run >= n {
				return true
			}
		case r == ' ' || r == '-' || r == '.':
			// receipts are written in groups
		default:
			run = 0
		}
	}
	return false
}
