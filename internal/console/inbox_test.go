package console_test

import (
	"cmp"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/salama-ke/salama/internal/app/apptest"
	"github.com/salama-ke/salama/internal/reporting"
	"github.com/salama-ke/salama/internal/store"
)

var receiptRE = regexp.MustCompile(`class="receipt"[^>]*>(\d{4} \d{4} \d{4} \d{4})<`)

// publicReport sends a report through the public web form and returns its
// receipt.
func (s *site) publicReport(t *testing.T, form url.Values) string {
	t.Helper()
	b := s.browser(t)
	r := b.get("/en/report")
	form.Set("token", match(t, enrolRE, r.body, "report form token"))
	form.Set("send", "1")
	r = b.post("/en/report", form)
	if r.StatusCode != 200 {
		t.Fatalf("public report: %d\n%s", r.StatusCode, r.body)
	}
	return match(t, receiptRE, r.body, "receipt")
}

// expectedInbox lists an organisation's reports in a status as the inbox
// must order them: most urgent first, then oldest, then by id.
func (s *site) expectedInbox(t *testing.T, orgID, status string, keep func(*store.Report) bool) []string {
	t.Helper()
	var rs []store.Report
	var after store.Cursor
	for {
		page, next, err := s.App.Store.Inbox(s.Ctx(), store.InboxQuery{OrgID: orgID, Status: status, After: after, Limit: 500})
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, page...)
		if next.ID == "" {
			break
		}
		after = next
	}
	slices.SortFunc(rs, func(a, b store.Report) int {
		return cmp.Or(cmp.Compare(b.Urgency, a.Urgency), a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	var ids []string
	for i := range rs {
		if rs[i].OrgID != orgID || rs[i].Status != status {
			t.Fatalf("the store's inbox returned %s/%s", rs[i].OrgID, rs[i].Status)
		}
		if keep == nil || keep(&rs[i]) {
			ids = append(ids, rs[i].ID)
		}
	}
	return ids
}

// inbox follows the inbox's pages from path and returns every report id
// listed, in order, and how many pages there were.
func (b *browser) inbox(path string) (ids []string, pages int) {
	b.t.Helper()
	for path != "" {
		r := b.get(path)
		if r.StatusCode != 200 {
			b.t.Fatalf("GET %s: %d", path, r.StatusCode)
		}
		_, page := rows(r.body)
		ids = append(ids, page...)
		pages++
		path = ""
		if m := nextRE.FindStringSubmatch(r.body); m != nil {
			path = strings.ReplaceAll(m[1], "&amp;", "&")
		}
		if pages > 100 {
			b.t.Fatal("the inbox never ends")
		}
	}
	return ids, pages
}

func TestInboxOrderTabsFilters(t *testing.T) {
	each(t, func(t *testing.T, s *site) {
		org := s.IntakeOrg().Org
		start := s.Clock.Now()

		// An old, plain report, two days before the demo's.
		s.Clock.Set(start.Add(-48 * time.Hour))
		old := s.Submit(apptest.Report(func(in *reporting.Input) {
			in.What, in.County = []string{"images_requested"}, "kisumu"
		})).Report
		s.Clock.Set(start.Add(time.Hour))
		// Danger now, through the public form.
		receipt := s.publicReport(t, url.Values{"about": {"me"}, "what": {"trafficking"}, "age": {"25plus"},
			"county": {"mombasa"}, "when": {"ongoing"}, "danger": {"yes"}, "narrative": {"They are outside the door"}})
		danger := s.ReportOfReceipt(receipt)
		// A child involved, and a child with recent sexual violence: routing
		// sends children to the child-protection organisation, so these are
		// put straight into the intake organisation's inbox.
		s.Clock.Set(start.Add(2 * time.Hour))
		child := s.PutReport(org, store.Report{About: "adult", AgeBand: "16-17", ChildInvolved: true, Categories: []string{"sextortion"}, County: "nairobi", WhenLast: "month", DangerNow: "no"}, "child")
		childSV := s.PutReport(org, store.Report{About: "adult", AgeBand: "13-15", ChildInvolved: true, Categories: []string{"sexual_violence"}, County: "nairobi", WhenLast: "72h", DangerNow: "no"}, "child sv")
		s.Clock.Set(start.Add(3 * time.Hour))
		sv := s.Submit(apptest.Report(func(in *reporting.Input) {
			in.What, in.WhenLast, in.County = []string{"sexual_violence", "sextortion"}, "72h", "kisumu"
		})).Report
		svOld := s.Submit(apptest.Report(func(in *reporting.Input) {
			in.What, in.WhenLast = []string{"sexual_violence"}, "longer" // outside the PEP window
		})).Report
		s.Clock.Set(start.Add(4 * time.Hour))
		plain := s.Submit(apptest.Report(func(in *reporting.Input) { in.County = "nairobi" })).Report

		b := s.login(t, "demo-caseworker")
		r := b.get("/console/")
		expect(t, "inbox", r, 200, "Danger now", "SV &lt;72h")
		refs, got := rows(r.body)
		want := s.expectedInbox(t, org.ID, "new", nil)
		if !slices.Equal(got, want) {
			t.Fatalf("inbox order\n got %q\nwant %q", got, want)
		}
		if len(refs) < 9 {
			t.Fatalf("only %d reports listed", len(refs))
		}
		// What that order means, spelled out for the reports made here.
		pos := func(id string) int {
			i := slices.Index(got, id)
			if i < 0 {
				t.Fatalf("report %s not listed", id)
			}
			return i
		}
		rank := []string{danger, childSV.ID, child.ID, sv.ID, old.ID, svOld.ID, plain.ID}
		for i := 1; i < len(rank); i++ {
			if pos(rank[i-1]) > pos(rank[i]) {
				t.Errorf("report %d of %q listed after report %d", i-1, rank, i)
			}
		}
		for i, id := range got {
			rep, _ := s.App.Store.Report(s.Ctx(), id)
			if i == 0 && rep.DangerNow != "yes" {
				t.Error("the first report is not a danger-now one")
			}
		}
		demoDanger := got[0]
		if demoDanger == danger {
			t.Error("the newer danger report came before the older one")
		}

		// Tabs count per status; a report moved on leaves the "new" list.
		tabRE := regexp.MustCompile(`href="/console/\?status=in_review"[^>]*>In review \((\d+)\)`)
		if m := tabRE.FindStringSubmatch(r.body); m == nil || m[1] != "0" {
			t.Errorf("in-review tab before: %v", m)
		}
		newTab := regexp.MustCompile(`aria-current="page">New \((\d+)\)`)
		if m := newTab.FindStringSubmatch(r.body); m == nil || m[1] != strconv.Itoa(len(want)) {
			t.Errorf("new tab: %v, want %d", m, len(want))
		}
		csrf := match(t, csrfRE, r.body, "csrf")
		if r := b.post("/console/reports/"+sv.ID+"/status", url.Values{"csrf": {csrf}, "status": {"in_review"}}); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("status: %d", r.StatusCode)
		}
		r = b.get("/console/?status=in_review")
		if _, ids := rows(r.body); !slices.Equal(ids, []string{sv.ID}) {
			t.Errorf("in review: %q", ids)
		}
		if m := tabRE.FindStringSubmatch(r.body); m == nil || m[1] != "1" {
			t.Errorf("in-review tab after: %v", m)
		}
		if ids, _ := b.inbox("/console/"); slices.Contains(ids, sv.ID) || len(ids) != len(want)-1 {
			t.Errorf("the new list still has the report, or lost another: %d of %d", len(ids), len(want))
		}
		if _, ids := rows(b.get("/console/?status=closed").body); len(ids) != 0 {
			t.Errorf("closed: %q", ids)
		}
		// An unknown status is the "new" tab, never another organisation's
		// or withdrawn reports.
		if ids, _ := b.inbox("/console/?status=withdrawn"); !slices.Equal(ids, s.expectedInbox(t, org.ID, "new", nil)) {
			t.Errorf("unknown status lists %q", ids)
		}

		// Filters, alone and together, keep the order.
		has := func(cat string) func(*store.Report) bool {
			return func(r *store.Report) bool { return slices.Contains(r.Categories, cat) }
		}
		in := func(county string) func(*store.Report) bool {
			return func(r *store.Report) bool { return r.County == county }
		}
		for _, tc := range []struct {
			query string
			keep  func(*store.Report) bool
			min   int
		}{
			{"category=images_requested", has("images_requested"), 1},
			{"category=sexual_violence", has("sexual_violence"), 2},
			{"county=nairobi", in("nairobi"), 3},
			{"county=kisumu", in("kisumu"), 2},
			{"category=sextortion&county=nairobi", func(r *store.Report) bool { return has("sextortion")(r) && in("nairobi")(r) }, 2},
			{"category=bogus", nil, 8},          // ignored
			{"county=atlantis", nil, 8},         // ignored
			{"category=%27%20OR%201=1", nil, 8}, // ignored, and harmless
		} {
			ids, _ := b.inbox("/console/?status=new&" + tc.query)
			want := s.expectedInbox(t, org.ID, "new", tc.keep)
			if !slices.Equal(ids, want) || len(ids) < tc.min {
				t.Errorf("%s:\n got %q\nwant %q", tc.query, ids, want)
			}
		}
		r = b.get("/console/?status=new&category=sextortion&county=nairobi")
		expect(t, "filter form", r, 200, `<option value="sextortion" selected>`, `<option value="nairobi" selected>`)
	})
}

// The inbox pages by keyset: more than a page of reports, many created in
// the same second, come out once each, in order, over HTTP and through the
// service with small pages.
func TestInboxPagination(t *testing.T) {
	each(t, func(t *testing.T, s *site) {
		org := s.IntakeOrg().Org
		for i := range 60 {
			if i%20 == 0 {
				s.Clock.Add(time.Second)
			}
			s.Submit(apptest.Report(func(in *reporting.Input) {
				in.County = []string{"nairobi", "kisumu", "nakuru"}[i%3]
				if i%7 == 0 {
					in.What, in.WhenLast = []string{"sexual_violence"}, "72h"
				}
			}))
		}
		want := s.expectedInbox(t, org.ID, "new", nil)
		if len(want) < 61 {
			t.Fatalf("only %d reports", len(want))
		}
		b := s.login(t, "demo-caseworker")
		got, pages := b.inbox("/console/")
		if pages != (len(want)+49)/50 {
			t.Errorf("%d reports on %d pages", len(want), pages)
		}
		if !slices.Equal(got, want) {
			t.Errorf("paged inbox differs: %d listed, %d expected, %d distinct", len(got), len(want), len(slices.Compact(slices.Sorted(slices.Values(got)))))
		}
		r := b.get("/console/")
		if _, ids := rows(r.body); len(ids) != 50 {
			t.Errorf("first page has %d rows", len(ids))
		}
		// A filter carries over to the next page.
		nairobi, _ := b.inbox("/console/?county=nairobi")
		if w := s.expectedInbox(t, org.ID, "new", func(r *store.Report) bool { return r.County == "nairobi" }); !slices.Equal(nairobi, w) {
			t.Errorf("nairobi pages: %d listed, %d expected", len(nairobi), len(w))
		}
		// A malformed cursor is the first page.
		for _, after := range []string{"x", "1.abc", "-5." + strings.Repeat("0", 32), "9999999999999999999." + want[0]} {
			if _, ids := rows(b.get("/console/?after=" + url.QueryEscape(after)).body); len(ids) == 0 {
				t.Errorf("cursor %q: empty page", after)
			}
		}

		// Small pages through the service, with ties on every boundary.
		p := s.Principal("demo-caseworker")
		var ids []string
		after := ""
		for range 100 {
			page, err := s.App.Casework.Inbox(s.Ctx(), p, "new", "", "", after, 7)
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Reports) > 7 {
				t.Fatalf("page of %d", len(page.Reports))
			}
			for _, r := range page.Reports {
				ids = append(ids, r.ID)
			}
			if page.Next == "" {
				break
			}
			after = page.Next
		}
		if !slices.Equal(ids, want) {
			t.Errorf("pages of 7: %d listed, %d expected", len(ids), len(want))
		}
	})
}
