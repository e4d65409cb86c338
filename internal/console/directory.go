package console

// The directory and routing pages (SPEC §5.1): organisation admins keep
// their organisation's services up to date; coordinators keep every
// organisation's, and the routing rules that pick who receives a new
// report. What is saved here is what /help and help-now show, at once.

import (
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strconv"

	"github.com/salama-ke/salama/internal/network"
	"github.com/salama-ke/salama/internal/staff"

	"github.com/salama-ke/salama/internal/casework"
	"github.com/salama-ke/salama/internal/directory"
	"github.com/salama-ke/salama/internal/locale"
	"github.com/salama-ke/salama/internal/reporting"
	"github.com/salama-ke/salama/internal/store"
)

// directoryPages are the templates of these pages, parsed by New.
var directoryPages = []string{"directory", "directory_service", "rules"}

// englishWords names counties, service types, age groups, genders and
// languages as the public pages do in English.
var englishWords = locale.EnglishPrinter

// word is the English catalog's text for key, or fallback.
func word(key, fallback string) string {
	if p := englishWords(); p.Has(key) {
		return p.T(key)
	}
	return fallback
}

// option is one choice in a form: a select's option or a checkbox.
type option struct {
	Value, Label string
	On           bool
}

func options(values []string, labelOf func(string) string, on func(string) bool) []option {
	out := make([]option, len(values))
	for i, v := range values {
		out[i] = option{Value: v, Label: labelOf(v), On: on(v)}
	}
	return out
}

func countyName(slug string) string { return word(directory.CountyKey(slug), label(slug)) }

func typeName(t directory.ServiceType) string { return word(t.Key(), string(t)) }

// --- the directory ----------------------------------------------------------

type serviceRow struct {
	directory.Service
	TypeName, Where, Ages, Contact string
}

type orgRows struct {
	Org      store.Organisation
	Services []serviceRow
}

type directoryView struct {
	Orgs        []orgRows
	Coordinator bool
}

var doneWords = map[string]string{
	"added": "The service was added. It shows on the help pages now.", "saved": "Your changes were saved. The help pages show them now.",
	"removed": "The service was removed from the directory.",
}

func (c *Console) directoryList(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	ds, err := c.cfg.Network.Directory(r.Context(), p)
	if err != nil {
		c.unexpected(w, r, p, "directory failed", err)
		return
	}
	v := directoryView{Coordinator: p.Role == staff.RoleCoordinator}
	for _, d := range ds {
		row := orgRows{Org: d.Org}
		for _, s := range d.Services {
			row.Services = append(row.Services, describe(s))
		}
		v.Orgs = append(v.Orgs, row)
	}
	c.render(w, http.StatusOK, "directory", &view{Title: "Directory", P: p, Flash: doneWords[r.URL.Query().Get("done")], Data: v})
}

// describe is a service as one line of the list.
func describe(s directory.Service) serviceRow {
	row := serviceRow{Service: s, TypeName: typeName(s.Type), Ages: word(s.Ages.Key(), string(s.Ages))}
	switch {
	case s.National && len(s.Counties) > 0:
		row.Where = "All of Kenya (offices: " + countyList(s.Counties) + ")"
	case s.National:
		row.Where = "All of Kenya"
	default:
		row.Where = countyList(s.Counties)
	}
	for _, ch := range []struct{ what, v string }{
		{"Phone", s.Channels.Phone}, {"SMS", s.Channels.SMS}, {"WhatsApp", s.Channels.WhatsApp}, {"Web", s.Channels.Website},
	} {
		if ch.v != "" {
			if row.Contact != "" {
				row.Contact += " · "
			}
			row.Contact += ch.what + " " + ch.v
		}
	}
	if !s.Channels.WalkIn.IsZero() {
		if row.Contact != "" {
			row.Contact += " · "
		}
		row.Contact += "Walk-in"
	}
	return row
}

func countyList(slugs []string) string {
	out := ""
	for i, s := range slugs {
		if i > 0 {
			out += ", "
		}
		out += countyName(s)
	}
	return out
}

type serviceFormView struct {
	New         bool
	Svc         directory.Service // as typed
	Coordinator bool
	Orgs        []option
	Types       []option
	Ages        []option
	Counties    []option
	Genders     []option
	Languages   []option
	Problems    map[string]string // form field → what is wrong
}

func (c *Console) serviceForm(w http.ResponseWriter, r *http.Request, p *staff.Principal, status int, isNew bool, svc directory.Service, problem error) {
	orgs, err := c.cfg.Network.DirectoryOrgs(r.Context(), p)
	if err != nil {
		c.unexpected(w, r, p, "directory organisations failed", err)
		return
	}
	v := serviceFormView{New: isNew, Svc: svc, Coordinator: p.Role == staff.RoleCoordinator, Problems: map[string]string{}}
	for _, o := range orgs {
		v.Orgs = append(v.Orgs, option{Value: o.ID, Label: o.Name, On: o.ID == svc.OrgID})
	}
	var types, counties, genders []string
	for _, t := range directory.ServiceTypes() {
		types = append(types, string(t))
	}
	for _, cty := range directory.Counties() {
		counties = append(counties, cty.Slug)
	}
	for _, g := range directory.Genders() {
		genders = append(genders, string(g))
	}
	var ages []string
	for _, a := range directory.AgeGroups() {
		ages = append(ages, string(a))
	}
	v.Types = options(types, func(t string) string { return typeName(directory.ServiceType(t)) }, func(t string) bool { return t == string(svc.Type) })
	v.Ages = options(ages, func(a string) string { return word(directory.AgeGroup(a).Key(), a) }, func(a string) bool { return a == string(svc.Ages) })
	v.Counties = options(counties, countyName, func(s string) bool { return contains(svc.Counties, s) })
	v.Genders = options(genders, func(g string) string { return word(directory.Gender(g).Key(), g) }, func(g string) bool {
		return contains(svc.Genders, directory.Gender(g))
	})
	v.Languages = options(directory.Languages(), func(l string) string { return word(directory.LanguageKey(l), l) }, func(l string) bool {
		return contains(svc.Languages, l)
	})
	title := "Edit " + svc.Name
	if isNew {
		title = "Add a service"
	}
	page := &view{Title: title, P: p, Data: &v}
	var fe *directory.FieldError
	switch {
	case problem == nil:
	case errors.As(problem, &fe):
		v.Problems[formField(fe.Field)] = fe.Problem
		page.Problem = "Please correct the marked field; everything you typed is still here."
	default:
		page.Problem = problem.Error()
	}
	c.render(w, status, "directory_service", page)
}

func contains[T comparable](list []T, v T) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

var listItem = regexp.MustCompile(`\[\d+\]$`)

// formField maps a FieldError's field to the form input it belongs to:
// "counties[2]" is the counties checkboxes.
func formField(field string) string { return listItem.ReplaceAllString(field, "") }

func (c *Console) directoryNew(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	svc := directory.Service{OrgID: r.URL.Query().Get("org"), Ages: directory.AgesAll, Languages: []string{"en", "sw"}, Free: true}
	if svc.OrgID == "" || p.Role != staff.RoleCoordinator {
		svc.OrgID = p.OrgID
	}
	c.serviceForm(w, r, p, http.StatusOK, true, svc, nil)
}

func formService(r *http.Request) directory.Service {
	return network.ServiceFromForm(r.PostForm.Get, func(name string) []string { return r.PostForm[name] })
}

func (c *Console) directoryCreate(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	svc := formService(r)
	_, err := c.cfg.Network.AddService(r.Context(), p, svc)
	c.afterServiceEdit(w, r, p, true, svc, err, "added")
}

func (c *Console) directoryEdit(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	svc, err := c.cfg.Network.DirectoryService(r.Context(), p, r.PathValue("id"))
	if err != nil {
		c.serviceError(w, r, p, err)
		return
	}
	c.serviceForm(w, r, p, http.StatusOK, false, *svc, nil)
}

func (c *Console) directoryUpdate(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	svc := formService(r)
	svc.ID = r.PathValue("id")
	err := c.cfg.Network.UpdateService(r.Context(), p, svc.ID, svc)
	c.afterServiceEdit(w, r, p, false, svc, err, "saved")
}

func (c *Console) directoryDelete(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	if err := c.cfg.Network.DeleteService(r.Context(), p, r.PathValue("id")); err != nil {
		c.serviceError(w, r, p, err)
		return
	}
	http.Redirect(w, r, "/console/directory?done=removed", http.StatusSeeOther)
}

func (c *Console) afterServiceEdit(w http.ResponseWriter, r *http.Request, p *staff.Principal, isNew bool, svc directory.Service, err error, done string) {
	var fe *directory.FieldError
	switch {
	case err == nil:
		http.Redirect(w, r, "/console/directory?done="+done, http.StatusSeeOther)
	case errors.As(err, &fe):
		c.serviceForm(w, r, p, http.StatusUnprocessableEntity, isNew, svc, err)
	case errors.Is(err, casework.ErrNotFound), errors.Is(err, casework.ErrForbidden):
		c.serviceError(w, r, p, err)
	default:
		c.log.Error("saving a directory service failed", "err", err)
		c.serviceForm(w, r, p, http.StatusServiceUnavailable, isNew, svc, errors.New("Something went wrong and nothing was saved. Please try again."))
	}
}

func (c *Console) serviceError(w http.ResponseWriter, r *http.Request, p *staff.Principal, err error) {
	switch {
	case errors.Is(err, casework.ErrNotFound), errors.Is(err, casework.ErrForbidden):
		c.fail(w, r, p, http.StatusNotFound, "This page does not exist.")
	default:
		c.unexpected(w, r, p, "directory service failed", err)
	}
}

func (c *Console) directoryExport(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	b, err := c.cfg.Network.ExportDirectory(r.Context(), p)
	if err != nil {
		c.unexpected(w, r, p, "directory export failed", err)
		return
	}
	w.Header().Set("Content-Type", "application/yaml; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="salama-directory.yaml"`)
	w.Write(b)
}

func (c *Console) unexpected(w http.ResponseWriter, r *http.Request, p *staff.Principal, what string, err error) {
	c.log.Error(what, "err", err)
	c.fail(w, r, p, http.StatusServiceUnavailable, "Something went wrong. Please try again in a minute.")
}

// --- routing rules ----------------------------------------------------------

type ruleRow struct {
	store.RoutingRule
	N                                int
	County, Category, Age, Need, Org string
	First, Last                      bool
	Warnings                         []string
}

type tryView struct {
	County, Category, AgeBand, About, Need string
	Done                                   bool
	Org, Why                               string
}

type rulesView struct {
	Rules      []ruleRow
	Edit       *store.RoutingRule // the rule being edited, or nil: the form adds
	Form       store.RoutingRule  // the form's values, as chosen
	Problems   map[string]string
	Counties   []option
	Categories []option
	AgeGroups  []option
	Needs      []option
	Orgs       []option
	Intake     string
	ChildOrgs  []string
	Try        tryView
	TryCounty  []option
	TryCats    []option
	TryAges    []option
	TryAbout   []option
	TryNeeds   []option
}

var ruleAgeWords = map[string]string{store.RuleChild: "Children (under 18)", store.RuleAdult: "Adults (18 and over)"}

func (c *Console) routing(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	c.renderRouting(w, r, p, http.StatusOK, nil, store.RoutingRule{}, nil)
}

func (c *Console) routingEdit(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	rule, err := c.cfg.Network.RoutingRule(r.Context(), p, r.PathValue("id"))
	if err != nil {
		c.serviceError(w, r, p, err)
		return
	}
	c.renderRouting(w, r, p, http.StatusOK, rule, *rule, nil)
}

func (c *Console) renderRouting(w http.ResponseWriter, r *http.Request, p *staff.Principal, status int, edit *store.RoutingRule, form store.RoutingRule, problem error) {
	rt, err := c.cfg.Network.Routing(r.Context(), p)
	if err != nil {
		c.serviceError(w, r, p, err)
		return
	}
	orgName := map[string]string{}
	hasChild := map[string]bool{}
	v := rulesView{Edit: edit, Form: form, Problems: map[string]string{}}
	for _, o := range rt.Orgs {
		orgName[o.ID] = o.Name
		if o.Intake && v.Intake == "" {
			v.Intake = o.Name
		}
	}
	for _, s := range rt.Services {
		if s.Type == directory.TypeChildProtection && s.Ages.ServesChildren() && !hasChild[s.OrgID] && orgName[s.OrgID] != "" {
			hasChild[s.OrgID] = true
			v.ChildOrgs = append(v.ChildOrgs, orgName[s.OrgID])
		}
	}
	orAny := func(v, text string) string {
		if v == "" {
			return "any"
		}
		return text
	}
	for i, rule := range rt.Rules {
		row := ruleRow{RoutingRule: rule, N: i + 1, First: i == 0, Last: i == len(rt.Rules)-1,
			County: orAny(rule.County, countyName(rule.County)), Category: orAny(rule.Category, label(rule.Category)),
			Age: orAny(rule.AgeGroup, ruleAgeWords[rule.AgeGroup]), Need: orAny(rule.Need, label(rule.Need)), Org: orgName[rule.OrgID]}
		if rule.County == "" && rule.Category == "" && rule.AgeGroup == "" && rule.Need == "" {
			row.Warnings = append(row.Warnings, "No conditions: this rule takes every report, and no rule below it is ever used (except for children, see below).")
		}
		if rule.AgeGroup != store.RuleAdult && !hasChild[rule.OrgID] {
			row.Warnings = append(row.Warnings, "This organisation has no child-protection service: a child's report that matches goes on to the next rule.")
		}
		v.Rules = append(v.Rules, row)
	}
	counties := []string{directory.CountyOutside}
	for _, cty := range directory.Counties() {
		counties = append(counties, cty.Slug)
	}
	v.Counties = options(counties, countyName, func(s string) bool { return s == form.County })
	v.Categories = options(reporting.RuleCategories, label, func(s string) bool { return s == form.Category })
	v.AgeGroups = options(reporting.RuleAgeGroups, func(a string) string { return ruleAgeWords[a] }, func(s string) bool { return s == form.AgeGroup })
	v.Needs = options(reporting.RuleNeeds, label, func(s string) bool { return s == form.Need })
	for _, o := range rt.Orgs {
		v.Orgs = append(v.Orgs, option{Value: o.ID, Label: o.Name, On: o.ID == form.OrgID})
	}

	// "Where would this report go?"
	q := r.URL.Query()
	v.Try = tryView{County: q.Get("county"), Category: q.Get("category"), AgeBand: q.Get("age"), About: q.Get("about"), Need: q.Get("need")}
	v.TryCounty = options(append([]string{"notsay"}, counties...), func(s string) string {
		if s == "notsay" {
			return "Not said"
		}
		return countyName(s)
	}, func(s string) bool { return s == v.Try.County })
	v.TryCats = options(reporting.WhatChoices, label, func(s string) bool { return s == v.Try.Category })
	v.TryAges = options(reporting.AgeChoices, func(s string) string {
		if s == "notsay" {
			return "Not said"
		}
		return label(s)
	}, func(s string) bool { return s == v.Try.AgeBand })
	v.TryAbout = options(reporting.AboutChoices, label, func(s string) bool { return s == v.Try.About })
	v.TryNeeds = options(reporting.RuleNeeds, label, func(s string) bool { return s == v.Try.Need })
	if q.Get("try") != "" {
		in := reporting.Input{Kind: reporting.KindReport, County: v.Try.County, AgeBand: v.Try.AgeBand, About: v.Try.About}
		if v.Try.Category != "" {
			in.What = []string{v.Try.Category}
		}
		if v.Try.Need != "" {
			in.Help = []string{v.Try.Need}
		}
		d, err := reporting.Explain(in, rt.Orgs, rt.Services, rt.Rules)
		v.Try.Done = true
		switch {
		case err != nil:
			v.Try.Why = "No organisation: the network has no intake organisation."
		default:
			v.Try.Org = d.Org.Name
			pos := func(id string) string {
				for _, row := range v.Rules {
					if row.ID == id {
						return "#" + strconv.Itoa(row.N)
					}
				}
				return "?"
			}
			switch d.Reason {
			case reporting.ReasonRule:
				v.Try.Why = "by rule " + pos(d.Rule.ID)
			case reporting.ReasonChild:
				v.Try.Why = "because a child is involved: the child-protection organisation for the county"
			default:
				v.Try.Why = "the intake organisation: no rule matched"
			}
			for i, s := range d.Skipped {
				if i == 0 {
					v.Try.Why += "; passed over for a child (no child-protection service): rule "
				} else {
					v.Try.Why += ", "
				}
				v.Try.Why += pos(s.ID)
			}
		}
	}

	page := &view{Title: "Routing rules", P: p, Data: &v, Flash: ruleDone[q.Get("done")]}
	var re *reporting.RuleError
	switch {
	case problem == nil:
	case errors.As(problem, &re):
		v.Problems[re.Field] = re.Problem
		page.Problem = "Please correct the marked field."
	default:
		page.Problem = problem.Error()
	}
	c.render(w, status, "rules", page)
}

var ruleDone = map[string]string{
	"added": "Rule added. New reports follow it from now on.", "saved": "Rule saved.", "removed": "Rule removed.", "moved": "Rule moved.",
}

func ruleFromForm(f url.Values) store.RoutingRule {
	return store.RoutingRule{County: f.Get("county"), Category: f.Get("category"), AgeGroup: f.Get("age_group"),
		Need: f.Get("need"), OrgID: f.Get("org_id")}
}

func (c *Console) routingAdd(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	rule := ruleFromForm(r.PostForm)
	_, err := c.cfg.Network.AddRoutingRule(r.Context(), p, rule)
	c.afterRuleEdit(w, r, p, nil, rule, err, "added")
}

func (c *Console) routingUpdate(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	old, err := c.cfg.Network.RoutingRule(r.Context(), p, r.PathValue("id"))
	if err != nil {
		c.serviceError(w, r, p, err)
		return
	}
	rule := ruleFromForm(r.PostForm)
	rule.ID = old.ID
	err = c.cfg.Network.UpdateRoutingRule(r.Context(), p, rule)
	c.afterRuleEdit(w, r, p, old, rule, err, "saved")
}

func (c *Console) afterRuleEdit(w http.ResponseWriter, r *http.Request, p *staff.Principal, edit *store.RoutingRule, rule store.RoutingRule, err error, done string) {
	var re *reporting.RuleError
	switch {
	case err == nil:
		http.Redirect(w, r, "/console/routing?done="+done, http.StatusSeeOther)
	case errors.As(err, &re):
		c.renderRouting(w, r, p, http.StatusUnprocessableEntity, edit, rule, err)
	case errors.Is(err, casework.ErrNotFound), errors.Is(err, casework.ErrForbidden):
		c.serviceError(w, r, p, err)
	default:
		c.log.Error("saving a routing rule failed", "err", err)
		c.renderRouting(w, r, p, http.StatusServiceUnavailable, edit, rule, errors.New("Something went wrong and nothing was saved. Please try again."))
	}
}

func (c *Console) routingDelete(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	c.ruleAction(w, r, p, "removed", func() error { return c.cfg.Network.DeleteRoutingRule(r.Context(), p, r.PathValue("id")) })
}

func (c *Console) routingUp(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	c.ruleAction(w, r, p, "moved", func() error { return c.cfg.Network.MoveRoutingRule(r.Context(), p, r.PathValue("id"), true) })
}

func (c *Console) routingDown(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	c.ruleAction(w, r, p, "moved", func() error { return c.cfg.Network.MoveRoutingRule(r.Context(), p, r.PathValue("id"), false) })
}

func (c *Console) ruleAction(w http.ResponseWriter, r *http.Request, p *staff.Principal, done string, do func() error) {
	if err := do(); err != nil {
		c.serviceError(w, r, p, err)
		return
	}
	http.Redirect(w, r, "/console/routing?done="+done, http.StatusSeeOther)
}
