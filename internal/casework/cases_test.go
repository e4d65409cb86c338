package casework_test

import (
	"bytes"
	"database/sql"
	"errors"
	"fmt"
	"image"
	"image/png"
	"slices"
	"strings"
	"testing"

	"github.com/salama-ke/salama/internal/app/apptest"
	"github.com/salama-ke/salama/internal/audit"
	"github.com/salama-ke/salama/internal/casework"
	"github.com/salama-ke/salama/internal/cli"
	"github.com/salama-ke/salama/internal/reporting"
	"github.com/salama-ke/salama/internal/staff"
	"github.com/salama-ke/salama/internal/store"
)

// reportEntries returns the entries about a report after seq, as
// "action detail", checked by audit.Log.ForReport.
func reportEntries(t *testing.T, e *apptest.Env, reportID string, seq int64) []string {
	t.Helper()
	es, err := e.App.Audit.ForReport(e.Ctx(), reportID)
	if err != nil {
		t.Fatalf("audit for report: %v", err)
	}
	var out []string
	for _, en := range es {
		if en.Seq > seq {
			out = append(out, strings.TrimSpace(en.Action+" "+en.Detail))
		}
	}
	return out
}

func newReport(e *apptest.Env) string {
	return e.Submit(apptest.Report(nil)).Report.ID
}

func TestStatusWorkflow(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		cw := e.App.Casework
		p := e.Principal("demo-caseworker")
		// How to bring a new report to each status.
		path := map[string][][2]string{
			"new":       nil,
			"in_review": {{"in_review", ""}},
			"referred":  {{"in_review", ""}, {"referred", ""}},
			"closed":    {{"closed", "duplicate"}},
		}
		for _, tc := range []struct {
			from, to, reason string
			want             error
		}{
			{"new", "in_review", "", nil},
			{"new", "closed", "not_in_scope", nil},
			{"new", "referred", "", casework.ErrBadTransition},
			{"new", "new", "", casework.ErrBadTransition},
			{"new", "withdrawn", "", casework.ErrBadTransition},
			{"new", "", "", casework.ErrBadTransition},
			{"new", "deleted", "", casework.ErrBadTransition},
			{"new", "closed", "", casework.ErrInvalid},
			{"new", "closed", "because I said so", casework.ErrInvalid},
			{"in_review", "referred", "", nil},
			{"in_review", "closed", "resolved", nil},
			{"in_review", "new", "", casework.ErrBadTransition},
			{"referred", "in_review", "", nil},
			{"referred", "closed", "referred_elsewhere", nil},
			{"referred", "new", "", casework.ErrBadTransition},
			{"closed", "in_review", "", nil}, // reopen
			{"closed", "referred", "", casework.ErrBadTransition},
			{"closed", "new", "", casework.ErrBadTransition},
			{"closed", "closed", "resolved", casework.ErrBadTransition},
		} {
			name := fmt.Sprintf("%s→%s(%s)", tc.from, tc.to, tc.reason)
			id := newReport(e)
			for _, step := range path[tc.from] {
				if err := cw.SetStatus(e.Ctx(), p, id, step[0], step[1]); err != nil {
					t.Fatalf("%s: setting up %s: %v", name, step[0], err)
				}
			}
			head := e.AuditHead()
			err := cw.SetStatus(e.Ctx(), p, id, tc.to, tc.reason)
			if !errors.Is(err, tc.want) {
				t.Errorf("%s: %v, want %v", name, err, tc.want)
				continue
			}
			r, _ := e.App.Store.Report(e.Ctx(), id)
			got := reportEntries(t, e, id, head)
			if tc.want != nil {
				if r.Status != tc.from || len(got) != 0 {
					t.Errorf("%s refused but the report is %s, audit %q", name, r.Status, got)
				}
				continue
			}
			wantDetail := "report.status_changed status=" + tc.from + "→" + tc.to
			if tc.reason != "" {
				wantDetail += " reason=" + tc.reason
			}
			if r.Status != tc.to || r.ClosedReason != tc.reason {
				t.Errorf("%s: report is %s (%q)", name, r.Status, r.ClosedReason)
			}
			if len(got) != 1 || got[0] != wantDetail {
				t.Errorf("%s: audit %q, want %q", name, got, wantDetail)
			}
			if !slices.Contains(casework.NextStatuses(tc.from), tc.to) {
				t.Errorf("%s allowed but not offered by NextStatuses", name)
			}
		}
	})
}

func TestAssignClassify(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		cw := e.App.Casework
		p := e.Principal("demo-caseworker")
		admin := e.Principal("demo-admin")
		id := newReport(e)
		own, other := e.User("demo-admin").ID, e.User("demo-child-caseworker").ID

		code, err := e.App.Staff.AddMember(e.Ctx(), admin, staff.NewUser{Username: "leaving.member", Role: staff.RoleCaseworker})
		if err != nil || code == "" {
			t.Fatal(err)
		}
		leaving := e.User("leaving.member").ID
		if err := e.App.Staff.SetMemberDisabled(e.Ctx(), admin, leaving, true); err != nil {
			t.Fatal(err)
		}

		for _, tc := range []struct {
			name, user string
			want       error
			detail     string
		}{
			{"own member", own, nil, "report.assigned assignee=" + own},
			{"nobody", "", nil, "report.assigned"},
			{"another organisation's member", other, casework.ErrInvalid, ""},
			{"a disabled member", leaving, casework.ErrInvalid, ""},
			{"no such user", "usr_0000000000000000", casework.ErrInvalid, ""},
		} {
			before, _ := e.App.Store.Report(e.Ctx(), id)
			head := e.AuditHead()
			err := cw.Assign(e.Ctx(), p, id, tc.user)
			if !errors.Is(err, tc.want) {
				t.Errorf("assign to %s: %v, want %v", tc.name, err, tc.want)
			}
			r, _ := e.App.Store.Report(e.Ctx(), id)
			got := reportEntries(t, e, id, head)
			if tc.want != nil {
				if r.AssignedTo != before.AssignedTo || len(got) != 0 {
					t.Errorf("refused assignment to %s changed %q → %q, audit %q", tc.name, before.AssignedTo, r.AssignedTo, got)
				}
				continue
			}
			if r.AssignedTo != tc.user || len(got) != 1 || got[0] != tc.detail {
				t.Errorf("assign to %s: assigned %q, audit %q", tc.name, r.AssignedTo, got)
			}
		}

		for _, tc := range []struct {
			name, gbv string
			flags     []string
			want      error
			stored    []string
			detail    string
		}{
			{"type and flags", "sexual_assault", []string{"trafficking", "online"}, nil, []string{"online", "trafficking"},
				"report.classification_changed classification=sexual_assault category=online,trafficking"},
			{"repeated flag", "rape", []string{"online", "online"}, nil, []string{"online"}, "report.classification_changed classification=rape category=online"},
			{"cleared", "", nil, nil, nil, "report.classification_changed classification=none"},
			{"unknown type", "cyber_bullying", nil, casework.ErrInvalid, nil, ""},
			{"a status as type", "closed", nil, casework.ErrInvalid, nil, ""},
			{"unknown flag", "rape", []string{"online", "sextortion"}, casework.ErrInvalid, nil, ""},
			{"empty flag", "rape", []string{""}, casework.ErrInvalid, nil, ""},
		} {
			if err := cw.Classify(e.Ctx(), p, id, "psychological_abuse", []string{"child_sexual_abuse"}); err != nil {
				t.Fatal(err)
			}
			head := e.AuditHead()
			err := cw.Classify(e.Ctx(), p, id, tc.gbv, tc.flags)
			if !errors.Is(err, tc.want) {
				t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
			}
			r, _ := e.App.Store.Report(e.Ctx(), id)
			got := reportEntries(t, e, id, head)
			if tc.want != nil {
				if r.GBVType != "psychological_abuse" || !slices.Equal(r.ContextFlags, []string{"child_sexual_abuse"}) || len(got) != 0 {
					t.Errorf("%s refused but stored %q %q, audit %q", tc.name, r.GBVType, r.ContextFlags, got)
				}
				continue
			}
			if r.GBVType != tc.gbv || !slices.Equal(r.ContextFlags, tc.stored) || len(got) != 1 || got[0] != tc.detail {
				t.Errorf("%s: stored %q %q, audit %q", tc.name, r.GBVType, r.ContextFlags, got)
			}
		}
		if len(casework.GBVTypes) != 6 {
			t.Errorf("%d GBVIMS core incident types, want 6", len(casework.GBVTypes))
		}
	})
}

func TestNotesAndMessages(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		cw := e.App.Casework
		p := e.Principal("demo-caseworker")
		id := newReport(e)
		long := strings.Repeat("ñ", casework.MaxText+1)
		for _, tc := range []struct {
			name, text string
			want       error
		}{
			{"empty", "", casework.ErrInvalid},
			{"blank", " \n\t ", casework.ErrInvalid},
			{"too long", long, casework.ErrInvalid},
			{"longest", long[len("ñ"):], nil},
		} {
			if err := cw.AddNote(e.Ctx(), p, id, tc.text); !errors.Is(err, tc.want) {
				t.Errorf("note %s: %v, want %v", tc.name, err, tc.want)
			}
			if err := cw.SendMessage(e.Ctx(), p, id, tc.text); !errors.Is(err, tc.want) {
				t.Errorf("message %s: %v, want %v", tc.name, err, tc.want)
			}
		}

		id = newReport(e)
		head := e.AuditHead()
		if err := cw.AddNote(e.Ctx(), p, id, "  Called the clinic: PEP available. Note-5510\n"); err != nil {
			t.Fatal(err)
		}
		if r, _ := e.App.Store.Report(e.Ctx(), id); r.Status != store.StatusNew {
			t.Errorf("a note moved the report to %s", r.Status)
		}
		if err := cw.SendMessage(e.Ctx(), p, id, "We read your report. Reply-7720"); err != nil {
			t.Fatal(err)
		}
		r, _ := e.App.Store.Report(e.Ctx(), id)
		if r.Status != store.StatusInReview || r.FirstResponseAt.IsZero() {
			t.Errorf("after the first reply: %s, first response %v", r.Status, r.FirstResponseAt)
		}
		got := reportEntries(t, e, id, head)
		want := []string{"report.note_added note=", "report.status_changed status=new→in_review", "report.message_sent message="}
		if len(got) != len(want) {
			t.Fatalf("audit %q, want %q", got, want)
		}
		for i := range want {
			if !strings.HasPrefix(got[i], want[i]) || strings.Contains(got[i], "5510") || strings.Contains(got[i], "7720") {
				t.Errorf("entry %d %q, want %q…", i, got[i], want[i])
			}
		}

		c, err := cw.Open(e.Ctx(), p, id)
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Notes) != 1 || c.Notes[0].Text != "Called the clinic: PEP available. Note-5510" || c.Notes[0].Author != "Demo Caseworker" {
			t.Errorf("notes %+v", c.Notes)
		}
		if len(c.Thread) != 1 || c.Thread[0].FromSurvivor || c.Thread[0].Text != "We read your report. Reply-7720" {
			t.Errorf("thread %+v", c.Thread)
		}
		// Another member of the organisation reads the note; the survivor
		// reads the message and not the note.
		c2, err := cw.Open(e.Ctx(), e.Principal("demo-admin"), id)
		if err != nil || len(c2.Notes) != 1 || len(c2.Thread) != 1 {
			t.Errorf("a colleague's view: %v, %d notes, %d messages", err, len(c2.Notes), len(c2.Thread))
		}
	})
}

// Another organisation's report, and a withdrawn one, are "not found" to
// every service call, and nothing is opened, changed or audited as read.
func TestOtherOrganisationNotFound(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		cw := e.App.Casework
		child := e.Submit(apptest.Report(func(in *reporting.Input) {
			in.About, in.AgeBand = "child", "13-15"
			in.Narrative = "Child narrative Siri-4411"
			in.Files = []reporting.Upload{{ContentType: "image/png", Data: pngBytes(t)}}
		}))
		if child.Report.OrgID != e.ChildOrg().Org.ID {
			t.Fatalf("a child's report went to %s", child.Report.OrgID)
		}
		atts, _ := e.App.Store.Attachments(e.Ctx(), child.Report.ID)
		if len(atts) != 1 {
			t.Fatalf("%d attachments", len(atts))
		}
		att := atts[0].ID

		// The child organisation's own caseworker does see it all.
		cp := e.Principal("demo-child-caseworker")
		if c, err := cw.Open(e.Ctx(), cp, child.Report.ID); err != nil || c.Narrative != "Child narrative Siri-4411" || len(c.Attachments) != 1 {
			t.Fatalf("own organisation: %v", err)
		}
		if ct, b, err := cw.Attachment(e.Ctx(), cp, child.Report.ID, att); err != nil || ct != "image/png" || !isPNG(b) {
			t.Fatalf("own attachment: %v %q", err, ct)
		}

		otherMember := e.User("demo-child-caseworker").ID
		head := e.AuditHead()
		for _, name := range []string{"demo-caseworker", "demo-admin", "demo-coordinator"} {
			p := e.Principal(name)
			id := child.Report.ID
			calls := map[string]error{
				"Open":        func() error { _, err := cw.Open(e.Ctx(), p, id); return err }(),
				"Attachment":  func() error { _, _, err := cw.Attachment(e.Ctx(), p, id, att); return err }(),
				"SetStatus":   cw.SetStatus(e.Ctx(), p, id, "in_review", ""),
				"Assign":      cw.Assign(e.Ctx(), p, id, p.UserID),
				"Assign self": cw.Assign(e.Ctx(), p, id, ""),
				"Classify":    cw.Classify(e.Ctx(), p, id, "rape", nil),
				"AddNote":     cw.AddNote(e.Ctx(), p, id, "a note"),
				"SendMessage": cw.SendMessage(e.Ctx(), p, id, "a message"),
				"Disable":     e.App.Staff.SetMemberDisabled(e.Ctx(), p, otherMember, true),
			}
			for call, err := range calls {
				want := casework.ErrNotFound
				if call == "Disable" && p.Role == staff.RoleCaseworker {
					want = casework.ErrForbidden
				}
				if !errors.Is(err, want) {
					t.Errorf("%s %s: %v, want %v", name, call, err, want)
				}
			}
			page, err := cw.Inbox(e.Ctx(), p, "new", "", "", "", 100)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range page.Reports {
				if r.OrgID != p.OrgID {
					t.Errorf("%s's inbox lists a report of %s", name, r.OrgID)
				}
			}
		}
		if got := reportEntries(t, e, child.Report.ID, head); len(got) != 0 {
			t.Errorf("other organisations' attempts wrote report entries %q", got)
		}
		r, _ := e.App.Store.Report(e.Ctx(), child.Report.ID)
		if r.Status != "new" || r.AssignedTo != "" || r.GBVType != "" {
			t.Errorf("the report was changed: %+v", r)
		}
		if ns, _ := e.App.Store.Notes(e.Ctx(), child.Report.ID); len(ns) != 0 {
			t.Errorf("%d notes added", len(ns))
		}
		if u := e.User("demo-child-caseworker"); u.Disabled {
			t.Error("the other organisation's member was disabled")
		}
		if _, err := cw.Open(e.Ctx(), cp, "no-such-report"); !errors.Is(err, casework.ErrNotFound) {
			t.Errorf("unknown report: %v", err)
		}
		if _, _, err := cw.Attachment(e.Ctx(), cp, child.Report.ID, "no-such-attachment"); !errors.Is(err, casework.ErrNotFound) {
			t.Errorf("unknown attachment: %v", err)
		}
		// Another report's attachment id through one's own report.
		own := e.Submit(apptest.Report(func(in *reporting.Input) { in.About, in.AgeBand = "child", "16-17" }))
		if _, _, err := cw.Attachment(e.Ctx(), cp, own.Report.ID, att); !errors.Is(err, casework.ErrNotFound) {
			t.Errorf("attachment through another report: %v", err)
		}

		// Withdrawn by the survivor: gone for the organisation too.
		rc, err := e.App.Reporting.LogIn(e.Ctx(), child.Receipt)
		if err != nil {
			t.Fatal(err)
		}
		cs, err := e.App.Reporting.Session(e.Ctx(), rc)
		if err != nil {
			t.Fatal(err)
		}
		if err := cs.Withdraw(e.Ctx()); err != nil {
			t.Fatal(err)
		}
		if _, err := cw.Open(e.Ctx(), cp, child.Report.ID); !errors.Is(err, casework.ErrNotFound) {
			t.Errorf("withdrawn report: %v", err)
		}
		if err := cw.SetStatus(e.Ctx(), cp, child.Report.ID, "in_review", ""); !errors.Is(err, casework.ErrNotFound) {
			t.Errorf("status of a withdrawn report: %v", err)
		}
	})
}

func TestReadsAreAudited(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		cw := e.App.Casework
		p := e.Principal("demo-caseworker")
		sub := e.Submit(apptest.Report(func(in *reporting.Input) {
			in.Files = []reporting.Upload{{ContentType: "image/png", Data: pngBytes(t)}}
		}))
		atts, _ := e.App.Store.Attachments(e.Ctx(), sub.Report.ID)
		head := e.AuditHead()
		if _, err := cw.Inbox(e.Ctx(), p, "new", "", "", "", 50); err != nil {
			t.Fatal(err)
		}
		if got := reportEntries(t, e, sub.Report.ID, head); len(got) != 0 {
			t.Errorf("listing the inbox (which opens nothing) wrote %q", got)
		}
		if _, err := cw.Open(e.Ctx(), p, sub.Report.ID); err != nil {
			t.Fatal(err)
		}
		if _, _, err := cw.Attachment(e.Ctx(), p, sub.Report.ID, atts[0].ID); err != nil {
			t.Fatal(err)
		}
		got := reportEntries(t, e, sub.Report.ID, head)
		if len(got) != 2 || got[0] != "report.read" || got[1] != "attachment.revealed attachment="+atts[0].ID {
			t.Errorf("audit %q", got)
		}
		es, _ := e.App.Audit.ForReport(e.Ctx(), sub.Report.ID)
		for _, en := range es {
			if en.Seq > head && en.Actor != audit.UserActor(p.UserID) {
				t.Errorf("entry by %s", en.Actor)
			}
		}
		if r, _ := e.App.Store.Report(e.Ctx(), sub.Report.ID); r.OpenedAt.IsZero() {
			t.Error("opening did not mark the report read")
		}
	})
}

// `salama audit verify` passes after a morning of casework, and fails once
// someone with database access edits an entry.
func TestAuditVerifyAfterCasework(t *testing.T) {
	for _, v := range []string{"SALAMA_SIGNING_KEY", "SALAMA_DATA", "SALAMA_DATABASE"} {
		t.Setenv(v, "")
	}
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		cw := e.App.Casework
		p := e.Principal("demo-caseworker")
		id := newReport(e)
		for _, err := range []error{
			cw.SetStatus(e.Ctx(), p, id, "in_review", ""),
			cw.Assign(e.Ctx(), p, id, p.UserID),
			cw.Classify(e.Ctx(), p, id, "rape", []string{"online"}),
			cw.AddNote(e.Ctx(), p, id, "note"),
			cw.SendMessage(e.Ctx(), p, id, "message"),
			cw.SetStatus(e.Ctx(), p, id, "closed", "resolved"),
			cw.SetStatus(e.Ctx(), p, id, "in_review", ""),
			cw.SetStatus(e.Ctx(), p, id, "new", ""), // refused, not logged
		} {
			if err != nil && !errors.Is(err, casework.ErrBadTransition) {
				t.Fatal(err)
			}
		}
		e.App.Staff.Login(e.Ctx(), "demo-caseworker", "wrong", "000000")
		if _, err := cw.Open(e.Ctx(), p, id); err != nil {
			t.Fatal(err)
		}

		args := []string{"salama", "audit", "verify", "--data", e.DataDir}
		if e.DB.DSN != "" {
			args = append(args, "--database", e.DB.DSN)
		}
		var out, errOut bytes.Buffer
		if code := cli.Main(args, &out, &errOut); code != 0 || !strings.HasPrefix(out.String(), "audit log OK: ") {
			t.Fatalf("verify: exit %d\n%s\n%s", code, out.String(), errOut.String())
		}

		// The attacker: drop the trigger, then make the status change look
		// like something else.
		es, _ := e.App.Audit.ForReport(e.Ctx(), id)
		var seq int64
		for _, en := range es {
			if en.Action == string(audit.StatusChanged) {
				seq = en.Seq
				break
			}
		}
		db := rawDB(t, e)
		drop := `DROP TRIGGER audit_log_no_update`
		if e.DB.DSN != "" {
			drop += ` ON audit_log`
		}
		if _, err := db.Exec(`UPDATE audit_log SET detail = 'status=new→closed' WHERE seq = $1`, seq); err == nil {
			t.Fatal("the audit log accepted an UPDATE with its trigger in place")
		}
		for _, q := range []string{drop, `UPDATE audit_log SET detail = 'status=new→closed' WHERE seq = $1`} {
			if _, err := db.Exec(q, seqArg(q, seq)...); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		out.Reset()
		errOut.Reset()
		code := cli.Main(args, &out, &errOut)
		if code != 1 || !strings.Contains(errOut.String(), fmt.Sprintf("entry #%d edited", seq)) {
			t.Fatalf("verify after an edit: exit %d\n%s\n%s", code, out.String(), errOut.String())
		}
		if _, err := e.App.Audit.ForReport(e.Ctx(), id); !errors.Is(err, audit.ErrTampered) {
			t.Errorf("ForReport over an edited entry: %v", err)
		}
	})
}

func seqArg(q string, seq int64) []any {
	if strings.Contains(q, "$1") {
		return []any{seq}
	}
	return nil
}

// rawDB opens the test's database directly, as someone with database
// access would.
func rawDB(t *testing.T, e *apptest.Env) *sql.DB {
	t.Helper()
	var db *sql.DB
	var err error
	if e.DB.DSN == "" {
		db, err = sql.Open("sqlite", "file:"+e.App.Store.Files()[0]+"?_pragma=busy_timeout(5000)")
	} else {
		db, err = sql.Open("pgx", e.DB.DSN)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func pngBytes(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, 3, 3))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// isPNG reports whether b is a 3×3 PNG: what a caseworker is shown is a
// re-encoded copy of the screenshot, not its bytes.
func isPNG(b []byte) bool {
	img, err := png.Decode(bytes.NewReader(b))
	return err == nil && img.Bounds().Dx() == 3 && img.Bounds().Dy() == 3
}
