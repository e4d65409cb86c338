package reporting

import (
	"cmp"
	"errors"
	"fmt"
	"slices"

	"github.com/salama-ke/salama/internal/report"

	"github.com/salama-ke/salama/internal/directory"
	"github.com/salama-ke/salama/internal/store"
)

// ErrNoIntake means the network has no intake organisation: a deployment
// error, reported at start-up by the server.
var ErrNoIntake = errors.New("reporting: the network has no intake organisation")

// Why a report went where it did.
const (
	ReasonRule   = "rule"             // a coordinator's routing rule
	ReasonChild  = "child_protection" // a child's report, no rule (or none allowed)
	ReasonIntake = "intake"           // the network's fallback
)

// Decision is where a new report goes, and why.
type Decision struct {
	Org    *store.Organisation
	Reason string             // ReasonRule, ReasonChild or ReasonIntake
	Rule   *store.RoutingRule // the rule that chose Org, with ReasonRule
	// Skipped are rules that matched a child's report but name an
	// organisation without a child-protection service, so were passed over.
	Skipped []store.RoutingRule
}

// Route picks the one organisation that receives a new report; see Explain.
func Route(in Input, orgs []store.Organisation, svcs []directory.Service, rules []store.RoutingRule) (*store.Organisation, error) {
	d, err := Explain(in, orgs, svcs, rules)
	return d.Org, err
}

// Explain picks the one organisation that receives a new report (SPEC §5.1)
// and says why. It is pure: the caller passes the organisations, the
// directory's services and the coordinators' routing rules.
//
//  1. The rules are tried in Position order; the first whose conditions all
//     match the report wins. A condition left empty matches anything.
//  2. Except that a child's report must reach an organisation with a
//     child-protection service (one of type child_protection that serves
//     children): a matching rule naming any other organisation is passed
//     over, and the next rule is tried.
//  3. A child's report no rule took goes to a child-protection organisation
//     with a child-protection service in the report's county, then with a
//     national one, then with any; then to any organisation with such a
//     service; then to an organisation marked child-protection.
//  4. Everything else goes to the network's intake organisation.
//
// A report is a child's when it is about a child, has an age band under 18,
// or is a tip that says a child seems involved. It is an adult's (for a
// rule's "adult" condition) when it is not a child's and has an age band of
// 18 or over or is about another adult; with no age said it is neither.
func Explain(in Input, orgs []store.Organisation, svcs []directory.Service, rules []store.RoutingRule) (Decision, error) {
	byID := make(map[string]*store.Organisation, len(orgs))
	var intake *store.Organisation
	for i := range orgs {
		o := &orgs[i]
		if o.PublicKey == "" {
			// A provider listed in the directory without running Salama
			// has no key: a report can never be sealed to it.
			continue
		}
		byID[o.ID] = o
		if o.Intake && intake == nil {
			intake = o
		}
	}
	child := in.Child()
	var d Decision
	ordered := slices.Clone(rules)
	slices.SortStableFunc(ordered, func(a, b store.RoutingRule) int {
		return cmp.Or(cmp.Compare(a.Position, b.Position), cmp.Compare(a.ID, b.ID))
	})
	facts := factsOf(&in)
	for i := range ordered {
		r := &ordered[i]
		o := byID[r.OrgID]
		if o == nil || !facts.match(r) {
			continue
		}
		if child && !hasChildService(r.OrgID, svcs) {
			d.Skipped = append(d.Skipped, *r)
			continue
		}
		d.Org, d.Reason, d.Rule = o, ReasonRule, r
		return d, nil
	}
	if child {
		if o := childProtection(facts.county, byID, orgs, svcs); o != nil {
			d.Org, d.Reason = o, ReasonChild
			return d, nil
		}
	}
	if intake == nil {
		return d, ErrNoIntake
	}
	d.Org, d.Reason = intake, ReasonIntake
	return d, nil
}

// facts are what a rule can test, taken from the form once.
type facts struct {
	county     string // a county slug, "outside" or ""
	categories []string
	child      bool
	adult      bool
	needs      []string
}

func factsOf(in *Input) facts {
	f := facts{county: in.County, categories: in.What, needs: in.Help, child: in.Child()}
	if f.county == "notsay" {
		f.county = ""
	}
	if in.Kind == KindTip {
		f.categories = []string{report.CategoryAdvertised} // as reportFromInput stores a tip
	}
	f.adult = !f.child && (report.IsAdult(in.AgeBand) || in.About == report.AboutAdult)
	return f
}

func (f facts) match(r *store.RoutingRule) bool {
	switch {
	case r.County != "" && r.County != f.county,
		r.Category != "" && !slices.Contains(f.categories, r.Category),
		r.AgeGroup == store.RuleChild && !f.child,
		r.AgeGroup == store.RuleAdult && !f.adult,
		r.AgeGroup != "" && r.AgeGroup != store.RuleChild && r.AgeGroup != store.RuleAdult,
		r.Need != "" && !slices.Contains(f.needs, r.Need):
		return false
	}
	return true
}

func isChildService(s directory.Service) bool {
	return s.Type == directory.TypeChildProtection && s.Ages.ServesChildren()
}

func hasChildService(orgID string, svcs []directory.Service) bool {
	return slices.ContainsFunc(svcs, func(s directory.Service) bool { return s.OrgID == orgID && isChildService(s) })
}

// childProtection finds where a child's report goes when no rule took it;
// nil when the network has no child-protection organisation at all.
func childProtection(county string, byID map[string]*store.Organisation, orgs []store.Organisation, svcs []directory.Service) *store.Organisation {
	const (
		inCounty = iota
		national
		flagged
		withService
		none
	)
	best, bestTier := (*store.Organisation)(nil), none
	for _, s := range svcs {
		o := byID[s.OrgID]
		if o == nil || !isChildService(s) {
			continue
		}
		tier := withService
		switch {
		case o.ChildProtection && county != "" && slices.Contains(s.Counties, county):
			tier = inCounty
		case o.ChildProtection && s.National:
			tier = national
		case o.ChildProtection:
			tier = flagged
		}
		if tier < bestTier {
			best, bestTier = o, tier
		}
	}
	if best != nil {
		return best
	}
	for i := range orgs {
		if orgs[i].ChildProtection {
			return &orgs[i]
		}
	}
	return nil
}

// Conditions a routing rule may set, for the console's forms.
var (
	RuleAgeGroups  = []string{store.RuleChild, store.RuleAdult}
	RuleCategories = WhatChoices
	// RuleNeeds leaves out record_only, which asks for nobody.
	RuleNeeds = slices.DeleteFunc(slices.Clone(HelpChoices), func(n string) bool { return n == string(report.NeedRecordOnly) })
)

// RuleError says which condition of a routing rule is wrong.
type RuleError struct {
	Field   string // "county", "category", "age_group", "need" or "org_id"
	Problem string // short, English, safe to show a coordinator
}

func (e *RuleError) Error() string { return fmt.Sprintf("reporting: rule %s: %s", e.Field, e.Problem) }

// CheckRule checks a rule before it is stored: each condition is empty or
// one of the answers a report can give, and the organisation exists. A rule
// with no condition at all is allowed (it sends every report, but a child's
// to a child-protection service, to one organisation) but is worth a second
// look; the console says so.
func CheckRule(r store.RoutingRule, orgs []store.Organisation) error {
	switch {
	case r.County != "" && r.County != directory.CountyOutside && !knownCounty(r.County):
		return &RuleError{"county", "unknown county"}
	case r.Category != "" && !slices.Contains(RuleCategories, r.Category):
		return &RuleError{"category", "unknown category"}
	case r.AgeGroup != "" && !slices.Contains(RuleAgeGroups, r.AgeGroup):
		return &RuleError{"age_group", `must be "child", "adult" or empty`}
	case r.Need != "" && !slices.Contains(RuleNeeds, r.Need):
		return &RuleError{"need", "unknown kind of help"}
	case !slices.ContainsFunc(orgs, func(o store.Organisation) bool { return o.ID == r.OrgID }):
		return &RuleError{"org_id", "choose an organisation"}
	}
	return nil
}
