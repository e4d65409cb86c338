package reporting

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/salama-ke/salama/internal/directory"
	"github.com/salama-ke/salama/internal/store"
)

// The routing fixture: a network of six organisations.
//
//	intake   the intake; a national helpline
//	cp-nbi   child protection (flag); child-protection service in Nairobi and Kiambu
//	cp-ksm   child protection (flag); child-protection service in Kisumu
//	legal    legal aid in Nairobi and Mombasa; no child-protection service
//	traffic  national repatriation; no child-protection service
//	mixed    not flagged, but runs a child-protection service in Mombasa
//	flagonly flagged child protection, but lists no child-protection service
func routingNetwork() ([]store.Organisation, []directory.Service) {
	orgs := []store.Organisation{
		{PublicKey: "age1test", ID: "intake", Intake: true}, {PublicKey: "age1test", ID: "cp-nbi", ChildProtection: true}, {PublicKey: "age1test", ID: "cp-ksm", ChildProtection: true},
		{PublicKey: "age1test", ID: "legal"}, {PublicKey: "age1test", ID: "traffic"}, {PublicKey: "age1test", ID: "mixed"}, {PublicKey: "age1test", ID: "flagonly", ChildProtection: true},
	}
	svc := func(org string, t directory.ServiceType, ages directory.AgeGroup, counties ...string) directory.Service {
		return directory.Service{ID: org + "." + string(t), OrgID: org, Name: org, Type: t, Counties: counties,
			National: len(counties) == 0, Ages: ages, Channels: directory.Channels{Phone: "0700 000 001"}}
	}
	svcs := []directory.Service{
		svc("intake", directory.TypeHelpline, directory.AgesAll),
		svc("cp-nbi", directory.TypeChildProtection, directory.AgesChildren, "nairobi", "kiambu"),
		svc("cp-ksm", directory.TypeChildProtection, directory.AgesChildren, "kisumu"),
		svc("legal", directory.TypeLegalAid, directory.AgesAll, "nairobi", "mombasa"),
		svc("traffic", directory.TypeRepatriation, directory.AgesAll),
		svc("mixed", directory.TypeChildProtection, directory.AgesAll, "mombasa"),
		svc("mixed", directory.TypeCounselling, directory.AgesAll, "mombasa"),
		svc("flagonly", directory.TypeShelter, directory.AgesChildren, "nakuru"),
	}
	return orgs, svcs
}

// routingRules are the coordinators' rules of the fixture, by position.
func routingRules() []store.RoutingRule {
	return []store.RoutingRule{
		{ID: "r1", Position: 1, County: "mombasa", Need: "legal", OrgID: "legal"},
		{ID: "r2", Position: 2, County: "outside", Category: "trafficking", OrgID: "traffic"},
		{ID: "r3", Position: 3, Category: "trafficking", OrgID: "traffic"},
		{ID: "r4", Position: 4, County: "nairobi", AgeGroup: store.RuleAdult, Need: "shelter", OrgID: "legal"},
		{ID: "r5", Position: 5, County: "mombasa", AgeGroup: store.RuleChild, OrgID: "mixed"},
		{ID: "r6", Position: 6, County: "kisumu", Need: "counselling", OrgID: "legal"},
		{ID: "r7", Position: 7, County: "nakuru", OrgID: "flagonly"},
		{ID: "r8", Position: 8, AgeGroup: store.RuleChild, Category: "sextortion", OrgID: "cp-ksm"},
	}
}

func TestRouteTable(t *testing.T) {
	orgs, svcs := routingNetwork()
	rules := routingRules()
	report := func(about, age, county string, what, help []string) Input {
		return Input{Kind: KindReport, About: about, AgeBand: age, County: county, What: what, Help: help}
	}
	tip := func(child, county string) Input { return Input{Kind: KindTip, TipChild: child, County: county} }
	w := func(s ...string) []string { return s }
	for _, tc := range []struct {
		name    string
		in      Input
		org     string
		reason  string
		rule    string   // with ReasonRule
		skipped []string // rules passed over for a child
	}{
		// Nothing said: intake.
		{"blank report", Input{Kind: KindReport}, "intake", ReasonIntake, "", nil},
		{"not said county and age", report("", "notsay", "notsay", nil, w("shelter")), "intake", ReasonIntake, "", nil},

		// County × need.
		{"adult, Mombasa, legal", report("me", "25plus", "mombasa", nil, w("legal")), "legal", ReasonRule, "r1", nil},
		{"adult, Mombasa, legal among others", report("me", "18-24", "mombasa", nil, w("medical", "legal")), "legal", ReasonRule, "r1", nil},
		{"adult, Nairobi, legal: r1 is Mombasa only", report("me", "25plus", "nairobi", nil, w("legal")), "intake", ReasonIntake, "", nil},
		{"adult, Mombasa, no need", report("me", "25plus", "mombasa", nil, nil), "intake", ReasonIntake, "", nil},

		// Category, and the first matching rule winning.
		{"trafficking abroad", report("me", "25plus", "outside", w("trafficking"), nil), "traffic", ReasonRule, "r2", nil},
		{"trafficking in Nairobi", report("me", "25plus", "nairobi", w("advertised", "trafficking"), nil), "traffic", ReasonRule, "r3", nil},
		{"trafficking, Mombasa, legal: r1 comes first", report("me", "25plus", "mombasa", w("trafficking"), w("legal")), "legal", ReasonRule, "r1", nil},
		{"sextortion, adult", report("me", "18-24", "kisumu", w("sextortion"), nil), "intake", ReasonIntake, "", nil},

		// Age: the adult condition.
		{"adult, Nairobi, shelter", report("me", "18-24", "nairobi", nil, w("shelter")), "legal", ReasonRule, "r4", nil},
		{"another adult, no band, Nairobi, shelter", report("adult", "", "nairobi", nil, w("shelter")), "legal", ReasonRule, "r4", nil},
		{"age not said is not an adult", report("me", "notsay", "nairobi", nil, w("shelter")), "intake", ReasonIntake, "", nil},

		// The child safeguard: a rule naming an organisation without a
		// child-protection service is passed over for a child.
		{"child, Mombasa, legal: r1 skipped, r5", report("me", "16-17", "mombasa", nil, w("legal")), "mixed", ReasonRule, "r5", w("r1")},
		{"about a child, no band, Mombasa", report("child", "", "mombasa", nil, nil), "mixed", ReasonRule, "r5", nil},
		{"child trafficked abroad: r2, r3 skipped", report("me", "13-15", "outside", w("trafficking"), nil), "cp-nbi", ReasonChild, "", w("r2", "r3")},
		{"child trafficking in Kisumu", report("child", "under13", "kisumu", w("trafficking"), nil), "cp-ksm", ReasonChild, "", w("r3")},
		{"child, Nairobi, shelter: r4 is for adults", report("me", "13-15", "nairobi", nil, w("shelter")), "cp-nbi", ReasonChild, "", nil},
		{"child, Kisumu, counselling: r6 skipped", report("me", "16-17", "kisumu", nil, w("counselling")), "cp-ksm", ReasonChild, "", w("r6")},
		{"adult, Kisumu, counselling: r6", report("me", "25plus", "kisumu", nil, w("counselling")), "legal", ReasonRule, "r6", nil},
		{"child, Nakuru: flagged but no service, skipped", report("me", "under13", "nakuru", nil, nil), "cp-nbi", ReasonChild, "", w("r7")},
		{"adult, Nakuru: r7", report("me", "25plus", "nakuru", nil, nil), "flagonly", ReasonRule, "r7", nil},
		{"child, sextortion: r8 to a child-protection org", report("me", "13-15", "nairobi", w("sextortion"), nil), "cp-ksm", ReasonRule, "r8", nil},
		{"child, county not said", report("child", "", "", nil, nil), "cp-nbi", ReasonChild, "", nil},
		{"child, Kiambu", report("me", "16-17", "kiambu", nil, nil), "cp-nbi", ReasonChild, "", nil},
		{"child in a county without child protection", report("me", "16-17", "turkana", nil, w("medical")), "cp-nbi", ReasonChild, "", nil},
		{"child band with about=adult is a child", report("adult", "13-15", "kisumu", nil, nil), "cp-ksm", ReasonChild, "", nil},

		// Tips: categorised as adverts; a child seen → child protection.
		{"tip, child seen, Kisumu", tip("yes", "kisumu"), "cp-ksm", ReasonChild, "", nil},
		{"tip, unsure, Mombasa", tip("unsure", "mombasa"), "intake", ReasonIntake, "", nil},
		{"tip, child seen, Mombasa", tip("yes", "mombasa"), "mixed", ReasonRule, "r5", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := Explain(tc.in, orgs, svcs, rules)
			if err != nil {
				t.Fatal(err)
			}
			var ruleID string
			if d.Rule != nil {
				ruleID = d.Rule.ID
			}
			var skipped []string
			for _, r := range d.Skipped {
				skipped = append(skipped, r.ID)
			}
			if d.Org.ID != tc.org || d.Reason != tc.reason || ruleID != tc.rule || !slices.Equal(skipped, tc.skipped) {
				t.Errorf("got %s (%s, rule %q, skipped %v), want %s (%s, rule %q, skipped %v)",
					d.Org.ID, d.Reason, ruleID, skipped, tc.org, tc.reason, tc.rule, tc.skipped)
			}
			if org, err := Route(tc.in, orgs, svcs, rules); err != nil || org.ID != d.Org.ID {
				t.Errorf("Route = %v, %v; Explain chose %s", org, err, d.Org.ID)
			}
		})
	}
}

// A child's report always reaches an organisation with a child-protection
// service, whatever the rules say, when the network has one.
func TestRouteChildAlwaysReachesChildProtection(t *testing.T) {
	orgs, svcs := routingNetwork()
	// Rules that send everything, in every county, elsewhere.
	rules := routingRules()
	for i, o := range []string{"legal", "traffic", "flagonly", "intake"} {
		rules = append(rules, store.RoutingRule{ID: "catch-all-" + o, Position: 100 + i, OrgID: o})
	}
	counties := []string{"", "outside", "notsay"}
	for _, c := range directory.Counties() {
		counties = append(counties, c.Slug)
	}
	for _, county := range counties {
		for _, band := range []string{"under13", "13-15", "16-17", ""} {
			for _, what := range append([][]string{nil}, slices.Collect(slices.Chunk(WhatChoices, 1))...) {
				for _, help := range append([][]string{nil}, slices.Collect(slices.Chunk(HelpChoices, 1))...) {
					in := Input{Kind: KindReport, About: "child", AgeBand: band, County: county, What: what, Help: help}
					org, err := Route(in, orgs, svcs, rules)
					if err != nil {
						t.Fatal(err)
					}
					if !hasChildService(org.ID, svcs) {
						t.Fatalf("child's report %+v went to %s, which has no child-protection service", in, org.ID)
					}
				}
			}
		}
	}
	// And an adult's report is not forced there: the catch-all takes it.
	org, _ := Route(Input{Kind: KindReport, About: "me", AgeBand: "25plus", County: "lamu"}, orgs, svcs, rules)
	if org.ID != "legal" {
		t.Errorf("adult went to %s, want the first catch-all (legal)", org.ID)
	}
}

func TestRouteFallbacks(t *testing.T) {
	orgs, svcs := routingNetwork()
	child := Input{Kind: KindReport, About: "child", County: "lamu"}
	adult := Input{Kind: KindReport, About: "me", AgeBand: "25plus", County: "lamu"}
	national := directory.Service{ID: "cp-nat.cp", OrgID: "cp-ksm", Name: "n", Type: directory.TypeChildProtection,
		National: true, Ages: directory.AgesChildren, Channels: directory.Channels{Phone: "116"}}
	without := func(drop ...string) []directory.Service {
		return slices.DeleteFunc(slices.Clone(svcs), func(s directory.Service) bool { return slices.Contains(drop, s.OrgID) })
	}
	for _, tc := range []struct {
		name string
		in   Input
		orgs []store.Organisation
		svcs []directory.Service
		want string
	}{
		{"no rules, adult", adult, orgs, svcs, "intake"},
		{"no rules, child: first flagged org with a service", child, orgs, svcs, "cp-nbi"},
		{"a national child-protection service beats one elsewhere", child, orgs, append(slices.Clone(svcs), national), "cp-ksm"},
		{"in the county beats national", Input{Kind: KindReport, About: "child", County: "nairobi"}, orgs, append(slices.Clone(svcs), national), "cp-nbi"},
		{"no flagged org with a service: an unflagged one with a service", child, orgs, without("cp-nbi", "cp-ksm"), "mixed"},
		{"no service anywhere: an org flagged child protection", child, orgs, without("cp-nbi", "cp-ksm", "mixed"), "cp-nbi"},
		{"no child protection at all: intake", child, []store.Organisation{{PublicKey: "age1test", ID: "intake", Intake: true}, {PublicKey: "age1test", ID: "legal"}}, svcs, "intake"},
		{"a service for adults only is not child protection", child,
			[]store.Organisation{{PublicKey: "age1test", ID: "intake", Intake: true}, {PublicKey: "age1test", ID: "x", ChildProtection: true}},
			[]directory.Service{{ID: "x.cp", OrgID: "x", Type: directory.TypeChildProtection, Ages: directory.AgesAdults, National: true}}, "x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			org, err := Route(tc.in, tc.orgs, tc.svcs, nil)
			if err != nil || org.ID != tc.want {
				t.Errorf("got %v, %v; want %s", org, err, tc.want)
			}
		})
	}
	if _, err := Route(adult, []store.Organisation{{ID: "legal"}}, svcs, nil); !errors.Is(err, ErrNoIntake) {
		t.Errorf("no intake: %v", err)
	}
	// A rule still works without an intake organisation.
	if org, err := Route(adult, []store.Organisation{{PublicKey: "age1test", ID: "legal"}}, svcs, []store.RoutingRule{{ID: "r", OrgID: "legal"}}); err != nil || org.ID != "legal" {
		t.Errorf("rule without intake: %v, %v", org, err)
	}
	// A provider listed in the directory without running Salama has no key:
	// a rule naming it is passed over, and the report reaches the intake.
	listed := []store.Organisation{{PublicKey: "age1test", ID: "intake", Intake: true}, {ID: "hospital"}}
	if org, err := Route(adult, listed, svcs, []store.RoutingRule{{ID: "r", OrgID: "hospital"}}); err != nil || org.ID != "intake" {
		t.Errorf("rule naming a provider outside Salama: %v, %v", org, err)
	}
}

func TestRouteRuleOrder(t *testing.T) {
	orgs, svcs := routingNetwork()
	in := Input{Kind: KindReport, About: "me", AgeBand: "25plus", County: "mombasa", Help: []string{"legal"}}
	rules := []store.RoutingRule{
		{ID: "b", Position: 2, OrgID: "traffic"},
		{ID: "c", Position: 1, County: "mombasa", OrgID: "legal"},
		{ID: "a", Position: 2, OrgID: "intake"},
		{ID: "gone", Position: 0, OrgID: "deleted-org"},
		{ID: "odd", Position: 0, AgeGroup: "teen", OrgID: "mixed"},
	}
	d, _ := Explain(in, orgs, svcs, rules)
	if d.Rule == nil || d.Rule.ID != "c" {
		t.Errorf("rule %+v, want c: lowest position first, whatever the order given", d.Rule)
	}
	rules[1].Position = 3
	if d, _ := Explain(in, orgs, svcs, rules); d.Rule == nil || d.Rule.ID != "a" {
		t.Errorf("rule %+v, want a: equal positions by id", d.Rule)
	}
	if rules[0].ID != "b" {
		t.Error("Explain reordered the caller's rules")
	}
}

func TestCheckRule(t *testing.T) {
	orgs := []store.Organisation{{ID: "org-a"}}
	ok := store.RoutingRule{County: "nairobi", Category: "trafficking", AgeGroup: "child", Need: "travel_home", OrgID: "org-a"}
	if err := CheckRule(ok, orgs); err != nil {
		t.Fatal(err)
	}
	if err := CheckRule(store.RoutingRule{OrgID: "org-a"}, orgs); err != nil {
		t.Errorf("a rule without conditions: %v", err)
	}
	if err := CheckRule(store.RoutingRule{County: "outside", OrgID: "org-a"}, orgs); err != nil {
		t.Errorf("outside Kenya: %v", err)
	}
	for field, edit := range map[string]func(*store.RoutingRule){
		"county":    func(r *store.RoutingRule) { r.County = "gotham" },
		"category":  func(r *store.RoutingRule) { r.Category = "theft" },
		"age_group": func(r *store.RoutingRule) { r.AgeGroup = "13-15" },
		"need":      func(r *store.RoutingRule) { r.Need = "record_only" },
		"org_id":    func(r *store.RoutingRule) { r.OrgID = "org-b" },
	} {
		r := ok
		edit(&r)
		var re *RuleError
		if err := CheckRule(r, orgs); !errors.As(err, &re) || re.Field != field || strings.TrimSpace(re.Problem) == "" {
			t.Errorf("%s: got %v", field, err)
		}
	}
}
