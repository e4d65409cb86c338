package web

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/salama-ke/salama/internal/evidence"
	"github.com/salama-ke/salama/internal/formbody"
	"github.com/salama-ke/salama/internal/locale"
	"github.com/salama-ke/salama/internal/reporting"
	"github.com/salama-ke/salama/internal/seal"
)

// checkCookie carries a receipt login: a random session id and the key that
// opens the report's data key in the database. It is the only cookie a
// public page ever sets, and only after the survivor typed their receipt.
const checkCookie = "salama_check"

// StatusReport is the status of the page that shows a survivor's report
// (GET /{lang}/check/report): 203, a success every browser renders like
// 200, and not 200 on purpose. Chrome keeps pages in its back/forward cache
// despite Cache-Control: no-store, and restores them on Back without asking
// the server, so after Quick exit Back would show the report although its
// session is gone (Quick exit clears the cookie before Chrome stores the
// page, so its cookie-change rule does not fire either). Chrome caches only
// documents whose status is exactly 200; Firefox and Safari keep no
// no-store page. internal/browsertest TestQuickExitEndsReceiptLogin checks
// it with scripts off.
const StatusReport = http.StatusNonAuthoritativeInfo

// eastAfrica is the time zone survivors read times in (UTC+3, no DST).
var eastAfrica = time.FixedZone("EAT", 3*60*60)

type checkView struct {
	Token   string // the login form's token (reporting.NewLoginToken)
	Receipt string // as typed, shown again on an error
	Problem string
	Ended   bool
}

func (s *Server) checkForm(w http.ResponseWriter, r *http.Request, l locale.Lang) {
	if c, err := r.Cookie(checkCookie); err == nil {
		if sess, err := s.rep.Session(r.Context(), c.Value); err == nil {
			sess.Close()
			http.Redirect(w, r, "/"+string(l)+"/check/report", http.StatusSeeOther)
			return
		}
	}
	v := &checkView{Token: s.rep.NewLoginToken(), Ended: r.URL.Query().Get("ended") == "1"}
	s.render(w, http.StatusOK, "check", s.newView(r, l, "check.page_title", v))
}

func (s *Server) checkLogin(w http.ResponseWriter, r *http.Request, l locale.Lang) {
	p := s.cat.Printer(l)
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	typed := r.PostFormValue("receipt")
	if len(typed) > 64 {
		typed = typed[:64]
	}
	again := func(status int, key string, args ...any) {
		v := &checkView{Token: s.rep.NewLoginToken(), Receipt: strings.ToValidUTF8(typed, ""), Problem: p.T(key, args...)}
		s.render(w, status, "check", s.newView(r, l, "check.page_title", v))
	}
	// Login CSRF: another site must not log this browser into a report of
	// its choosing (whose thread the survivor would then write into). The
	// form's token proves the form was ours, recently; the browser's own
	// headers say whether another site sent it. What was typed in a form
	// that fails either check is not shown again: the survivor types their
	// code again, rather than be asked to press Open on someone else's.
	if crossSite(r) || s.rep.CheckLoginToken(r.PostFormValue("token")) != nil {
		typed = ""
		again(http.StatusForbidden, "check.problem_retype")
		return
	}
	receipt, err := seal.ParseReceipt(typed)
	if err != nil {
		again(http.StatusUnprocessableEntity, "check.problem_format")
		return
	}
	if ok, wait := s.receipts.Allow(s.clientAddr(r)); !ok {
		again(http.StatusTooManyRequests, "check.problem_slow", int(wait.Minutes())+1)
		return
	}
	cookie, sess, err := s.rep.Enter(r.Context(), receipt)
	switch {
	case errors.Is(err, reporting.ErrNoReport):
		again(http.StatusNotFound, "check.problem_unknown")
		return
	case err != nil:
		s.log.Error("receipt login failed", "err", err)
		again(http.StatusServiceUnavailable, "problem.try_later")
		return
	}
	defer sess.Close()
	if cookie == "" {
		// The database reads but takes no writes: show the report in
		// answer to this request, without a session (SPEC §3.9's spirit:
		// a fault never costs the survivor what can still be given).
		s.renderThread(w, r, l, sess, http.StatusOK, "", "")
		return
	}
	http.SetCookie(w, &http.Cookie{Name: checkCookie, Value: cookie, Path: "/", HttpOnly: true,
		Secure: s.cfg.TLS, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/"+string(l)+"/check/report", http.StatusSeeOther)
}

// crossSite reports whether the browser says another site sent this
// request. Sec-Fetch-Site is sent by every current browser; the Origin
// header is only a fallback: our own pages post with Referrer-Policy
// no-referrer, which makes their Origin "null", so only a named origin
// other than this host is refused. A browser that sends neither (an old
// one, a proxy browser) is left to the form token.
func crossSite(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "cross-site", "same-site":
		return true
	}
	o := r.Header.Get("Origin")
	if o == "" || o == "null" {
		return false
	}
	u, err := url.Parse(o)
	return err != nil || u.Host != r.Host
}

// session resumes the receipt login or sends the survivor back to /check.
func (s *Server) session(w http.ResponseWriter, r *http.Request, l locale.Lang) *reporting.CheckSession {
	c, err := r.Cookie(checkCookie)
	if err == nil {
		sess, err := s.rep.Session(r.Context(), c.Value)
		if err == nil {
			return sess
		}
		if !errors.Is(err, reporting.ErrNoSession) {
			s.log.Error("session lookup failed", "err", err)
			s.fail(w, r, http.StatusServiceUnavailable, "problem.try_later")
			return nil
		}
	}
	s.clearCookie(w)
	http.Redirect(w, r, "/"+string(l)+"/check?ended=1", http.StatusSeeOther)
	return nil
}

func (s *Server) clearCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: checkCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: s.cfg.TLS, SameSite: http.SameSiteStrictMode})
}

type threadMsg struct {
	Who, At, Text string
	Mine          bool
}

type threadView struct {
	// ReadOnly: the session could not be written this time, so the page
	// shows the report and says that replying is not possible now; it
	// offers no form.
	ReadOnly                    bool
	CaseRef, Status, StatusHelp string
	Messages                    []threadMsg
	Narrative                   string
	Identifiers                 []string
	Phone                       string
	Attachments                 int
	CSRF                        string
	Reply                       string // kept after an error
	Problem                     string
	RefProblem                  string // a problem with a referral answer, shown with the referrals
	Referrals                   []referralView
	// Found are the numbers and usernames in the chat exports the
	// survivor sent, offered for her to choose which to add.
	Found        []foundView
	FoundProblem string
	Matching     bool // the report takes part in matching
}

// foundView is one identifier found in a chat export, as the check page
// offers it: its label and the value posted back when ticked.
type foundView struct{ Label, Value string }

// referralView is a referral in the survivor's words.
type referralView struct {
	ID, Name, Org, Kind, State, Fields, Consent, Justification string
	Summary                                                    string // shared instead of her words
	CanAnswer, CanStop                                         bool
}

func (s *Server) renderThread(w http.ResponseWriter, r *http.Request, l locale.Lang, sess *reporting.CheckSession, status int, reply, problemKey string) {
	p := s.cat.Printer(l)
	v, err := sess.View(r.Context())
	if err != nil {
		s.log.Error("report view failed", "err", err)
		s.fail(w, r, http.StatusServiceUnavailable, "problem.try_later")
		return
	}
	if sess.Unsaved != nil {
		s.log.Warn("report shown without a stored session: the database takes no writes", "err", sess.Unsaved)
	}
	tv := &threadView{ReadOnly: sess.Unsaved != nil, CaseRef: v.Report.CaseRef, Status: p.T("status." + v.Report.Status),
		StatusHelp: p.T("status." + v.Report.Status + ".help"), Narrative: v.Narrative, Phone: v.Phone,
		Attachments: v.Attachments, CSRF: sess.CSRF(), Reply: reply}
	switch {
	case strings.HasPrefix(problemKey, "ref."):
		tv.RefProblem = p.T(problemKey)
	case problemKey == "problem.too_long":
		tv.Problem = p.T("problem.too_long_n", number(reporting.MaxReply), number(utf8.RuneCountInString(strings.TrimSpace(reply))))
	case problemKey != "":
		tv.Problem = p.T(problemKey)
	}
	for _, m := range v.Thread {
		who := p.T("check.from_caseworker")
		if m.FromSurvivor {
			who = p.T("check.from_you")
		}
		tv.Messages = append(tv.Messages, threadMsg{Who: who, At: m.At.In(eastAfrica).Format("2006-01-02 15:04"), Text: m.Text, Mine: m.FromSurvivor})
	}
	refs, err := sess.Referrals(r.Context())
	if err != nil {
		s.log.Error("referrals failed", "err", err)
		s.fail(w, r, http.StatusServiceUnavailable, "problem.try_later")
		return
	}
	for _, ref := range refs {
		rv := referralView{ID: ref.ID, Name: card(p, ref.Service).Name, Org: ref.OrgName, State: p.T("ref.state." + ref.State),
			Consent: p.T("ref.consent." + ref.Consent), Justification: ref.Justification, CanAnswer: ref.CanAnswer, CanStop: ref.CanStop}
		if ref.Kind != "" {
			rv.Kind = p.T(ref.Kind.Key())
		}
		if ref.Consent == "" {
			rv.Consent = ""
		}
		var fields []string
		for _, f := range ref.Fields {
			if f == "narrative" && ref.Summary != "" {
				f = "summary" // a helper's summary, not her words
			}
			fields = append(fields, p.T("ref.field."+f))
		}
		rv.Summary = ref.Summary
		rv.Fields = strings.Join(fields, ", ")
		if ref.State == "declined" || ref.State == "revoked" || ref.State == "completed" {
			if key := "ref.reason." + ref.Reason; ref.Reason != "" && p.Has(key) {
				rv.State += " (" + p.T(key) + ")"
			}
		}
		tv.Referrals = append(tv.Referrals, rv)
	}
	for _, id := range v.Identifiers {
		label := ""
		if id.Platform != "" {
			label = p.T("platform."+id.Platform) + ": "
		}
		tv.Identifiers = append(tv.Identifiers, label+id.Value)
	}
	found, err := sess.FoundIdentifiers(r.Context())
	if err != nil {
		s.log.Error("found identifiers failed", "err", err)
		s.fail(w, r, http.StatusServiceUnavailable, "problem.try_later")
		return
	}
	for _, f := range found {
		label := p.T("form.id_type." + f.Type)
		if f.Platform != "" {
			label += " (" + p.T("platform."+f.Platform) + ")"
		}
		tv.Found = append(tv.Found, foundView{Label: label, Value: f.Value})
	}
	tv.Matching = v.Report.ConsentMatch
	if problemKey == "thread.found_pick" || problemKey == "thread.found_gone" {
		tv.FoundProblem, tv.Problem = p.T(problemKey), ""
	}
	s.render(w, status, "thread", s.newView(r, l, "thread.page_title", tv))
}

// foundLimits: the form of found identifiers holds a token and at most
// evidence.ChatMaxFound values, each an identifier's length at most.
var foundLimits = formbody.Limits{Text: 4<<10 + evidence.ChatMaxFound*(12*reporting.MaxIdentifier+64), Fields: evidence.ChatMaxFound + 8}

// checkFound adds the identifiers the survivor ticked among those found in
// her chat exports.
func (s *Server) checkFound(w http.ResponseWriter, r *http.Request, l locale.Lang, sess *reporting.CheckSession, cut bool) {
	if cut {
		s.fail(w, r, http.StatusRequestEntityTooLarge, "problem.unreadable_form")
		return
	}
	if refused(r) {
		w.Header().Set("Retry-After", "60")
		s.renderThread(w, r, l, sess, http.StatusServiceUnavailable, "", "problem.try_later")
		return
	}
	_, err := sess.AddFound(r.Context(), r.PostForm["found"])
	s.afterPost(w, r, l, sess, err, threadEnd{anchor: "sent", failed: "adding found identifiers failed", failKey: "problem.try_later",
		known: []knownErr{{reporting.ErrEmpty, http.StatusUnprocessableEntity, "thread.found_pick"},
			{reporting.ErrNotOffered, http.StatusUnprocessableEntity, "thread.found_gone"}}})
}

func (s *Server) checkReport(w http.ResponseWriter, r *http.Request, l locale.Lang) {
	sess := s.session(w, r, l)
	if sess == nil {
		return
	}
	defer sess.Close()
	s.renderThread(w, r, l, sess, StatusReport, "", "")
}

// Body caps of the forms of the thread page (see formbody): the reply box
// holds at most MaxReply characters, 12 bytes each at worst as sent, with
// the CSRF token, and a quarter more; the buttons' forms hold a token and
// an id or two.
var (
	replyLimits  = formbody.Limits{Text: (12*reporting.MaxReply + 1<<10) * 5 / 4, Fields: 8}
	buttonLimits = formbody.Limits{Text: 4 << 10, Fields: 8}
)

// postSession reads a form posted from the thread page within lim and
// checks its CSRF token; its values are in r.PostForm. cut says the body
// went past lim: r.PostForm holds what arrived, to show, never to act on.
func (s *Server) postSession(w http.ResponseWriter, r *http.Request, l locale.Lang, lim formbody.Limits) (sess *reporting.CheckSession, cut bool) {
	f, err := formbody.Read(r, formbody.Options{Limits: lim})
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, "problem.unreadable_form")
		return nil, false
	}
	r.PostForm = f.Values
	sess = s.session(w, r, l)
	if sess == nil {
		return nil, false
	}
	if !sess.VerifyCSRF(r.PostForm.Get("csrf")) {
		sess.Close()
		s.fail(w, r, http.StatusForbidden, "problem.forged")
		return nil, false
	}
	return sess, f.Cut
}

// threadHandler answers a form posted from the thread page, with the form
// read (r.PostForm), the session resumed and the CSRF token checked.
type threadHandler func(w http.ResponseWriter, r *http.Request, l locale.Lang, sess *reporting.CheckSession)

// threadPost is the handler of a form posted from the thread page within
// lim: h runs after postSession (cut as it says), and the session is closed
// after h.
func (s *Server) threadPost(lim formbody.Limits, h func(w http.ResponseWriter, r *http.Request, l locale.Lang, sess *reporting.CheckSession, cut bool)) http.HandlerFunc {
	return s.inLang(func(w http.ResponseWriter, r *http.Request, l locale.Lang) {
		sess, cut := s.postSession(w, r, l, lim)
		if sess == nil {
			return
		}
		defer sess.Close()
		h(w, r, l, sess, cut)
	})
}

// threadButton is threadPost for the forms that are only a button: a body
// past their small cap is refused before h runs.
func (s *Server) threadButton(h threadHandler) http.HandlerFunc {
	return s.threadPost(buttonLimits, func(w http.ResponseWriter, r *http.Request, l locale.Lang, sess *reporting.CheckSession, cut bool) {
		if cut {
			s.fail(w, r, http.StatusRequestEntityTooLarge, "problem.unreadable_form")
			return
		}
		h(w, r, l, sess)
	})
}

// knownErr is an error a thread form's action meets in the normal course,
// and the status and problem the thread page shows again with.
type knownErr struct {
	err    error
	status int
	key    string
}

// threadEnd says how a thread form ends once its action returned.
type threadEnd struct {
	anchor  string     // where on the thread page success goes back to
	reply   string     // kept in the reply box when the page is shown again
	known   []knownErr // errors that are the survivor's to fix, or news to her
	failed  string     // the log line of any other error
	failKey string     // and the problem shown for it, with 503
}

// afterPost ends a thread form whose action returned err: nil goes back to
// the thread page at a.anchor (POST, redirect, GET); a known error shows the
// thread again with its problem; any other is logged and shown as
// a.failKey.
func (s *Server) afterPost(w http.ResponseWriter, r *http.Request, l locale.Lang, sess *reporting.CheckSession, err error, a threadEnd) {
	if err == nil {
		http.Redirect(w, r, "/"+string(l)+"/check/report#"+a.anchor, http.StatusSeeOther)
		return
	}
	for _, k := range a.known {
		if errors.Is(err, k.err) {
			s.renderThread(w, r, l, sess, k.status, a.reply, k.key)
			return
		}
	}
	s.log.Error(a.failed, "err", err)
	s.renderThread(w, r, l, sess, http.StatusServiceUnavailable, a.reply, a.failKey)
}

func (s *Server) checkReply(w http.ResponseWriter, r *http.Request, l locale.Lang, sess *reporting.CheckSession, cut bool) {
	text := r.PostForm.Get("text")
	if cut {
		s.renderThread(w, r, l, sess, http.StatusRequestEntityTooLarge, strings.ToValidUTF8(text, "\uFFFD"), "problem.cut_reply")
		return
	}
	if utf8.RuneCountInString(strings.TrimSpace(text)) > reporting.MaxReply {
		s.renderThread(w, r, l, sess, http.StatusUnprocessableEntity, text, "problem.too_long")
		return
	}
	if refused(r) {
		// Shutting down: the message stays in the box.
		w.Header().Set("Retry-After", "60")
		s.renderThread(w, r, l, sess, http.StatusServiceUnavailable, text, "problem.not_saved_reply")
		return
	}
	err := sess.Reply(r.Context(), text)
	s.afterPost(w, r, l, sess, err, threadEnd{anchor: "thread", reply: text, failed: "reply not stored", failKey: "problem.not_saved_reply",
		known: []knownErr{{reporting.ErrEmpty, http.StatusUnprocessableEntity, "check.problem_empty"}}})
}

func (s *Server) checkWithdraw(w http.ResponseWriter, r *http.Request, l locale.Lang, sess *reporting.CheckSession) {
	if r.PostForm.Get("confirm") != "yes" {
		s.renderThread(w, r, l, sess, http.StatusUnprocessableEntity, "", "check.problem_confirm")
		return
	}
	if err := sess.Withdraw(r.Context()); err != nil {
		s.log.Error("withdrawal failed", "err", err)
		s.renderThread(w, r, l, sess, http.StatusServiceUnavailable, "", "problem.try_later")
		return
	}
	s.log.Info("report withdrawn")
	s.clearCookie(w)
	s.render(w, http.StatusOK, "message", s.newView(r, l, "message.title_withdrawn", messageData{Text: s.cat.Printer(l).T("check.withdrawn"), Ok: true}))
}

func (s *Server) checkLogout(w http.ResponseWriter, r *http.Request, l locale.Lang, sess *reporting.CheckSession) {
	if err := sess.LogOut(r.Context()); err != nil {
		s.log.Error("logout failed", "err", err)
	}
	s.clearCookie(w)
	s.render(w, http.StatusOK, "message", s.newView(r, l, "message.title_closed", messageData{Text: s.cat.Printer(l).T("check.logged_out"), Ok: true}))
}

// checkReferral records the survivor's answer to a referral request, or
// stops a referral.
func (s *Server) checkReferral(w http.ResponseWriter, r *http.Request, l locale.Lang, sess *reporting.CheckSession) {
	id := r.PostForm.Get("referral")
	var err error
	switch r.PostForm.Get("action") {
	case "agree":
		err = sess.AnswerReferral(r.Context(), id, true)
	case "decline":
		err = sess.AnswerReferral(r.Context(), id, false)
	case "stop":
		err = sess.StopReferral(r.Context(), id)
	default:
		err = reporting.ErrReferralGone
	}
	s.afterPost(w, r, l, sess, err, threadEnd{anchor: "referrals", failed: "referral answer failed", failKey: "problem.try_later",
		known: []knownErr{{reporting.ErrReferralGone, http.StatusConflict, "ref.problem_gone"},
			{reporting.ErrReferralChanged, http.StatusConflict, "ref.problem_changed"}}})
}
