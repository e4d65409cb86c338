package console_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/salama-ke/salama/internal/audit"
)

var removeRE = regexp.MustCompile(`action="/console/alerts/([0-9a-f]+)/delete"`)

// TestAlertsPage: an organisation's admin lists, adds and removes alert
// contacts on the console's Alerts page; bad input keeps what was typed and
// says what is wrong; every change is audited without the address; the
// addresses are sealed in the database; another organisation's contact
// cannot be removed.
func TestAlertsPage(t *testing.T) {
	each(t, func(t *testing.T, s *site) {
		admin := s.login(t, "demo-admin")
		csrf := admin.csrf()
		page := admin.get("/console/alerts")
		expect(t, "alerts page", page, http.StatusOK, "Alerts for", "alerts@example-intake", "254700000100", "only logged")
		if len(removeRE.FindAllString(page.body, -1)) != 2 {
			t.Fatalf("the demo intake organisation should list 2 contacts:\n%s", page.body)
		}

		head := s.AuditHead()
		const addr = "Duty.Officer@NGO.Example.org"
		r := admin.post("/console/alerts", url.Values{"csrf": {csrf}, "channel": {"email"}, "address": {addr}})
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/console/alerts?done=added" {
			t.Fatalf("add: %d %q\n%s", r.StatusCode, r.Header.Get("Location"), r.body)
		}
		expect(t, "after adding", admin.get("/console/alerts?done=added"), http.StatusOK, "Alert contact added.", "Duty.Officer@ngo.example.org")
		for _, tc := range []struct {
			channel, address string
			status           int
			says             string
		}{
			{"email", "not an address", http.StatusUnprocessableEntity, "That is not an email address."},
			{"sms", "0202 123 456", http.StatusUnprocessableEntity, "That is not a mobile number."},
			{"email", "duty.officer@ngo.EXAMPLE.org ", http.StatusConflict, "already on the list"},
			{"fax", "0712345678", http.StatusUnprocessableEntity, "Choose email or SMS."},
		} {
			r := admin.post("/console/alerts", url.Values{"csrf": {csrf}, "channel": {tc.channel}, "address": {tc.address}})
			expect(t, tc.channel+" "+tc.address, r, tc.status, tc.says, strings.TrimSpace(tc.address))
		}
		es := s.AuditSince(head, string(audit.AlertContactChanged))
		if len(es) != 1 || !strings.Contains(es[0].Detail, "change=added") || !strings.Contains(es[0].Detail, "channel=email") {
			t.Fatalf("audit after adding: %+v", es)
		}
		for _, en := range s.Audit() {
			if strings.Contains(strings.ToLower(en.Detail), "duty.officer") {
				t.Errorf("the audit log holds the address: %+v", en)
			}
		}
		if s.dbContains(t, []byte("uty.Officer")) || s.dbContains(t, []byte("alerts@example-intake")) {
			t.Error("an alert address is in the database in clear")
		}

		// Another organisation's contact: not found, and still there.
		child := s.ChildOrg()
		theirs, err := s.App.Alerts.Contacts(s.Ctx(), child.Org.ID)
		if err != nil || len(theirs) == 0 {
			t.Fatalf("child organisation's contacts: %v %v", theirs, err)
		}
		expect(t, "remove another organisation's contact", admin.post("/console/alerts/"+theirs[0].ID+"/delete", url.Values{"csrf": {csrf}}), http.StatusNotFound)
		if _, err := s.App.Store.AlertContact(s.Ctx(), theirs[0].ID); err != nil {
			t.Fatalf("another organisation's contact was removed: %v", err)
		}

		// Remove ours, all of them: the page then warns that nobody is told.
		for _, m := range removeRE.FindAllStringSubmatch(admin.get("/console/alerts").body, -1) {
			r := admin.post("/console/alerts/"+m[1]+"/delete", url.Values{"csrf": {csrf}})
			if r.StatusCode != http.StatusSeeOther {
				t.Fatalf("remove: %d", r.StatusCode)
			}
		}
		expect(t, "no contacts", admin.get("/console/alerts"), http.StatusOK, "Nobody is alerted")
		if es := s.AuditSince(head, string(audit.AlertContactChanged)); len(es) != 4 {
			t.Errorf("%d alert contact changes audited, want 4", len(es))
		}
		if cs, _ := s.App.Store.AlertContacts(s.Ctx(), s.IntakeOrg().Org.ID); len(cs) != 0 {
			t.Errorf("%d contacts left", len(cs))
		}
		// A caseworker has no Alerts page.
		cw := s.login(t, "demo-caseworker")
		expect(t, "caseworker", cw.get("/console/alerts"), http.StatusNotFound)
		if strings.Contains(cw.get("/console/").body, `href="/console/alerts"`) {
			t.Error("a caseworker's menu links to Alerts")
		}
	})
}
