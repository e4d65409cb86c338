package reporting

import (
	"testing"

	"github.com/salama-ke/salama/internal/directory"
	"github.com/salama-ke/salama/internal/store"
)

func TestUrgency(t *testing.T) {
	for _, tc := range []struct {
		r    store.Report
		want int
	}{
		{store.Report{}, 0},
		{store.Report{DangerNow: "yes"}, 4},
		{store.Report{DangerNow: "no", ChildInvolved: true}, 2},
		{store.Report{Categories: []string{"sexual_violence"}, WhenLast: "72h"}, 1},
		{store.Report{Categories: []string{"sexual_violence"}, WhenLast: "month"}, 0},
		{store.Report{DangerNow: "yes", ChildInvolved: true, Categories: []string{"sexual_violence"}, WhenLast: "ongoing"}, 7},
	} {
		if got := Urgency(tc.r); got != tc.want {
			t.Errorf("Urgency(%+v) = %d, want %d", tc.r, got, tc.want)
		}
	}
	// Danger outranks everything else together.
	if Urgency(store.Report{DangerNow: "yes"}) <= Urgency(store.Report{ChildInvolved: true, Categories: []string{"sexual_violence"}, WhenLast: "72h"}) {
		t.Error("danger now does not come first")
	}
}

func TestRoute(t *testing.T) {
	orgs := []store.Organisation{
		{PublicKey: "age1test", ID: "intake", Intake: true},
		{PublicKey: "age1test", ID: "child-nbi", ChildProtection: true},
		{PublicKey: "age1test", ID: "child-national", ChildProtection: true},
		{PublicKey: "age1test", ID: "legal"},
	}
	svcs := []directory.Service{
		{ID: "a", OrgID: "child-nbi", Type: directory.TypeChildProtection, Counties: []string{"nairobi"}, Ages: directory.AgesChildren},
		{ID: "b", OrgID: "child-national", Type: directory.TypeChildProtection, National: true, Ages: directory.AgesChildren},
		{ID: "c", OrgID: "legal", Type: directory.TypeLegalAid, Counties: []string{"nairobi"}},
	}
	for _, tc := range []struct {
		name string
		in   Input
		want string
	}{
		{"adult anywhere", Input{About: "me", AgeBand: "25plus", County: "nairobi"}, "intake"},
		{"blank", Input{}, "intake"},
		{"child in nairobi", Input{About: "child", County: "nairobi"}, "child-nbi"},
		{"child by age band", Input{AgeBand: "13-15", County: "nairobi"}, "child-nbi"},
		{"child elsewhere", Input{About: "child", County: "turkana"}, "child-national"},
		{"child, county not said", Input{AgeBand: "under13"}, "child-national"},
		{"tip about a child", Input{Kind: KindTip, TipChild: "yes", County: "nairobi"}, "child-nbi"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := Route(tc.in, orgs, svcs, nil)
			if err != nil || o.ID != tc.want {
				t.Errorf("routed to %v (%v), want %s", o, err, tc.want)
			}
		})
	}
	// No child-protection organisation: a child's report still reaches the intake.
	o, err := Route(Input{About: "child"}, orgs[:1], nil, nil)
	if err != nil || o.ID != "intake" {
		t.Errorf("fallback: %v %v", o, err)
	}
	if _, err := Route(Input{}, orgs[1:], nil, nil); err != ErrNoIntake {
		t.Errorf("no intake: %v", err)
	}
}
