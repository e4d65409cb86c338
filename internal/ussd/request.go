package ussd

import (
	"errors"
	"net/url"
	"strings"
	"unicode/utf8"
)

// Request is one callback from the gateway.
type Request struct {
	SessionID   string
	ServiceCode string // the code dialled, e.g. *384*123#
	Phone       string // the caller's number: used only with their consent
	Network     string
	// Text is every input of the session so far, joined by '*'; empty on
	// the first request.
	Text string
}

// Limits on a request. A screen takes at most 182 characters of input and
// a session lasts three minutes, so real requests are far below them.
const (
	maxBody      = 16 << 10
	maxText      = 8 << 10
	maxSessionID = 200
	maxInputs    = 400
	// maxChoice bounds an answer on a screen that expects a choice or a
	// county name: longer is an unknown choice, not a name.
	maxChoice = 40
)

// Errors of ParseRequest.
var (
	ErrNoSession = errors.New("ussd: request without a session id")
	ErrTooLong   = errors.New("ussd: request too long")
)

// ParseRequest reads the gateway's form. A missing session id or an
// oversized text is an error (the caller answers with an END screen); text
// that is not valid UTF-8 is repaired, and then simply matches no choice.
func ParseRequest(form url.Values) (Request, error) {
	r := Request{
		SessionID:   strings.TrimSpace(form.Get("sessionId")),
		ServiceCode: form.Get("serviceCode"),
		Phone:       strings.TrimSpace(form.Get("phoneNumber")),
		Network:     form.Get("networkCode"),
		Text:        form.Get("text"),
	}
	if r.SessionID == "" {
		return Request{}, ErrNoSession
	}
	if len(r.SessionID) > maxSessionID || len(r.Text) > maxText || strings.Count(r.Text, "*") >= maxInputs {
		return Request{}, ErrTooLong
	}
	if !utf8.ValidString(r.Text) {
		r.Text = strings.ToValidUTF8(r.Text, "\uFFFD")
	}
	return r, nil
}

// Inputs splits the text into the session's inputs, oldest first.
func (r Request) Inputs() []string {
	if r.Text == "" {
		return nil
	}
	return strings.Split(r.Text, "*")
}

// Response is one screen.
type Response struct {
	// End closes the session: the phone shows the screen until it is
	// dismissed, with no time limit (a CON screen times out in seconds),
	// so a receipt is always shown on an END screen.
	End  bool
	Text string
	// Clipped is set when the screen had to be cut to fit; a test fails on
	// it, production shows the cut screen rather than nothing.
	Clipped bool
}

// String is the screen as the gateway wants it: "CON …" or "END …".
func (r Response) String() string {
	if r.End {
		return "END " + r.Text
	}
	return "CON " + r.Text
}
