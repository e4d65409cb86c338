package console_test

import (
	"context"
	"database/sql"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/salama-ke/salama/internal/app/apptest"
	"github.com/salama-ke/salama/internal/audit"
	"github.com/salama-ke/salama/internal/reporting"
	"github.com/salama-ke/salama/internal/web"
)

// The "done when": the demo caseworker reads a demo report and
// replies; the survivor sees the reply with their receipt and answers; the
// answer shows in the console. Notes stay sealed and never reach /check.
func TestReplyRoundTrip(t *testing.T) {
	each(t, func(t *testing.T, s *site) {
		org := s.IntakeOrg().Org.ID
		var receipt, id string
		for _, rc := range s.App.Demo.Receipts {
			rid := s.ReportOfReceipt(rc)
			if r, _ := s.App.Store.Report(s.Ctx(), rid); r.OrgID == org {
				receipt, id = rc, rid
				break
			}
		}
		if id == "" {
			t.Fatal("no demo report for the intake organisation")
		}
		rep, _ := s.App.Store.Report(s.Ctx(), id)
		opened, err := s.App.Casework.Open(s.Ctx(), s.Principal("demo-admin"), id)
		if err != nil || opened.Narrative == "" {
			t.Fatalf("open: %v", err)
		}

		cw := s.login(t, "demo-caseworker")
		r := cw.get("/console/reports/" + id)
		expect(t, "report page", r, 200, rep.CaseRef, opened.Narrative, "No messages yet.", "No notes.")
		csrf := match(t, csrfRE, r.body, "csrf")

		const reply = "Tumepokea ripoti yako. We can help. Reply-3391"
		const note = "Called the shelter, bed free Friday. Note-8852"
		head := s.AuditHead()
		r = cw.post("/console/reports/"+id+"/message", url.Values{"csrf": {csrf}, "text": {reply}})
		if r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/console/reports/"+id+"?done=message") {
			t.Fatalf("message: %d to %q", r.StatusCode, r.Header.Get("Location"))
		}
		r = cw.post("/console/reports/"+id+"/note", url.Values{"csrf": {csrf}, "text": {note}})
		if r.StatusCode != http.StatusSeeOther {
			t.Fatalf("note: %d", r.StatusCode)
		}
		r = cw.get("/console/reports/" + id + "?done=note")
		expect(t, "report after", r, 200, reply, note, "Note added.", "In review")
		var actions []string
		for _, en := range s.AuditSince(head) {
			if en.ReportID == id {
				actions = append(actions, en.Action)
			}
		}
		for _, want := range []audit.Action{audit.MessageSent, audit.StatusChanged, audit.NoteAdded, audit.ReportRead} {
			if !strings.Contains(strings.Join(actions, " "), string(want)) {
				t.Errorf("no %s entry among %q", want, actions)
			}
		}

		// The survivor checks with the receipt.
		sv := s.browser(t)
		r = sv.post("/en/check", url.Values{"receipt": {receipt}, "token": {s.App.Reporting.NewLoginToken()}})
		if r.StatusCode != http.StatusSeeOther || sv.check == "" {
			t.Fatalf("receipt login: %d\n%s", r.StatusCode, r.body)
		}
		r = sv.get("/en/check/report")
		expect(t, "survivor's thread", r, web.StatusReport, reply)
		if r.has(note) || strings.Contains(r.body, "Note-8852") || strings.Contains(r.body, "demo-caseworker") {
			t.Error("the survivor sees the private note or the caseworker's username")
		}
		const answer = "Asante sana, Friday is fine. Answer-4410"
		// A second later: the thread is ordered by the second a message
		// was written, and within one second by random id.
		s.Clock.Add(time.Second)
		r = sv.post("/en/check/reply", url.Values{"csrf": {match(t, csrfRE, r.body, "check csrf")}, "text": {answer}})
		if r.StatusCode != http.StatusSeeOther {
			t.Fatalf("survivor's reply: %d\n%s", r.StatusCode, r.body)
		}

		r = cw.get("/console/reports/" + id)
		expect(t, "thread in the console", r, 200, reply, answer, "Survivor")
		if strings.Index(r.body, html.EscapeString(reply)) > strings.Index(r.body, html.EscapeString(answer)) {
			t.Error("the thread is not in order")
		}

		// None of it is in the database in clear.
		for _, needle := range []string{"Reply-3391", "Note-8852", "Answer-4410", opened.Narrative[:40]} {
			if s.dbContains(t, []byte(needle)) {
				t.Errorf("the database holds %q in clear", needle)
			}
		}
	})
}

// A refused note comes back in the note box, a refused reply in the reply
// box: a private note must never be offered for sending to the survivor.
func TestDraftsStayInTheirForm(t *testing.T) {
	s := sqliteSite(t)
	id := s.Submit(apptest.Report(nil)).Report.ID
	b := s.login(t, "demo-caseworker")
	csrf := b.csrf()
	box := func(body, name string) string {
		m := regexp.MustCompile(`(?s)<textarea id="` + name + `" name="text" maxlength="4000">(.*?)</textarea>`).FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("no %s box", name)
		}
		return html.UnescapeString(m[1])
	}
	// A browser counts a line break as one character against maxlength
	// but sends two: a note that fits the box can be too long here.
	long := "Private-9931 " + strings.Repeat("line\r\n", 700)
	r := b.post("/console/reports/"+id+"/note", url.Values{"csrf": {csrf}, "text": {long}})
	expect(t, "long note", r, http.StatusUnprocessableEntity, "too long")
	if got := box(r.body, "message"); got != "" {
		t.Errorf("the refused note came back in the reply box: %.40q", got)
	}
	if got := box(r.body, "note"); !strings.HasPrefix(got, "Private-9931") {
		t.Errorf("the refused note was lost: %.40q", got)
	}
	r = b.post("/console/reports/"+id+"/message", url.Values{"csrf": {csrf}, "text": {"Public-1204 " + strings.Repeat("x", 4000)}})
	expect(t, "long reply", r, http.StatusUnprocessableEntity, "too long")
	if !strings.HasPrefix(box(r.body, "message"), "Public-1204") || box(r.body, "note") != "" {
		t.Error("the refused reply did not come back in the reply box only")
	}
	expect(t, "empty reply", b.post("/console/reports/"+id+"/message", url.Values{"csrf": {csrf}, "text": {"  "}}),
		http.StatusUnprocessableEntity, "Write something first.")
	if ms, _ := s.App.Store.Messages(s.Ctx(), id); len(ms) != 0 {
		t.Errorf("%d messages stored", len(ms))
	}
}

// The status workflow, assignment and classification through the forms.
func TestCaseworkForms(t *testing.T) {
	each(t, func(t *testing.T, s *site) {
		sub := s.Submit(apptest.Report(func(in *reporting.Input) {
			in.Files = []reporting.Upload{{ContentType: "image/png", Data: png(t)}}
			in.Narrative = `He wrote <script>alert("x")</script> and <img src=x onerror=alert(1)>`
		}))
		id := sub.Report.ID
		b := s.login(t, "demo-caseworker")
		csrf := b.csrf()
		page := "/console/reports/" + id
		post := func(action string, form url.Values) response {
			form.Set("csrf", csrf)
			return b.post(page+"/"+action, form)
		}
		done := func(what string, r response) {
			t.Helper()
			if r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), page+"?done=") {
				t.Errorf("%s: %d to %q\n%.1500s", what, r.StatusCode, r.Header.Get("Location"), r.body)
			}
		}
		status := func() string { r, _ := s.App.Store.Report(s.Ctx(), id); return r.Status }

		// What the survivor typed is shown as text, never as markup.
		r := b.get(page)
		expect(t, "narrative", r, 200, "&lt;script&gt;alert(")
		if strings.Contains(r.body, "<script>") || strings.Contains(r.body, "<img src=x") {
			t.Error("the narrative reached the page as markup")
		}

		expect(t, "new → referred", post("status", url.Values{"status": {"referred"}}), http.StatusConflict, "not allowed")
		expect(t, "close without a reason", post("status", url.Values{"status": {"closed"}}), http.StatusUnprocessableEntity, "Choose why the report is closed.")
		if status() != "new" {
			t.Fatalf("refused changes moved the report to %s", status())
		}
		done("close", post("status", url.Values{"status": {"closed"}, "reason": {"duplicate"}}))
		expect(t, "closed page", b.get(page+"?done=status"), 200, "Status changed.", "Closed", "(Duplicate)")
		done("reopen", post("status", url.Values{"status": {"in_review"}, "reason": {"duplicate"}}))
		if r, _ := s.App.Store.Report(s.Ctx(), id); r.Status != "in_review" || r.ClosedReason != "" {
			t.Errorf("reopened: %s (%q)", r.Status, r.ClosedReason)
		}

		expect(t, "assign to another organisation's member", post("assign", url.Values{"user": {s.User("demo-child-caseworker").ID}}),
			http.StatusUnprocessableEntity, "Choose a member of your organisation.")
		done("assign", post("assign", url.Values{"user": {s.User("demo-admin").ID}}))
		expect(t, "assigned", b.get(page), 200, `selected>demo-admin</option>`)

		expect(t, "unknown incident type", post("classify", url.Values{"gbv_type": {"cyberbullying"}}), http.StatusUnprocessableEntity, "Choose an incident type from the list.")
		done("classify", post("classify", url.Values{"gbv_type": {"sexual_assault"}, "flag": {"online", "trafficking"}}))
		expect(t, "classified", b.get(page), 200, `value="sexual_assault" selected`, `value="online" checked`, `value="trafficking" checked`)

		// A screenshot is blurred until revealed; revealing is audited.
		atts, _ := s.App.Store.Attachments(s.Ctx(), id)
		att := atts[0].ID
		r = b.get(page)
		expect(t, "blurred", r, 200, `class="shot blur"`, "?reveal="+att)
		if strings.Contains(r.body, `class="shot" `) {
			t.Error("a screenshot is shown unblurred before the caseworker chose to look")
		}
		expect(t, "revealed", b.get(page+"?reveal="+att), 200, `class="shot" src=`, "Blur again")
		head := s.AuditHead()
		r = b.get(page + "/attachments/" + att)
		if r.StatusCode != 200 || !isPNG([]byte(r.body)) || r.Header.Get("Content-Type") != "image/png" || r.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("attachment: %d %q", r.StatusCode, r.Header.Get("Content-Type"))
		}
		if es := s.AuditSince(head, string(audit.AttachmentRevealed)); len(es) != 1 || es[0].Detail != "attachment="+att {
			t.Errorf("attachment.revealed entries %+v", es)
		}
		expect(t, "unknown attachment", b.get(page+"/attachments/nope"), http.StatusNotFound)
	})
}

// Issue 16 item 10: the reply box says what really reaches the survivor's
// phone, from the report's contact choice and whether this server sends
// SMS nudges.
func TestReplySaysWhatReachesThePhone(t *testing.T) {
	s := sqliteSite(t)
	codeOnly := s.Submit(apptest.Report(nil))
	byPhone := s.Submit(apptest.Report(func(in *reporting.Input) { in.ContactPref, in.Phone = "phone", "0722 000 333" }))
	b := s.login(t, "demo-caseworker")
	const (
		code  = "They chose to be reached only through their code: nothing is sent to their phone."
		noSMS = "They asked to be reached by SMS or a call, but this server sends no SMS: nothing reaches their phone."
		sms   = "They chose SMS contact: a neutral SMS tells them a message is waiting, never its words"
	)
	page := func(id string) response { return b.get("/console/reports/" + id) }
	expect(t, "contact through the code", page(codeOnly.Report.ID), http.StatusOK, code)
	if r := page(byPhone.Report.ID); !r.has(noSMS) || r.has(sms) || r.has("nothing is sent to their phone.") {
		t.Errorf("SMS contact with nudges off: the page does not say nothing reaches the phone")
	}
	// With nudges on, SMS contact is told of the neutral nudge, and only it.
	s.App.Casework.Nudge = func(context.Context, *sql.Tx, string, string, string) error { return nil }
	if r := page(byPhone.Report.ID); !r.has(sms) || r.has(noSMS) {
		t.Errorf("SMS contact with nudges on: the page does not say a neutral SMS goes")
	}
	if r := page(codeOnly.Report.ID); !r.has(code) || r.has(sms) {
		t.Errorf("contact through the code with nudges on: the page promises an SMS")
	}
}
