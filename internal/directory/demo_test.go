package directory

import (
	"strings"
	"testing"

	"github.com/salama-ke/salama/internal/report"
)

func TestDemoNetwork(t *testing.T) {
	orgs := DemoNetwork()
	if len(orgs) != 6 {
		t.Fatalf("%d demo organisations, want 6 (3 members, 3 in the directory only)", len(orgs))
	}
	intakes, childOrgs := 0, 0
	ids := map[string]bool{}
	for _, o := range orgs {
		if !strings.Contains(o.Name, "Example") || !strings.HasSuffix(o.Name, "(demo)") {
			t.Errorf("organisation %q does not read as an example", o.Name)
		}
		if !validID(o.Slug) {
			t.Errorf("organisation slug %q", o.Slug)
		}
		if o.Intake {
			intakes++
		}
		if o.ChildProtection {
			childOrgs++
		}
		for _, s := range o.Services {
			if err := s.Validate(); err != nil {
				t.Error(err)
			}
			if s.OrgID != o.Slug {
				t.Errorf("%s belongs to %q, listed under %q", s.ID, s.OrgID, o.Slug)
			}
			if ids[s.ID] {
				t.Errorf("service ID %s twice", s.ID)
			}
			ids[s.ID] = true
			if !strings.HasPrefix(s.ID, "demo-") || !strings.HasSuffix(s.Name, "(demo)") {
				t.Errorf("%s (%q) does not read as an example", s.ID, s.Name)
			}
			for _, p := range []string{s.Channels.Phone, s.Channels.SMS, s.Channels.WhatsApp} {
				if p != "" && !strings.Contains(p, "700 000 0") {
					t.Errorf("%s: phone %q is not an obvious example number", s.ID, p)
				}
			}
			if w := s.Channels.Website; w != "" && !strings.HasSuffix(w, "example.org") {
				t.Errorf("%s: website %q is not under example.org", s.ID, w)
			}
			if s.Description.EN == "" || s.Description.SW == "" {
				t.Errorf("%s: description missing a language", s.ID)
			}
		}
	}
	if intakes != 1 || childOrgs != 1 {
		t.Errorf("%d intake and %d child-protection organisations, want 1 and 1", intakes, childOrgs)
	}
	// Every need somebody can ask for is met somewhere, for adults and for
	// children.
	for _, n := range report.Needs() {
		if n == report.NeedRecordOnly {
			continue
		}
		for _, child := range []bool{false, true} {
			met := false
			for _, s := range demoServices() {
				ok := s.Ages.ServesAdults()
				if child {
					ok = s.Ages.ServesChildren()
				}
				met = met || ok && s.Serves(n, child)
			}
			if !met {
				t.Errorf("no demo service meets %s (child=%v)", n, child)
			}
		}
	}
	if DemoNetwork()[0].Services[0].ID != "demo-intake-helpline" {
		t.Error("demo service IDs are not stable")
	}
}
