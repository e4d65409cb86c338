package ussd

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/salama-ke/salama/internal/report"

	"github.com/salama-ke/salama/internal/directory"
	"github.com/salama-ke/salama/internal/locale"
	"github.com/salama-ke/salama/internal/reporting"
	"github.com/salama-ke/salama/internal/sms"
)

// maxScreen is the longest screen, "CON " or "END " included. Gateways allow
// 182 characters; 160 is what every handset shows without cutting.
const maxScreen = sms.MaxSingle

const prefixLen = len("CON ")

func textLen(lines []string) int {
	n := prefixLen
	for i, l := range lines {
		if i > 0 {
			n++
		}
		n += utf8.RuneCountInString(l)
	}
	return n
}

// add appends the first of alts that keeps the screen within maxScreen.
func add(lines []string, alts ...string) []string {
	for _, a := range alts {
		if textLen(append(lines, a)) <= maxScreen {
			return append(lines, a)
		}
	}
	return lines
}

// fill is add for one line, then another, and so on, each kept if it fits;
// a pair of alternatives is written as the second argument to add.
func fill(lines []string, first string, alts ...string) []string {
	return add(lines, append([]string{first}, alts...)...)
}

// finish makes the response, cutting a screen that is too long (a defect the
// tests catch) rather than sending one the phone would refuse.
func finish(end bool, lines []string) Response {
	text := sms.ASCII(strings.Join(lines, "\n"))
	r := Response{End: end, Text: text}
	if utf8.RuneCountInString(text)+prefixLen > maxScreen {
		r.Text, r.Clipped = string([]rune(text)[:maxScreen-prefixLen]), true
	}
	return r
}

// eastAfrica is the time zone survivors read times in (UTC+3, no DST).
var eastAfrica = time.FixedZone("EAT", 3*60*60)

// menuScreen is a question with numbered options and "0 Back".
type menuScreen struct {
	title   string
	options []string // already numbered
	foot    []string
	noBack  bool
}

// con renders a question screen: the title, the options, then "0 Back"
// (with "00 Menu" when it fits). A problem with the last answer goes above
// the title; when the screen is too full for both, the problem takes the
// title's place (the survivor has just read the question), and only when
// even that does not fit is the screen shown again unchanged.
func (t *turn) con(st *state, m menuScreen) Response {
	p := t.p(st)
	body := append(slices.Clone(m.options), m.foot...)
	build := func(title []string, backs ...string) []string {
		lines := append(slices.Clone(title), body...)
		if !m.noBack {
			lines = add(lines, backs...)
		}
		return lines
	}
	full := build([]string{m.title}, p.T("ussd.back_menu"), p.T("ussd.back"))
	if st.Problem == "" {
		return finish(false, full)
	}
	problem := p.T(st.Problem)
	for _, lines := range [][]string{
		build([]string{problem, m.title}, p.T("ussd.back_menu")),
		build([]string{problem, m.title}, p.T("ussd.back")),
		build([]string{problem}, p.T("ussd.back_menu"), p.T("ussd.back")),
	} {
		if textLen(lines) <= maxScreen && (m.noBack || slices.Contains(lines, p.T("ussd.back")) || slices.Contains(lines, p.T("ussd.back_menu"))) {
			return finish(false, lines)
		}
	}
	return finish(false, full)
}

func numbered(p *locale.Printer, keys ...string) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = fmt.Sprintf("%d %s", i+1, p.T(k))
	}
	return out
}

func keys(prefix string, choices []string) []string {
	out := make([]string, len(choices))
	for i, c := range choices {
		out[i] = prefix + c
	}
	return out
}

// show renders the session's screen. It may move the state on when what it
// shows failed (a report that could not be stored shows "try again").
func (t *turn) show(st *state) Response {
	p := t.p(st)
	switch st.Screen {
	case sMenu:
		opts := numbered(p, "ussd.menu.report", "ussd.menu.check", "ussd.menu.numbers")
		opts = append(opts, "4 "+otherLang(st.Lang).Name())
		return t.con(st, menuScreen{title: p.T("ussd.menu.title"), options: opts, foot: []string{p.T("ussd.menu.danger")}, noBack: true})
	case sWhom:
		return t.con(st, menuScreen{title: p.T("ussd.whom.title"), options: numbered(p, keys("ussd.whom.", whomChoices)...)})
	case sWhat:
		return t.con(st, menuScreen{title: p.T("ussd.what.title"), options: numbered(p, keys("ussd.what.", whatChoices)...)})
	case sCounty:
		return t.con(st, t.countyScreen(st))
	case sCountyList:
		return t.con(st, t.countyListScreen(st))
	case sCountyPick:
		var names []string
		for _, slug := range st.Matches {
			names = append(names, p.T(directory.CountyKey(slug)))
		}
		return t.con(st, menuScreen{title: p.T("ussd.county.which"), options: numberedText(names)})
	case sDanger:
		about := st.Report.About
		if about == "" {
			about = report.AboutMe
		}
		return t.con(st, menuScreen{title: p.T("ussd.danger." + about), options: numbered(p, "ussd.yes", "ussd.no")})
	case sHelp:
		return t.con(st, menuScreen{title: p.T("ussd.help.title"), options: numbered(p, keys("ussd.help.", helpChoices)...)})
	case sContact:
		return t.con(st, menuScreen{title: p.T("ussd.contact.title"), options: numbered(p, "ussd.contact.code", "ussd.contact.phone"),
			foot: []string{p.T("ussd.contact.note")}})
	case sSendFailed:
		return t.con(st, menuScreen{title: p.T("ussd.send_failed"), options: numbered(p, "ussd.try_again")})
	case sSent:
		return t.sent(st)
	case sCode:
		return t.con(st, menuScreen{title: p.T("ussd.code.title")})
	case sStatus, sMessage:
		return t.status(st)
	case sReply:
		return t.con(st, menuScreen{title: p.T("ussd.reply.title")})
	case sReplyFailed:
		return t.con(st, menuScreen{title: p.T("ussd.reply_failed"), options: numbered(p, "ussd.try_again")})
	case sReplied:
		return finish(true, fill([]string{p.T("ussd.replied")}, p.T("ussd.footer"), p.T("ussd.footer_short")))
	case sNumbers:
		return t.con(st, menuScreen{title: p.T("ussd.numbers.title"),
			options: []string{p.T("ussd.numbers.police"), p.T("ussd.numbers.gbv"), p.T("ussd.numbers.child"), "1 " + p.T("ussd.numbers.near")}})
	case sNear:
		return t.near(st)
	case sBlocked:
		return finish(true, fill([]string{p.T("ussd.blocked")}, p.T("ussd.footer"), p.T("ussd.footer_short")))
	}
	// decodeState admits only known screens.
	return t.h.failEnd(st.Lang, "ussd.error")
}

func numberedText(items []string) []string {
	out := make([]string, len(items))
	for i, s := range items {
		out[i] = fmt.Sprintf("%d %s", i+1, s)
	}
	return out
}

func (t *turn) countyScreen(st *state) menuScreen {
	p := t.p(st)
	var opts []string
	for _, slug := range quickCounties {
		opts = append(opts, p.T(directory.CountyKey(slug)))
	}
	opts = append(opts, p.T("ussd.county.list"))
	if st.Flow == flowReport {
		opts = append(opts, p.T("ussd.county.outside"), p.T("ussd.county.notsay"))
	}
	return menuScreen{title: p.T("ussd.county.title"), options: numberedText(opts)}
}

func (t *turn) countyListScreen(st *state) menuScreen {
	p := t.p(st)
	all := t.h.counties[st.Lang]
	pages := (len(all) + countyPage - 1) / countyPage
	st.Page = min(st.Page, pages-1)
	first := st.Page * countyPage
	var names []string
	for _, slug := range all[first:min(first+countyPage, len(all))] {
		names = append(names, p.T(directory.CountyKey(slug)))
	}
	opts := numberedText(names)
	if st.Page < pages-1 {
		opts = append(opts, "9 "+p.T("ussd.more"))
	}
	return menuScreen{title: p.T("ussd.county.list_title", st.Page+1, pages), options: opts}
}

// sent stores the report (or finds it stored by an earlier request of this
// session) and shows the receipt, then help matched to the answers, most
// urgent first, as far as the screen allows: 999/112 when in danger, the
// 72-hour line after sexual violence, 116 for a child, the emergency numbers,
// and the best service near them. Everything else is one dial away under
// "3 Help numbers".
func (t *turn) sent(st *state) Response {
	p := t.p(st)
	sub, phoneOK, err := t.submit(st)
	if err != nil {
		t.h.Log.ErrorContext(t.ctx, "ussd report not stored", "err", err)
		st.Screen = sSendFailed
		st.Problem = ""
		return t.show(st)
	}
	lines := []string{p.T("ussd.sent.title", sub.Receipt.String()), p.T("ussd.sent.keep")}
	services, err := t.h.Reports.Services(t.ctx)
	if err != nil {
		t.h.Log.ErrorContext(t.ctx, "ussd help now: directory unavailable", "err", err)
	}
	plan := directory.Plan(reporting.Situation(sub.Report), services)
	if plan.Emergency {
		lines = fill(lines, p.T("ussd.now.danger"))
	}
	if plan.PostRapeCare {
		lines = fill(lines, p.T("ussd.now.pep"))
	}
	if plan.ChildLine {
		lines = fill(lines, p.T("ussd.now.child"))
	}
	if !phoneOK {
		lines = fill(lines, p.T("ussd.sent.no_phone"))
	}
	lines = fill(lines, p.T("ussd.footer"), p.T("ussd.footer_short"))
	if !plan.NoLocalMatch {
		for _, s := range plan.Services {
			if phone := sms.FirstNumber(s.Channels.Phone); phone != "" && !strings.HasPrefix(s.ID, "national.") {
				lines = fill(lines, p.T("ussd.now.near", sms.Truncate(sms.ASCII(s.Name), 24), phone))
				break
			}
		}
	}
	return finish(true, lines)
}

// near lists the directory's services with a phone number in a county.
func (t *turn) near(st *state) Response {
	p := t.p(st)
	services, err := t.h.Reports.Services(t.ctx)
	if err != nil {
		t.h.Log.ErrorContext(t.ctx, "ussd help numbers: directory unavailable", "err", err)
		return t.h.failEnd(st.Lang, "ussd.error")
	}
	name := p.T(directory.CountyKey(st.Near))
	var found []string
	for _, s := range directory.Match(services, directory.Query{County: st.Near}) {
		if phone := sms.FirstNumber(s.Channels.Phone); phone != "" && !strings.HasPrefix(s.ID, "national.") {
			found = append(found, sms.Truncate(sms.ASCII(s.Name), 34)+" "+phone)
		}
	}
	if len(found) == 0 {
		return finish(true, fill([]string{p.T("ussd.near.none", name)}, p.T("ussd.footer"), p.T("ussd.footer_short")))
	}
	// Keep room for the short footer, then add services while they fit.
	lines := []string{p.T("ussd.near.title", name)}
	footer := p.T("ussd.footer_short")
	for _, f := range found {
		if textLen(append(append(lines, f), footer)) > maxScreen {
			break
		}
		lines = append(lines, f)
	}
	lines = fill(lines, p.T("ussd.footer"), footer)
	return finish(true, lines)
}

// status shows the report's status, or a page of the newest message.
func (t *turn) status(st *state) Response {
	p := t.p(st)
	op, err := t.open(st)
	var l *reporting.Latest
	if err == nil {
		l, err = op.Latest(t.ctx)
	}
	switch {
	case errors.Is(err, reporting.ErrNoReport):
		// Deleted on the web meanwhile, or inputs that are not the
		// ones the receipt was checked with.
		return t.h.failEnd(st.Lang, "ussd.code.gone")
	case t.overdue(err):
		return Response{End: true} // Answer shows the busy screen
	case err != nil:
		t.h.Log.ErrorContext(t.ctx, "ussd check: report not read", "err", err)
		return t.h.failEnd(st.Lang, "ussd.error")
	}
	if st.Screen == sStatus || l.Newest == nil {
		if st.Screen == sMessage {
			st.Problem = "ussd.problem.choice" // "1" offered no message
		}
		st.Screen, st.Page = sStatus, 0
		key := "ussd.status." + l.Status
		if !p.Has(key) {
			key = "ussd.status.other" // a status added after these words were written
		}
		lines := []string{p.T(key)}
		var opts []string
		if l.Newest != nil {
			lines = append(lines, p.T("ussd.status.message", l.Newest.At.In(eastAfrica).Format("02/01 15:04")))
			opts = []string{"1 " + p.T("ussd.status.read"), "2 " + p.T("ussd.status.reply")}
		} else {
			lines = append(lines, p.T("ussd.status.no_message"))
			opts = []string{"2 " + p.T("ussd.status.reply")}
		}
		return t.con(st, menuScreen{title: strings.Join(lines, "\n"), options: opts})
	}
	at := l.Newest.At.In(eastAfrica).Format("02/01 15:04")
	pages := paginate(l.Newest.Text, t.pageBudget(st))
	st.Page = min(st.Page, len(pages)-1)
	head := p.T("ussd.message.head", at, st.Page+1, len(pages))
	var opts []string
	if st.Page < len(pages)-1 {
		opts = append(opts, "1 "+p.T("ussd.more"))
	}
	opts = append(opts, "2 "+p.T("ussd.status.reply"))
	return t.con(st, menuScreen{title: head + "\n" + pages[st.Page], options: opts})
}

// pageBudget is how much of a message fits on one screen beside the
// longest header and all the options, so pages never change with the page
// number.
func (t *turn) pageBudget(st *state) int {
	p := t.p(st)
	fixed := []string{p.T("ussd.message.head", "00/00 00:00", 99, 99), "", "1 " + p.T("ussd.more"), "2 " + p.T("ussd.status.reply"), p.T("ussd.back")}
	return maxScreen - textLen(fixed)
}

// paginate cuts text into pages of at most n characters, at a space when
// one is near the end of the page. Runs of white space become one space: a
// screen has no room for blank lines.
func paginate(text string, n int) []string {
	text = strings.Join(strings.Fields(sms.ASCII(text)), " ")
	if n < 10 {
		n = 10
	}
	var pages []string
	rs := []rune(text)
	for len(rs) > n {
		cut := n
		for i := n; i > n/2; i-- {
			if rs[i] == ' ' {
				cut = i
				break
			}
		}
		pages = append(pages, strings.TrimSpace(string(rs[:cut])))
		rs = []rune(strings.TrimLeft(string(rs[cut:]), " "))
	}
	return append(pages, string(rs))
}
