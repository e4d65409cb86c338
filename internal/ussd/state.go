package ussd

import (
	"encoding/json"
	"errors"
	"slices"

	"github.com/salama-ke/salama/internal/report"

	"github.com/salama-ke/salama/internal/directory"
	"github.com/salama-ke/salama/internal/locale"
)

// screen names a menu position.
type screen string

// The screens. A report is: menu → whom → what → county → danger → help →
// contact → sent (the receipt), seven screens after the menu; the county
// screen takes a typed name or a quick pick, and only the full list and an
// ambiguous name add screens.
const (
	sMenu        screen = "menu"
	sWhom        screen = "whom"
	sWhat        screen = "what"
	sCounty      screen = "county"      // quick picks, or a typed name
	sCountyList  screen = "county_list" // all 47, eight a page
	sCountyPick  screen = "county_pick" // the counties a typed name matched
	sDanger      screen = "danger"
	sHelp        screen = "help"
	sContact     screen = "contact"
	sSendFailed  screen = "send_failed"
	sSent        screen = "sent" // END: the receipt and help now
	sCode        screen = "code" // type the receipt
	sStatus      screen = "status"
	sMessage     screen = "message" // the newest caseworker message, a page at a time
	sReply       screen = "reply"
	sReplyFailed screen = "reply_failed"
	sReplied     screen = "replied" // END
	sNumbers     screen = "numbers" // help numbers
	sNear        screen = "near"    // END: services in a county
	sBlocked     screen = "blocked" // END: too many wrong receipts
)

var screens = []screen{sMenu, sWhom, sWhat, sCounty, sCountyList, sCountyPick, sDanger, sHelp, sContact,
	sSendFailed, sSent, sCode, sStatus, sMessage, sReply, sReplyFailed, sReplied, sNumbers, sNear, sBlocked}

// final screens end the session (END). Their state is kept until it expires
// so that a gateway that sends the last request again gets the same screen.
func (s screen) final() bool {
	return s == sSent || s == sReplied || s == sNear || s == sBlocked
}

// The choices each screen offers, in the order of their numbers.
var (
	whomChoices    = []string{report.AboutMe, report.AboutChild, report.AboutAdult}
	whatChoices    = report.Categories()
	dangerChoices  = []string{"yes", "no"}
	helpChoices    = report.NeedAnswers()
	contactChoices = []string{"code", "phone"}
	// quickCounties are offered by number on the county screen: the
	// largest towns, where most reports of advertising and trafficking
	// come from. Every other county is typed or picked from the list.
	quickCounties = []string{"nairobi", "mombasa", "kisumu", "nakuru"}
)

// Flows that share the county screen.
const (
	flowReport = "report"
	flowHelp   = "help"
)

// answers are the structured answers of a report in progress.
type answers struct {
	About   string `json:"about,omitempty"`
	What    string `json:"what,omitempty"`
	County  string `json:"county,omitempty"` // a slug, "outside", or "notsay"
	Danger  string `json:"danger,omitempty"`
	Help    string `json:"help,omitempty"`
	Contact string `json:"contact,omitempty"`
}

// state is a session's position, stored as JSON. It holds no receipt, no
// phone number and nothing typed in free text: CodeAt and ReplyFrom/ReplyTo
// say where in the gateway's inputs those are, and they are read from there.
// An opened report's data key is kept only wrapped (Key, Ref), under a key
// no one with the database can compute (Handler.checkKey).
type state struct {
	V      int         `json:"v"`
	Lang   locale.Lang `json:"lang"`
	Screen screen      `json:"screen"`
	// Seen is how many of the gateway's inputs have been acted on.
	Seen    int      `json:"seen"`
	Flow    string   `json:"flow,omitempty"`
	Page    int      `json:"page,omitempty"`
	Matches []string `json:"matches,omitempty"` // county slugs a typed name matched
	Problem string   `json:"problem,omitempty"` // catalog key shown above the screen
	Report  answers  `json:"report,omitzero"`
	// Nonce, with the gateway's session id, seeds the report's receipt,
	// so the same report is never stored twice.
	Nonce []byte `json:"nonce,omitempty"`
	// CodeAt and CodeTo are the positions (from 1, inclusive) of the
	// inputs holding the receipt: more than one when it was typed with
	// '*' between the digits. CodeTo 0 means CodeAt.
	CodeAt int `json:"code_at,omitempty"`
	CodeTo int `json:"code_to,omitempty"`
	// Bound is a keyed hash of the report the receipt at CodeAt opened
	// (Handler.bind): later requests open that report or none.
	Bound []byte `json:"bound,omitempty"`
	// Key is the opened report's data key wrapped under Handler.checkKey,
	// and Ref the report's id sealed under the same key, so that later
	// screens read the report without another argon2id evaluation.
	Key []byte `json:"key,omitempty"`
	Ref []byte `json:"ref,omitempty"`
	// ReplyFrom and ReplyTo are the positions (from 1, inclusive) of the
	// inputs holding a reply that could not be stored, to try again.
	ReplyFrom int    `json:"reply_from,omitempty"`
	ReplyTo   int    `json:"reply_to,omitempty"`
	Near      string `json:"near,omitempty"` // county whose services to show
}

const stateVersion = 1

// maxWrap bounds the sealed fields of a state: a wrapped data key or a
// report id is well under 200 bytes.
const maxWrap = 256

func newState(l locale.Lang) *state {
	return &state{V: stateVersion, Lang: l, Screen: sMenu}
}

// restart is the main menu, in the same language, after inputs the state
// cannot follow.
func restart(l locale.Lang, seen int) *state {
	st := newState(l)
	st.Seen = seen
	st.Problem = "ussd.problem.restart"
	return st
}

func (st *state) encode() string {
	b, err := json.Marshal(st)
	if err != nil {
		panic(err) // a struct of strings and ints always marshals
	}
	return string(b)
}

var errBadState = errors.New("ussd: stored state unreadable")

// decodeState reads a stored state and refuses anything this version would
// not have written.
func decodeState(s string) (*state, error) {
	var st state
	if err := json.Unmarshal([]byte(s), &st); err != nil {
		return nil, errBadState
	}
	ok := st.V == stateVersion && slices.Contains(screens, st.Screen) && st.Seen >= 0 && st.Page >= 0 &&
		st.CodeAt >= 0 && st.CodeAt <= st.Seen && st.CodeTo >= 0 && st.CodeTo <= st.Seen && (st.CodeTo == 0 || st.CodeTo >= st.CodeAt) && (len(st.Bound) == 0 || len(st.Bound) == 32) &&
		len(st.Key) <= maxWrap && len(st.Ref) <= maxWrap && (len(st.Key) == 0 || len(st.Bound) == 32) && st.ReplyFrom >= 0 && st.ReplyTo <= st.Seen && st.ReplyFrom <= st.ReplyTo &&
		len(st.Matches) <= 47 && (st.Flow == "" || st.Flow == flowReport || st.Flow == flowHelp)
	if _, known := locale.ParseLang(string(st.Lang)); !known {
		ok = false
	}
	for _, m := range append(slices.Clone(st.Matches), st.Near) {
		if _, isCounty := directory.CountyBySlug(m); m != "" && !isCounty {
			ok = false
		}
	}
	a := st.Report
	ok = ok && oneOf(a.About, whomChoices) && oneOf(a.What, whatChoices) && oneOf(a.Danger, dangerChoices) &&
		oneOf(a.Help, helpChoices) && oneOf(a.Contact, contactChoices)
	if _, isCounty := directory.CountyBySlug(a.County); a.County != "" && !isCounty && a.County != "outside" && a.County != "notsay" {
		ok = false
	}
	if !ok {
		return nil, errBadState
	}
	return &st, nil
}

func oneOf(v string, choices []string) bool { return v == "" || slices.Contains(choices, v) }

// back moves one screen back, as "0" asks.
func (st *state) back() {
	st.Matches = nil
	switch st.Screen {
	case sWhom, sCode, sNumbers:
		st.toMenu()
	case sWhat:
		st.Screen = sWhom
	case sCounty:
		if st.Flow == flowHelp {
			st.Screen = sNumbers
		} else {
			st.Screen = sWhat
		}
	case sCountyList:
		if st.Page > 0 {
			st.Page--
		} else {
			st.Screen = sCounty
		}
	case sCountyPick:
		st.Screen = sCounty
	case sDanger:
		st.Screen = sCounty
	case sHelp:
		st.Screen = sDanger
	case sContact:
		st.Screen = sHelp
	case sSendFailed:
		st.Screen = sContact
	case sStatus:
		st.CodeAt, st.CodeTo, st.Bound, st.Key, st.Ref = 0, 0, nil, nil, nil
		st.Screen = sCode
	case sMessage:
		if st.Page > 0 {
			st.Page--
		} else {
			st.Screen = sStatus
		}
	case sReply, sReplyFailed:
		st.ReplyFrom, st.ReplyTo = 0, 0
		st.Screen = sStatus
	}
}

// toMenu forgets everything but the language and the count of inputs.
func (st *state) toMenu() {
	*st = state{V: stateVersion, Lang: st.Lang, Screen: sMenu, Seen: st.Seen}
}
