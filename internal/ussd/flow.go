package ussd

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"errors"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/salama-ke/salama/internal/locale"
	"github.com/salama-ke/salama/internal/reporting"
	"github.com/salama-ke/salama/internal/seal"
	"github.com/salama-ke/salama/internal/sms"
	"github.com/salama-ke/salama/internal/store"
)

// turn is one request being answered.
type turn struct {
	h      *Handler
	ctx    context.Context
	req    Request
	inputs []string
	// opened is the report opened with the receipt during this request,
	// so the step and the screen after it cost one argon2id evaluation.
	opened Opened
	// idHash is the session's key (Handler.sessionKey).
	idHash []byte
	// busy is set when the request ran out of its deadline: it ends with
	// the busy screen and leaves the session's state as it was.
	busy bool
}

// overdue reports whether err is the request's deadline running out (most
// often in the argon2id queue), and marks the turn busy if so.
func (t *turn) overdue(err error) bool {
	if err != nil && errors.Is(err, context.DeadlineExceeded) {
		t.busy = true
	}
	return t.busy
}

// openReceipt opens a report with argon2id, waiting in the queue only as
// long as lets the evaluation end inside the request's deadline: an
// evaluation cannot be interrupted once it runs, so the wait ends one and a
// half recent evaluations before the deadline (at least a second after the
// request began).
func (t *turn) openReceipt(r seal.Receipt) (Opened, error) {
	ctx := t.ctx
	if dl, ok := ctx.Deadline(); ok {
		wait := time.Until(dl) - t.h.opens.estimate()*3/2
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, max(wait, time.Second))
		defer cancel()
	}
	t0 := time.Now()
	op, err := t.h.Reports.Open(ctx, r)
	if err == nil || errors.Is(err, reporting.ErrNoReport) {
		t.h.opens.add(time.Since(t0))
	}
	return op, err
}

func (t *turn) close() {
	if t.opened != nil {
		t.opened.Close()
		t.opened = nil
	}
}

func (t *turn) p(st *state) *locale.Printer { return t.h.Catalog.Printer(st.Lang) }

// step acts on one answer. at is the position (from 0) of the answer's
// first input.
func (t *turn) step(st *state, input string, at int) {
	in := strings.TrimSpace(input)
	switch {
	case in == "00":
		st.toMenu()
		return
	case in == "0" && st.Screen != sMenu:
		st.back()
		return
	}
	switch st.Screen {
	case sMenu:
		switch in {
		case "1":
			st.toMenu()
			st.Nonce = make([]byte, 16)
			if _, err := rand.Read(st.Nonce); err != nil {
				panic(err)
			}
			st.Flow, st.Screen = flowReport, sWhom
		case "2":
			st.toMenu()
			st.Screen = sCode
		case "3":
			st.toMenu()
			st.Screen = sNumbers
		case "4":
			st.Lang = otherLang(st.Lang)
		default:
			st.Problem = "ussd.problem.choice"
		}
	case sWhom:
		t.choose(st, in, whomChoices, &st.Report.About, sWhat)
	case sWhat:
		t.choose(st, in, whatChoices, &st.Report.What, sCounty)
	case sCounty:
		t.county(st, in)
	case sCountyList:
		t.countyList(st, in)
	case sCountyPick:
		switch n := number(in); {
		case n >= 1 && n <= len(st.Matches):
			t.pickCounty(st, st.Matches[n-1])
		case sms.HasLetter(in):
			t.county(st, in)
		default:
			st.Problem = "ussd.problem.choice"
		}
	case sDanger:
		t.choose(st, in, dangerChoices, &st.Report.Danger, sHelp)
	case sHelp:
		t.choose(st, in, helpChoices, &st.Report.Help, sContact)
	case sContact:
		// The report is stored when the receipt screen is shown, so
		// that a repeated request shows the same receipt.
		t.choose(st, in, contactChoices, &st.Report.Contact, sSent)
	case sSendFailed:
		if in == "1" {
			st.Screen = sSent
		} else {
			st.Problem = "ussd.problem.choice"
		}
	case sCode:
		t.code(st, in, at)
	case sStatus:
		switch in {
		case "1":
			st.Screen, st.Page = sMessage, 0
		case "2":
			st.Screen = sReply
		default:
			st.Problem = "ussd.problem.choice"
		}
	case sMessage:
		switch in {
		case "1":
			st.Page++ // the screen clamps it to the last page
		case "2":
			st.Screen, st.Page = sReply, 0
		default:
			st.Problem = "ussd.problem.choice"
		}
	case sReply:
		st.ReplyFrom, st.ReplyTo = at+1, st.Seen
		t.reply(st, input)
	case sReplyFailed:
		if in == "1" && st.ReplyFrom > 0 && st.ReplyTo <= len(t.inputs) {
			t.reply(st, strings.Join(t.inputs[st.ReplyFrom-1:st.ReplyTo], "*"))
		} else {
			st.Problem = "ussd.problem.choice"
		}
	case sNumbers:
		if in == "1" {
			st.Flow, st.Screen = flowHelp, sCounty
		} else {
			st.Problem = "ussd.problem.choice"
		}
	}
}

// walk acts on inputs that arrived at once with no session, one input an
// answer, from the menu: a deep code (*384*123*1*1#) starts the menu it
// names. It stops at an answer the screen does not take (that screen is
// shown, with the problem), and before the screens whose answer must be
// typed on them: a receipt or a reply (a dialled code stays in the phone's
// call history, where a receipt must never be), and how to be contacted
// (consent to an SMS is given on the screen that warns about it, and the
// answer sends the report). The rest of the inputs are not acted on.
func (t *turn) walk(st *state, inputs []string) {
	for i, in := range inputs {
		if st.Screen == sCode || st.Screen == sReply || st.Screen == sContact {
			break
		}
		st.Seen = i + 1
		st.Problem = ""
		t.step(st, in, i)
		if st.Problem != "" || st.Screen.final() || t.busy {
			break
		}
	}
	st.Seen = len(inputs)
}

// choose stores the numbered choice and moves to next, or asks again.
func (t *turn) choose(st *state, in string, choices []string, into *string, next screen) {
	n := number(in)
	if n < 1 || n > len(choices) {
		st.Problem = "ussd.problem.choice"
		return
	}
	*into = choices[n-1]
	st.Screen, st.Page = next, 0
}

// number reads a choice: one or two digits, nothing else.
func number(in string) int {
	if len(in) == 0 || len(in) > 2 {
		return 0
	}
	n := 0
	for _, r := range in {
		if r < '0' || r > '9' {
			return 0
		}
		n = n*10 + int(r-'0')
	}
	return n
}

func otherLang(l locale.Lang) locale.Lang {
	if l == locale.Kiswahili {
		return locale.English
	}
	return locale.Kiswahili
}

// county reads the county screen: a quick pick by number, or letters of a
// county's name.
func (t *turn) county(st *state, in string) {
	st.Screen = sCounty
	st.Matches = nil
	if sms.HasLetter(in) {
		if utf8.RuneCountInString(in) > maxChoice {
			st.Problem = "ussd.problem.no_county"
			return
		}
		m := sms.MatchCounties(t.h.Catalog, in)
		switch {
		case len(m) == 1:
			t.pickCounty(st, m[0])
		case len(m) == 0:
			st.Problem = "ussd.problem.no_county"
		case len(m) <= countyPage:
			// Offered in alphabetical order, like the list.
			slices.SortFunc(m, func(a, b string) int {
				return slices.Index(t.h.counties[st.Lang], a) - slices.Index(t.h.counties[st.Lang], b)
			})
			st.Matches, st.Screen = m, sCountyPick
		default:
			st.Problem = "ussd.problem.more_letters"
		}
		return
	}
	n := number(in)
	switch {
	case n >= 1 && n <= len(quickCounties):
		t.pickCounty(st, quickCounties[n-1])
	case n == len(quickCounties)+1:
		st.Screen, st.Page = sCountyList, 0
	case n == len(quickCounties)+2 && st.Flow == flowReport:
		t.pickCounty(st, "outside")
	case n == len(quickCounties)+3 && st.Flow == flowReport:
		t.pickCounty(st, "notsay")
	default:
		st.Problem = "ussd.problem.choice"
	}
}

// countyPage is how many counties a list screen shows.
const countyPage = 8

func (t *turn) countyList(st *state, in string) {
	if sms.HasLetter(in) {
		t.county(st, in)
		return
	}
	all := t.h.counties[st.Lang]
	pages := (len(all) + countyPage - 1) / countyPage
	st.Page = min(st.Page, pages-1)
	n := number(in)
	first := st.Page * countyPage
	switch {
	case n == 9 && st.Page < pages-1:
		st.Page++
	case n >= 1 && n <= countyPage && first+n-1 < len(all):
		t.pickCounty(st, all[first+n-1])
	default:
		st.Problem = "ussd.problem.choice"
	}
}

func (t *turn) pickCounty(st *state, slug string) {
	st.Matches, st.Page = nil, 0
	if st.Flow == flowHelp {
		st.Near, st.Screen = slug, sNear
		return
	}
	st.Report.County, st.Screen = slug, sDanger
}

// code reads a receipt typed to check a report.
func (t *turn) code(st *state, in string, at int) {
	r, err := parseCode(in)
	if err != nil {
		st.Problem = "ussd.problem.code_format"
		return
	}
	if ok, _ := t.h.guesses.Allow(t.h.guessKey(t.req.Phone)); !ok {
		st.Screen = sBlocked
		return
	}
	op, err := t.openReceipt(r)
	switch {
	case errors.Is(err, reporting.ErrNoReport):
		st.Problem = "ussd.problem.code_unknown"
		return
	case t.overdue(err):
		return
	case err != nil:
		t.h.Log.ErrorContext(t.ctx, "ussd check: report not opened", "err", err)
		st.Problem = "ussd.problem.try_later"
		return
	}
	t.opened = op
	st.CodeAt, st.CodeTo, st.Screen, st.Page = at+1, st.Seen, sStatus, 0
	st.Bound = t.h.bind(t.idHash, op.ReportID())
	t.keep(st, op, r)
}

// parseCode reads a receipt as typed on a phone: '*' between the digits
// (the gateway joins answers with it, and a survivor may use it to group
// them) counts as a space.
func parseCode(in string) (seal.Receipt, error) {
	return seal.ParseReceipt(strings.ReplaceAll(in, "*", " "))
}

// keep puts the opened report's data key, wrapped, into the state, so the
// session's later screens cost no argon2id. When that fails they simply
// take the slow way.
func (t *turn) keep(st *state, op Opened, r seal.Receipt) {
	st.Key, st.Ref = nil, nil
	k, err := t.h.checkKey(t.idHash, r)
	if err != nil {
		return
	}
	defer k.Destroy()
	wrapped, err := op.WrapKey(k)
	if err != nil {
		t.h.Log.WarnContext(t.ctx, "ussd check: report key not kept", "err", err)
		return
	}
	ref, err := k.SealSecret(refOwner, refName, []byte(op.ReportID()))
	if err != nil {
		t.h.Log.WarnContext(t.ctx, "ussd check: report key not kept", "err", err)
		return
	}
	st.Key, st.Ref = wrapped, ref
}

// The binding of a state's sealed report id (Key.SealSecret's owner and
// name): the key is already the session's own.
const (
	refOwner = "ussd-session"
	refName  = "report-id"
)

// resume opens the report from the state's wrapped key: ok is false when
// the state has none or it does not open (another process made it, or the
// receipt at CodeAt is not the one it was made with), and the caller goes
// the slow way.
func (t *turn) resume(st *state, r seal.Receipt) (op Opened, ok bool, err error) {
	if len(st.Key) == 0 || len(st.Ref) == 0 {
		return nil, false, nil
	}
	k, err := t.h.checkKey(t.idHash, r)
	if err != nil {
		return nil, false, nil
	}
	defer k.Destroy()
	id, err := k.OpenSecret(refOwner, refName, st.Ref)
	if err != nil || !hmac.Equal(t.h.bind(t.idHash, string(id)), st.Bound) {
		return nil, false, nil
	}
	op, err = t.h.Reports.Resume(t.ctx, string(id), k, st.Key)
	switch {
	case errors.Is(err, reporting.ErrNoSession):
		return nil, false, nil
	case err != nil:
		return nil, true, err
	}
	return op, true, nil
}

// open opens the report whose receipt is at st.CodeAt in the gateway's
// inputs, once per request. The receipt is read from the request again
// (it is never stored), so what is there now may not be what was checked:
// a gateway request can carry any text at that position, and repeating a
// request costs the caller nothing. Only the report the session was bound
// to when the receipt was typed opens; anything else counts as a guess
// against the phone's limit and ends the session with the same screen a
// wrong receipt gives, so this path tells a guesser nothing and is no
// faster than the code screen.
func (t *turn) open(st *state) (Opened, error) {
	if t.opened != nil {
		return t.opened, nil
	}
	to := max(st.CodeTo, st.CodeAt)
	if st.CodeAt < 1 || to > len(t.inputs) || len(st.Bound) == 0 {
		return nil, reporting.ErrNoReport
	}
	r, err := parseCode(strings.Join(t.inputs[st.CodeAt-1:to], "*"))
	if err != nil {
		t.h.guesses.Allow(t.h.guessKey(t.req.Phone))
		return nil, reporting.ErrNoReport
	}
	if op, ok, err := t.resume(st, r); ok {
		if err != nil {
			t.overdue(err)
			return nil, err
		}
		t.opened = op
		return op, nil
	}
	op, err := t.openReceipt(r)
	if errors.Is(err, reporting.ErrNoReport) || err == nil && !hmac.Equal(t.h.bind(t.idHash, op.ReportID()), st.Bound) {
		if op != nil {
			op.Close()
		}
		t.h.guesses.Allow(t.h.guessKey(t.req.Phone))
		return nil, reporting.ErrNoReport
	}
	if err != nil {
		t.overdue(err)
		return nil, err
	}
	t.opened = op
	// Kept again for the screens after this one: the state's wrap was
	// made by another process, or before a restart.
	t.keep(st, op, r)
	return op, nil
}

// reply stores the survivor's message to the caseworker.
func (t *turn) reply(st *state, text string) {
	text = strings.TrimSpace(text)
	switch {
	case text == "":
		st.Screen, st.Problem = sReply, "ussd.problem.empty"
		return
	case utf8.RuneCountInString(text) > reporting.MaxReply:
		st.Screen, st.Problem = sReply, "ussd.problem.too_long"
		return
	}
	op, err := t.open(st)
	if err == nil {
		err = op.Reply(t.ctx, text)
	}
	if t.overdue(err) {
		return
	}
	if err != nil {
		t.h.Log.ErrorContext(t.ctx, "ussd reply not stored", "err", err)
		st.Screen = sReplyFailed
		return
	}
	t.h.Log.InfoContext(t.ctx, "ussd reply stored")
	st.Screen = sReplied
}

// submit stores the report, or finds it stored by an earlier request of the
// session.
func (t *turn) submit(st *state) (*reporting.Submission, bool, error) {
	in := reporting.NewInput(reporting.KindReport)
	a := st.Report
	in.About, in.County, in.Danger = a.About, a.County, a.Danger
	if a.What != "" {
		in.What = []string{a.What}
	}
	if a.Help != "" {
		in.Help = []string{a.Help}
	}
	phoneOK := true
	if a.Contact == "phone" {
		// The one place the caller's number is used: the survivor chose
		// to be contacted on it. It is sealed into the report.
		if phone, ok := sms.NormalisePhone(t.req.Phone); ok {
			in.ContactPref, in.Phone = "phone", phone
		} else {
			phoneOK = false
		}
	}
	if len(st.Nonce) != 16 {
		return nil, phoneOK, errors.New("ussd: report without a nonce")
	}
	seed := append(append(append([]byte{}, st.Nonce...), 0), t.req.SessionID...)
	sub, err := t.h.Reports.SubmitOnce(t.ctx, in, seed)
	if err == nil && !sub.Again {
		t.h.Log.InfoContext(t.ctx, "ussd report stored", "channel", store.ChannelUSSD)
	}
	return sub, phoneOK, err
}
