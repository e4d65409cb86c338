package console_test

import (
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/salama-ke/salama/internal/app/apptest"
	"github.com/salama-ke/salama/internal/audit"
	"github.com/salama-ke/salama/internal/directory"
	"github.com/salama-ke/salama/internal/orgs"
	"github.com/salama-ke/salama/internal/reporting"
)

// trustOrg is the demo network's legal and shelter trust: neither intake
// nor child protection.
func (s *site) trustOrg() orgs.Created {
	s.t.Helper()
	for _, o := range s.App.Demo.Orgs {
		if !o.Org.Intake && !o.Org.ChildProtection {
			return o
		}
	}
	s.t.Fatal("no trust organisation in the demo")
	return orgs.Created{}
}

// serviceForm is a complete, valid service form; edit what the test needs.
func serviceForm(csrf string, edit func(url.Values)) url.Values {
	f := url.Values{
		"csrf": {csrf}, "name": {"Turkana Safe Space"}, "type": {"shelter"},
		"description.en": {"A safe place to stay.\nCall first."}, "description.sw": {"Mahali salama pa kukaa."},
		"counties": {"turkana", "samburu"}, "ages": {"all"}, "genders": {"female"}, "languages": {"sw", "en", "tuv"},
		"hours.en": {"Day and night"}, "hours.sw": {"Mchana na usiku"},
		"channels.phone": {"0700 000 061"}, "channels.walk_in.en": {"Lodwar, behind the market"},
		"free": {"1"},
	}
	if edit != nil {
		edit(f)
	}
	return f
}

func (s *site) service(id string) *directory.Service {
	s.t.Helper()
	svc, err := directory.StoredService(s.Ctx(), s.App.Store, id)
	if err != nil {
		return nil
	}
	return svc
}

func TestDirectoryConsole(t *testing.T) {
	each(t, func(t *testing.T, s *site) {
		intake, child := s.IntakeOrg(), s.ChildOrg()
		admin := s.login(t, "demo-admin")
		csrf := admin.csrf()
		head := s.AuditHead()

		// The list shows the admin's own organisation only.
		r := admin.get("/console/directory")
		expect(t, "admin's directory", r, http.StatusOK, intake.Org.Name, "Example Helpline (demo)", "Add a service")
		if r.has("Example Child Protection Centre, Nairobi (demo)") {
			t.Error("an organisation admin sees another organisation's services")
		}
		expect(t, "new service form", admin.get("/console/directory/new"), http.StatusOK, "Add a service", `name="counties" value="turkana"`)

		// The help page has been read, so the directory is in the cache.
		help := "/en/help?county=turkana&need=shelter"
		if r := admin.get(help); r.StatusCode != 200 || r.has("Turkana Safe Space") {
			t.Fatalf("help before: %d", r.StatusCode)
		}

		// A mistake: the error is next to its field, and everything typed stays.
		r = admin.post("/console/directory", serviceForm(csrf, func(f url.Values) { f.Set("channels.phone", "call Amina") }))
		expect(t, "bad phone", r, http.StatusUnprocessableEntity, "Please correct the marked field",
			`value="call Amina"`, "use digits, spaces", `value="Turkana Safe Space"`, "A safe place to stay.\nCall first.",
			`value="turkana" checked`, `value="samburu" checked`, `value="female" checked`, `value="tuv" checked`,
			`value="Lodwar, behind the market"`, `name="free" value="1" checked`)
		if i, j := strings.Index(r.body, `id="channels.phone"`), strings.Index(r.body, "use digits, spaces"); i < 0 || j < i || j-i > 300 {
			t.Error("the phone's problem is not shown next to the phone field")
		}
		for _, edit := range []func(url.Values){
			func(f url.Values) { f.Del("counties") },                                     // nowhere
			func(f url.Values) { f.Set("type", "massage") },                              // unknown type
			func(f url.Values) { f.Del("channels.phone"); f.Del("channels.walk_in.en") }, // no way to reach it
			func(f url.Values) { f.Set("id", "national.gbv-1195") },                      // poses as a national line
			func(f url.Values) { f.Set("counties", "gotham") },                           // a county no form offers
			func(f url.Values) { f.Set("channels.website", "javascript:alert(1)") },
		} {
			expect(t, "invalid service", admin.post("/console/directory", serviceForm(csrf, edit)), http.StatusUnprocessableEntity, "Please correct")
		}
		if s.service("turkana-safe-space") != nil || s.service("national.gbv-1195") != nil {
			t.Fatal("an invalid service was stored")
		}

		// Added: the id is made from the name, the organisation is the
		// admin's own whatever the form says, and it shows on /help at once.
		r = admin.post("/console/directory", serviceForm(csrf, func(f url.Values) { f.Set("org_id", child.Org.ID) }))
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/console/directory?done=added" {
			t.Fatalf("add: %d %q\n%.2000s", r.StatusCode, r.Header.Get("Location"), r.body)
		}
		svc := s.service("turkana-safe-space")
		if svc == nil || svc.OrgID != intake.Org.ID || svc.Description.EN != "A safe place to stay.\nCall first." ||
			strings.Join(svc.Counties, ",") != "turkana,samburu" || strings.Join(svc.Languages, ",") != "en,sw,tuv" || !svc.Free {
			t.Fatalf("stored %+v", svc)
		}
		expect(t, "list after add", admin.get("/console/directory?done=added"), http.StatusOK, "The service was added", "Turkana Safe Space")
		expect(t, "help after add", admin.get(help), http.StatusOK, "Turkana Safe Space", "0700 000 061")
		if r := admin.get("/en/help?county=kisumu&need=shelter"); r.has("Turkana Safe Space") {
			t.Error("the new service shows for another county")
		}
		// The same id twice is refused, next to the id.
		expect(t, "id taken", admin.post("/console/directory", serviceForm(csrf, func(f url.Values) { f.Set("id", "turkana-safe-space") })),
			http.StatusUnprocessableEntity, "already used")

		// Edited, and the help page follows at once.
		expect(t, "edit form", admin.get("/console/directory/services/turkana-safe-space"), http.StatusOK, `value="Turkana Safe Space"`, "Remove Turkana Safe Space")
		r = admin.post("/console/directory/services/turkana-safe-space", serviceForm(csrf, func(f url.Values) {
			f.Set("name", "Lodwar Safe House")
			f.Set("id", "renamed") // the id never changes
		}))
		if r.StatusCode != http.StatusSeeOther {
			t.Fatalf("edit: %d\n%.2000s", r.StatusCode, r.body)
		}
		if svc := s.service("turkana-safe-space"); svc == nil || svc.Name != "Lodwar Safe House" || s.service("renamed") != nil {
			t.Fatalf("after edit: %+v", svc)
		}
		expect(t, "help after edit", admin.get(help), http.StatusOK, "Lodwar Safe House")

		// Another organisation's service is not found, for every verb.
		for _, id := range []string{"demo-child-protection-nairobi", "no-such-service"} {
			expect(t, "edit another's", admin.get("/console/directory/services/"+id), http.StatusNotFound, "This page does not exist")
			expect(t, "save another's", admin.post("/console/directory/services/"+id, serviceForm(csrf, nil)), http.StatusNotFound)
			expect(t, "delete another's", admin.post("/console/directory/services/"+id+"/delete", url.Values{"csrf": {csrf}}), http.StatusNotFound)
		}
		if svc := s.service("demo-child-protection-nairobi"); svc == nil || svc.Name != "Example Child Protection Centre, Nairobi (demo)" {
			t.Fatalf("another organisation's service changed: %+v", svc)
		}

		// The admin's export holds their organisation only.
		r = admin.get("/console/directory/export")
		if r.StatusCode != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/yaml") ||
			!strings.Contains(r.Header.Get("Content-Disposition"), "attachment") {
			t.Fatalf("export: %d %q", r.StatusCode, r.Header.Get("Content-Type"))
		}
		f, err := directory.ParseFile([]byte(r.body))
		if err != nil || len(f.Orgs) != 1 || f.Orgs[0].ID != intake.Org.ID {
			t.Fatalf("export: %v %+v", err, f)
		}

		// Removed.
		expect(t, "delete", admin.post("/console/directory/services/turkana-safe-space/delete", url.Values{"csrf": {csrf}}), http.StatusSeeOther)
		if s.service("turkana-safe-space") != nil {
			t.Fatal("not removed")
		}
		if r := admin.get(help); r.has("Lodwar Safe House") {
			t.Error("the removed service still shows on /help")
		}

		// Every change audited, with the service and its organisation.
		var details []string
		for _, e := range s.AuditSince(head, string(audit.DirectoryChanged)) {
			if e.Actor != audit.UserActor(s.User("demo-admin").ID) || e.OrgID != intake.Org.ID {
				t.Errorf("entry %+v", e)
			}
			details = append(details, e.Detail)
		}
		want := []string{
			"service=turkana-safe-space org=" + intake.Org.ID + " change=added",
			"service=turkana-safe-space org=" + intake.Org.ID + " change=edited",
			"service=turkana-safe-space org=" + intake.Org.ID + " change=removed",
		}
		if strings.Join(details, "\n") != strings.Join(want, "\n") {
			t.Errorf("audit:\n%s\nwant\n%s", strings.Join(details, "\n"), strings.Join(want, "\n"))
		}

		// A caseworker cannot edit the directory at all.
		cw := s.login(t, "demo-caseworker")
		cwCSRF := cw.csrf()
		expect(t, "caseworker list", cw.get("/console/directory"), http.StatusNotFound)
		expect(t, "caseworker add", cw.post("/console/directory", serviceForm(cwCSRF, func(f url.Values) { f.Set("name", "Caseworker Service") })), http.StatusNotFound)
		expect(t, "caseworker edit", cw.post("/console/directory/services/demo-intake-helpline", serviceForm(cwCSRF, nil)), http.StatusNotFound)
		expect(t, "caseworker delete", cw.post("/console/directory/services/demo-intake-helpline/delete", url.Values{"csrf": {cwCSRF}}), http.StatusNotFound)
		if s.service("caseworker-service") != nil || s.service("demo-intake-helpline") == nil {
			t.Error("a caseworker changed the directory")
		}

		// A coordinator edits every organisation's services, and may move one.
		co := s.login(t, "demo-coordinator")
		coCSRF := co.csrf()
		expect(t, "coordinator list", co.get("/console/directory"), http.StatusOK, intake.Org.Name, child.Org.Name, s.trustOrg().Org.Name)
		expect(t, "coordinator new for the child org", co.get("/console/directory/new?org="+child.Org.ID), http.StatusOK,
			`<option value="`+child.Org.ID+`" selected>`)
		r = co.post("/console/directory", serviceForm(coCSRF, func(f url.Values) {
			f.Set("org_id", child.Org.ID)
			f.Set("type", "child_protection")
			f.Set("ages", "children")
			f.Set("name", "Turkana Child Desk")
		}))
		if r.StatusCode != http.StatusSeeOther {
			t.Fatalf("coordinator add: %d\n%.2000s", r.StatusCode, r.body)
		}
		if svc := s.service("turkana-child-desk"); svc == nil || svc.OrgID != child.Org.ID {
			t.Fatalf("coordinator's service: %+v", svc)
		}
		old := s.service("demo-trust-legal-aid")
		r = co.post("/console/directory/services/demo-trust-legal-aid", serviceForm(coCSRF, func(f url.Values) {
			f.Set("org_id", intake.Org.ID)
			f.Set("name", old.Name)
			f.Set("type", "legal_aid")
		}))
		if svc := s.service("demo-trust-legal-aid"); r.StatusCode != http.StatusSeeOther || svc.OrgID != intake.Org.ID {
			t.Errorf("coordinator move: %d %+v", r.StatusCode, svc)
		}
		expect(t, "coordinator: unknown organisation", co.post("/console/directory", serviceForm(coCSRF, func(f url.Values) { f.Set("org_id", "org_nowhere") })),
			http.StatusUnprocessableEntity, "choose an organisation")
	})
}

func TestRoutingConsole(t *testing.T) {
	each(t, func(t *testing.T, s *site) {
		trust, child := s.trustOrg(), s.ChildOrg()
		for _, name := range []string{"demo-caseworker", "demo-admin"} {
			b := s.login(t, name)
			expect(t, name+" routing", b.get("/console/routing"), http.StatusNotFound)
			expect(t, name+" add rule", b.post("/console/routing", url.Values{"csrf": {b.csrf()}, "org_id": {trust.Org.ID}}), http.StatusNotFound)
		}
		co := s.login(t, "demo-coordinator")
		csrf := co.csrf()
		head := s.AuditHead()
		expect(t, "no rules", co.get("/console/routing"), http.StatusOK, "No rules yet", "Everything else", s.IntakeOrg().Org.Name, child.Org.Name)

		mombasa := func() *reporting.Submission {
			return s.Submit(apptest.Report(func(in *reporting.Input) { in.County, in.Help = "mombasa", []string{"legal"} }))
		}
		if got := mombasa().Report.OrgID; got != s.IntakeOrg().Org.ID {
			t.Fatalf("without rules a report went to %s", got)
		}

		// A problem keeps what was chosen.
		r := co.post("/console/routing", url.Values{"csrf": {csrf}, "county": {"mombasa"}, "need": {"legal"}, "org_id": {""}})
		expect(t, "rule without organisation", r, http.StatusUnprocessableEntity, "choose an organisation",
			`<option value="mombasa" selected>`, `<option value="legal" selected>`)
		expect(t, "rule with a bad county", co.post("/console/routing", url.Values{"csrf": {csrf}, "county": {"gotham"}, "org_id": {trust.Org.ID}}),
			http.StatusUnprocessableEntity, "unknown county")

		add := func(f url.Values) {
			t.Helper()
			f.Set("csrf", csrf)
			if r := co.post("/console/routing", f); r.StatusCode != http.StatusSeeOther {
				t.Fatalf("add rule %v: %d\n%.2000s", f, r.StatusCode, r.body)
			}
		}
		add(url.Values{"county": {"mombasa"}, "need": {"legal"}, "org_id": {trust.Org.ID}})
		add(url.Values{"category": {"trafficking"}, "age_group": {"adult"}, "org_id": {child.Org.ID}})
		rules, _ := s.App.Store.RoutingRules(s.Ctx())
		if len(rules) != 2 || rules[0].County != "mombasa" || rules[1].Category != "trafficking" {
			t.Fatalf("rules %+v", rules)
		}

		// The next report follows the rule at once; a child's never goes
		// where there is no child-protection service.
		if got := mombasa().Report.OrgID; got != trust.Org.ID {
			t.Errorf("a Mombasa report wanting legal help went to %s, want the trust", got)
		}
		sub := s.Submit(apptest.Report(func(in *reporting.Input) {
			in.About, in.AgeBand, in.County, in.Help = "child", "13-15", "mombasa", []string{"legal"}
		}))
		if sub.Report.OrgID != child.Org.ID {
			t.Errorf("a child's report went to %s, want the child-protection organisation", sub.Report.OrgID)
		}
		r = co.get("/console/routing?try=1&about=child&age=13-15&county=mombasa&need=legal")
		expect(t, "try a child's report", r, http.StatusOK, "This report would go to", child.Org.Name, "passed over for a child", "rule #1",
			"This organisation has no child-protection service")
		expect(t, "try an adult's report", co.get("/console/routing?try=1&about=me&age=25plus&county=mombasa&need=legal"), http.StatusOK,
			"This report would go to <strong>"+html.EscapeString(trust.Org.Name)+"</strong>, by rule #1.")

		// Move, edit, delete.
		expect(t, "move down", co.post("/console/routing/"+rules[0].ID+"/down", url.Values{"csrf": {csrf}}), http.StatusSeeOther)
		expect(t, "move down at the bottom", co.post("/console/routing/"+rules[0].ID+"/down", url.Values{"csrf": {csrf}}), http.StatusSeeOther)
		if got, _ := s.App.Store.RoutingRules(s.Ctx()); got[0].ID != rules[1].ID || got[1].ID != rules[0].ID {
			t.Errorf("after moving down: %+v", got)
		}
		expect(t, "move up", co.post("/console/routing/"+rules[0].ID+"/up", url.Values{"csrf": {csrf}}), http.StatusSeeOther)
		expect(t, "edit form", co.get("/console/routing/"+rules[0].ID), http.StatusOK, "Edit the rule", `<option value="mombasa" selected>`)
		r = co.post("/console/routing/"+rules[0].ID, url.Values{"csrf": {csrf}, "county": {"kilifi"}, "need": {"legal"}, "org_id": {trust.Org.ID}})
		if r.StatusCode != http.StatusSeeOther {
			t.Fatalf("edit: %d\n%.2000s", r.StatusCode, r.body)
		}
		if got, _ := s.App.Store.RoutingRule(s.Ctx(), rules[0].ID); got.County != "kilifi" || got.Position != 1 {
			t.Errorf("after edit: %+v", got)
		}
		if got := mombasa().Report.OrgID; got != s.IntakeOrg().Org.ID {
			t.Errorf("after the edit a Mombasa report went to %s, want the intake", got)
		}
		expect(t, "delete", co.post("/console/routing/"+rules[1].ID+"/delete", url.Values{"csrf": {csrf}}), http.StatusSeeOther)
		for _, p := range []string{"/up", "/down", "/delete", ""} {
			expect(t, "unknown rule "+p, co.post("/console/routing/no-such-rule"+p, url.Values{"csrf": {csrf}, "org_id": {trust.Org.ID}}), http.StatusNotFound)
		}
		expect(t, "unknown rule form", co.get("/console/routing/no-such-rule"), http.StatusNotFound)
		r = co.get("/console/routing?done=removed")
		expect(t, "list", r, http.StatusOK, "Rule removed", "Kilifi")
		if r.has("Trafficking</td>") {
			t.Error("the deleted rule is still listed")
		}

		var changes []string
		for _, e := range s.AuditSince(head, string(audit.RoutingChanged)) {
			changes = append(changes, e.Detail[strings.LastIndex(e.Detail, "=")+1:])
		}
		if got := strings.Join(changes, ","); got != "added,added,moved_down,moved_down,moved_up,edited,removed" {
			t.Errorf("audited changes: %s", got)
		}
	})
}
