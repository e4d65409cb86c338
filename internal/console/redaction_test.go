package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/salama-ke/salama/internal/app/apptest"
	"github.com/salama-ke/salama/internal/audit"
	"github.com/salama-ke/salama/internal/directory"
	"github.com/salama-ke/salama/internal/reporting"
	"github.com/salama-ke/salama/internal/staff"
	"github.com/salama-ke/salama/internal/store"
)

// Redaction before referral (issue 15 item 5), through the console and the
// check page: a referral that shares the narrative may share a copy the
// caseworker edited. The receiving organisation's copy holds the edited
// text and never her words; the sending organisation still reads her
// words; the survivor's page says, in both languages, that a summary was
// shared and shows it; the audit log says an edited copy went, and never
// either text; the database holds neither in clear. The edited copy of a
// request waiting for her yes goes only when she says yes, and only there.
func TestReferralSharesAnEditedNarrative(t *testing.T) {
	each(t, func(t *testing.T, s *site) {
		trust := s.trustOrg()
		s.addService(t, directory.Service{ID: "red-counselling", OrgID: trust.Org.ID, Name: "Redaction Counselling", Type: directory.TypeCounselling,
			Counties: []string{"nairobi"}, Ages: directory.AgesAll})
		s.addService(t, directory.Service{ID: "red-shelter", OrgID: trust.Org.ID, Name: "Redaction Shelter", Type: directory.TypeShelter,
			Counties: []string{"nairobi"}, Ages: directory.AgesAll})
		const words = "My cousin Otieno Kamau-5521 took the photos at his house in Kibera and sent them to Wanjiru Njeri-5521."
		const summaryA = "A relative took photos of her and sent them to another person. Names left out-A7731."
		const summaryB = "Someone she knows shared photos of her. She needs a safe place-B7732."
		sub := s.Submit(apptest.Report(func(in *reporting.Input) {
			in.AgeBand, in.County, in.Help, in.Share = "25plus", "nairobi", []string{"counselling", "shelter"}, "refer"
			in.Narrative = words
		}))
		id := sub.Report.ID
		cw := s.login(t, "demo-caseworker")
		page := cw.get("/console/reports/" + id)
		expect(t, "the case page", page, http.StatusOK, `name="summary"`)
		if !strings.Contains(page.body, `name="summary" rows="8" maxlength="10000">`+strings.ReplaceAll(words, "'", "&#39;")+`</textarea>`) {
			t.Errorf("the box of the words as shared does not start with her words:\n%.3000s", page.body)
		}
		csrf := match(t, csrfRE, page.body, "csrf")
		head := s.AuditHead()
		refer := func(f url.Values) response {
			t.Helper()
			f.Set("csrf", csrf)
			return cw.post("/console/reports/"+id+"/referrals", f)
		}

		// An empty copy is a problem, not "share her words".
		r := refer(url.Values{"service": {"red-counselling"}, "field": {"situation", "narrative"}, "mode": {"at_submission"}, "summary": {"  "}})
		expect(t, "an empty edited copy", r, http.StatusUnprocessableEntity, "The copy of their words to share is empty")
		if refs, _ := s.App.Store.Referrals(s.Ctx(), id); len(refs) != 0 {
			t.Fatalf("an empty edited copy made a referral")
		}
		// An edit that goes beyond what she agreed to is refused like any:
		// the consent decision comes first, and nothing is stored.
		r = refer(url.Values{"service": {"red-counselling"}, "field": {"narrative"}, "mode": {"phone"}, "agreed_type": {"shelter"}, "summary": {summaryA}})
		if r.StatusCode != http.StatusForbidden {
			t.Errorf("consent by phone to another kind of service, with an edited copy: %d", r.StatusCode)
		}
		if refs, _ := s.App.Store.Referrals(s.Ctx(), id); len(refs) != 0 {
			t.Fatalf("a refused referral was stored")
		}

		// Sent at once (she agreed to services for her needs), with the
		// edited copy; then a request she is asked about, with another.
		r = refer(url.Values{"service": {"red-counselling"}, "field": {"situation", "narrative"}, "mode": {"at_submission"}, "summary": {summaryA}})
		expect(t, "referral with an edited copy", r, http.StatusSeeOther)
		r = refer(url.Values{"service": {"red-shelter"}, "field": {"narrative"}, "mode": {"ask"}, "summary": {summaryB + "\r\n"}})
		expect(t, "request with an edited copy", r, http.StatusSeeOther)
		all, err := s.App.Store.Referrals(s.Ctx(), id)
		if err != nil || len(all) != 2 {
			t.Fatalf("referrals %+v, %v", all, err)
		}
		refs := make([]store.Referral, 2) // made in the same second: by service
		for _, ref := range all {
			refs[map[string]int{"red-counselling": 0, "red-shelter": 1}[ref.ServiceID]] = ref
		}
		if refs[0].ReferredReportID == "" || refs[1].ReferredReportID != "" {
			t.Fatalf("referrals %+v", refs)
		}

		// The receiving organisation reads the edited copy, told it is one.
		s.AddEnrolledUser(trust, "red-trust", staff.RoleCaseworker)
		tb := s.login(t, "red-trust")
		cp := tb.get("/console/reports/" + refs[0].ReferredReportID)
		expect(t, "the receiving organisation's copy", cp, http.StatusOK, summaryA, "a copy the sending caseworker edited")
		if cp.has("Otieno") || cp.has("Wanjiru") {
			t.Error("the receiving organisation's copy holds her words")
		}
		// The sending organisation still reads her words, and sees that
		// an edited copy went.
		expect(t, "the sender's report", cw.get("/console/reports/"+id), http.StatusOK, words, "as you edited them")

		// The survivor: her page says a summary was shared, and shows it.
		sv, svCSRF := s.checkLogin(t, sub.Receipt.String())
		en := sv.get("/en/check/report")
		expect(t, "the survivor's page", en, 203, "a short summary of what you wrote, made by a helper", summaryA, summaryB,
			"This is the summary that is shared")
		expect(t, "the survivor's page in Kiswahili", sv.get("/sw/check/report"), 203, "muhtasari mfupi wa ulichoandika", summaryA)

		// She says yes to the request: its copy is the second edit, and
		// only the second.
		if r := sv.post("/en/check/referral", url.Values{"csrf": {svCSRF}, "referral": {refs[1].ID}, "action": {"agree"}}); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("yes: %d", r.StatusCode)
		}
		got, _ := s.App.Store.Referral(s.Ctx(), refs[1].ID)
		if got.ReferredReportID == "" {
			t.Fatal("the yes made no copy")
		}
		cp = tb.get("/console/reports/" + got.ReferredReportID)
		expect(t, "the copy made by her yes", cp, http.StatusOK, summaryB)
		if cp.has("Otieno") || cp.has(summaryA) {
			t.Error("the copy made by her yes holds her words or another referral's edit")
		}

		// The audit log: an edited copy went, each time; never a text.
		var created, sent []string
		for _, e := range s.AuditSince(head) {
			for _, text := range []string{"Otieno", "Names left out", "safe place"} {
				if strings.Contains(e.Detail, text) {
					t.Errorf("the audit log holds text: %+v", e)
				}
			}
			switch e.Action {
			case string(audit.ReferralCreated):
				created = append(created, e.Detail)
			case string(audit.ReferralSent):
				sent = append(sent, e.Detail)
			}
		}
		if len(created) != 2 || len(sent) != 2 {
			t.Fatalf("created %q, sent %q", created, sent)
		}
		for _, d := range append(created, sent...) {
			if !strings.Contains(d, "narrative=edited") {
				t.Errorf("an audit entry does not say an edited copy was shared: %q", d)
			}
		}

		// Nothing in clear in the database.
		for _, needle := range []string{"Otieno Kamau-5521", "Names left out-A7731", "She needs a safe place-B7732"} {
			if s.dbContains(t, []byte(needle)) {
				t.Errorf("the database holds %q in clear", needle)
			}
		}

		// Unchanged words are her words: the entry says so.
		other := s.Submit(apptest.Report(func(in *reporting.Input) {
			in.AgeBand, in.County, in.Help, in.Share = "25plus", "nairobi", []string{"counselling"}, "refer"
			in.Narrative = "Plain words-9931"
		}))
		h2 := s.AuditHead()
		r = cw.post("/console/reports/"+other.Report.ID+"/referrals", url.Values{"csrf": {csrf}, "service": {"red-counselling"},
			"field": {"narrative"}, "mode": {"at_submission"}, "summary": {"Plain words-9931\r\n"}})
		expect(t, "referral with her words unchanged", r, http.StatusSeeOther)
		if es := s.AuditSince(h2, string(audit.ReferralCreated)); len(es) != 1 || !strings.Contains(es[0].Detail, "narrative=original") {
			t.Errorf("her words unchanged: %+v", es)
		}
		oref, _ := s.App.Store.Referrals(s.Ctx(), other.Report.ID)
		if len(oref) != 1 || oref[0].Summary != nil {
			t.Errorf("her words unchanged stored an edited copy: %+v", oref)
		}
	})
}
