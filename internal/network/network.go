// Package network owns the network's shape as the console edits it: the
// directory of services and the routing rules. An organisation admin
// adds, edits and removes the services of their own organisation; a
// coordinator those of every organisation, and the routing rules
// (SPEC §5.1). It is apart from casework, which owns what is done with
// reports, and from staff identity (internal/staff), whose Principal it
// is given.
package network

// The network's directory and routing rules, as edited in the console
// (SPEC §5.1): an organisation admin adds, edits and removes the services of
// their own organisation; a coordinator those of every organisation, and the
// routing rules. A service of another organisation is "not found" to an
// organisation admin, never "forbidden". Every change is audited before it
// is written, and OnDirectoryChange runs after it so that help pages show it
// at once.

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/salama-ke/salama/internal/staff"

	"github.com/salama-ke/salama/internal/audit"
	"github.com/salama-ke/salama/internal/directory"
	"github.com/salama-ke/salama/internal/ids"
	"github.com/salama-ke/salama/internal/reporting"
	"github.com/salama-ke/salama/internal/store"
)

// OrgDirectory is one organisation and its services, by name.
type OrgDirectory struct {
	Org      store.Organisation
	Services []directory.Service
}

// Directory returns the organisations whose services p may edit, with their
// services: an organisation admin's own, or every one for a coordinator.
func (s *Service) Directory(ctx context.Context, p *staff.Principal) ([]OrgDirectory, error) {
	orgs, err := s.directoryOrgs(ctx, p)
	if err != nil {
		return nil, err
	}
	svcs, err := directory.Stored(ctx, s.staff.Store)
	if err != nil {
		return nil, err
	}
	out := make([]OrgDirectory, len(orgs))
	for i, o := range orgs {
		out[i].Org = o
		for _, svc := range svcs {
			if svc.OrgID == o.ID {
				out[i].Services = append(out[i].Services, svc)
			}
		}
		slices.SortStableFunc(out[i].Services, func(a, b directory.Service) int {
			return cmp.Or(strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)), strings.Compare(a.ID, b.ID))
		})
	}
	return out, nil
}

// DirectoryOrgs returns the organisations p may add services to.
func (s *Service) DirectoryOrgs(ctx context.Context, p *staff.Principal) ([]store.Organisation, error) {
	return s.directoryOrgs(ctx, p)
}

func (s *Service) directoryOrgs(ctx context.Context, p *staff.Principal) ([]store.Organisation, error) {
	if !p.Can(staff.RoleOrgAdmin) {
		return nil, staff.ErrForbidden
	}
	orgs, err := s.staff.Store.Organisations(ctx)
	if err != nil {
		return nil, err
	}
	if p.Role != staff.RoleCoordinator {
		orgs = slices.DeleteFunc(orgs, func(o store.Organisation) bool { return o.ID != p.OrgID })
	}
	return orgs, nil
}

// DirectoryService returns a service p may edit; any other is staff.ErrNotFound.
func (s *Service) DirectoryService(ctx context.Context, p *staff.Principal, id string) (*directory.Service, error) {
	if !p.Can(staff.RoleOrgAdmin) {
		return nil, staff.ErrForbidden
	}
	svc, err := directory.StoredService(ctx, s.staff.Store, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && p.Role != staff.RoleCoordinator && svc.OrgID != p.OrgID {
		return nil, staff.ErrNotFound
	}
	return svc, err
}

// ownerFor decides which organisation a service p writes belongs to: an
// organisation admin's own, whatever the form said; for a coordinator the
// organisation chosen, which must exist.
func (s *Service) ownerFor(ctx context.Context, p *staff.Principal, svc *directory.Service) error {
	if p.Role != staff.RoleCoordinator {
		svc.OrgID = p.OrgID
		return nil
	}
	if _, err := s.staff.Store.Organisation(ctx, svc.OrgID); errors.Is(err, store.ErrNotFound) {
		return &directory.FieldError{ID: svc.ID, Field: "org_id", Problem: "choose an organisation"}
	} else if err != nil {
		return err
	}
	return nil
}

// errMarkNotYours refuses an organisation admin's attempt to set the
// child-protection mark, which only a coordinator gives (the form never
// offers it to them, so it was forged).
func errMarkNotYours(id string) error {
	return &directory.FieldError{ID: id, Field: "child_protection", Problem: "only the network coordinator can mark a service as child protection"}
}

// AddService adds a service to the directory. An empty ID is made from the
// name. A problem with the service is a *directory.FieldError naming the
// field. Only a coordinator may give the child-protection mark.
func (s *Service) AddService(ctx context.Context, p *staff.Principal, svc directory.Service) (string, error) {
	if !p.Can(staff.RoleOrgAdmin) {
		return "", staff.ErrForbidden
	}
	if svc.ChildProtection && p.Role != staff.RoleCoordinator {
		s.staff.Refused(ctx, p, "child_protection_mark")
		return "", errMarkNotYours(svc.ID)
	}
	if err := s.ownerFor(ctx, p, &svc); err != nil {
		return "", err
	}
	if svc.ID == "" {
		id, err := s.freeServiceID(ctx, svc.Name)
		if err != nil {
			return "", err
		}
		svc.ID = id
	}
	if err := svc.Validate(); err != nil {
		return "", err
	}
	taken := &directory.FieldError{ID: svc.ID, Field: "id", Problem: "is already used by another service; choose another"}
	if _, err := directory.StoredService(ctx, s.staff.Store, svc.ID); err == nil {
		return "", taken
	} else if !errors.Is(err, store.ErrNotFound) {
		return "", err
	}
	if err := s.recordDirectory(ctx, p, svc.ID, svc.OrgID, "added"); err != nil {
		return "", err
	}
	if err := s.recordMark(ctx, p, directory.Service{}, svc); err != nil {
		return "", err
	}
	switch err := directory.Create(ctx, s.staff.Store, svc, s.staff.Now().UTC()); {
	case errors.Is(err, store.ErrDuplicateKey):
		return "", taken
	case err != nil:
		return "", err
	}
	s.directoryChanged()
	return svc.ID, nil
}

// UpdateService replaces service id with svc. The id never changes (it is
// how referrals and files name the service). A coordinator may move a
// service to another organisation, and gives or removes the
// child-protection mark; an organisation admin may do neither, and their
// change of a marked service's type or ages removes the mark (the
// coordinator judged the service as it was).
func (s *Service) UpdateService(ctx context.Context, p *staff.Principal, id string, svc directory.Service) error {
	old, err := s.DirectoryService(ctx, p, id)
	if err != nil {
		return err
	}
	svc.ID = old.ID
	if p.Role != staff.RoleCoordinator {
		if svc.ChildProtection && !old.ChildProtection {
			s.staff.Refused(ctx, p, "child_protection_mark")
			return errMarkNotYours(svc.ID)
		}
		svc.OrgID = old.OrgID
		svc.ChildProtection = old.ChildProtection && svc.Type == old.Type && svc.Ages == old.Ages
	} else if err := s.ownerFor(ctx, p, &svc); err != nil {
		return err
	}
	if err := svc.Validate(); err != nil {
		return err
	}
	if svc.Equal(*old) {
		return nil // nothing changed: nothing to record
	}
	if err := s.recordDirectory(ctx, p, svc.ID, svc.OrgID, "edited"); err != nil {
		return err
	}
	if err := s.recordMark(ctx, p, *old, svc); err != nil {
		return err
	}
	if err := directory.Update(ctx, s.staff.Store, svc, old.OrgID, s.staff.Now().UTC()); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return staff.ErrNotFound // removed or moved meanwhile
		}
		return err
	}
	s.directoryChanged()
	return nil
}

// DeleteService removes a service from the directory. Referrals already
// made to it keep its id.
func (s *Service) DeleteService(ctx context.Context, p *staff.Principal, id string) error {
	old, err := s.DirectoryService(ctx, p, id)
	if err != nil {
		return err
	}
	if err := s.recordDirectory(ctx, p, old.ID, old.OrgID, "removed"); err != nil {
		return err
	}
	if err := s.staff.Store.DeleteService(ctx, old.ID, old.OrgID); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return staff.ErrNotFound
		}
		return err
	}
	s.directoryChanged()
	return nil
}

// ExportDirectory writes the directory file (see directory.MarshalFile) of
// the organisations p may edit.
func (s *Service) ExportDirectory(ctx context.Context, p *staff.Principal) ([]byte, error) {
	ds, err := s.Directory(ctx, p)
	if err != nil {
		return nil, err
	}
	var orgs []directory.Org
	var svcs []directory.Service
	for _, d := range ds {
		orgs = append(orgs, directory.Org{ID: d.Org.ID, Name: d.Org.Name})
		svcs = append(svcs, d.Services...)
	}
	return directory.MarshalFile(orgs, svcs)
}

// Service edits the directory and the routing rules, with the staff
// service's store, audit log and clock.
type Service struct {
	staff *staff.Service
	// OnDirectoryChange, if set, is called after the directory or the
	// routing rules change, so that the help pages show it at once.
	OnDirectoryChange func()
}

// New returns the network's editing service over the staff service (its
// store, clock, audit log, and the record of refused requests).
func New(st *staff.Service) *Service { return &Service{staff: st} }

func (s *Service) record(ctx context.Context, actor, orgID string, action audit.Action, reportID, detail string) error {
	return s.staff.Audit.Record(ctx, audit.Event{Actor: actor, OrgID: orgID, Action: action, ReportID: reportID, Detail: detail})
}

func (s *Service) recordDirectory(ctx context.Context, p *staff.Principal, serviceID, orgID, change string) error {
	return s.record(ctx, audit.UserActor(p.UserID), p.OrgID, audit.DirectoryChanged, "",
		fmt.Sprintf("service=%s org=%s change=%s", serviceID, orgID, change))
}

// recordMark audits a change of the child-protection mark from old to svc.
func (s *Service) recordMark(ctx context.Context, p *staff.Principal, old, svc directory.Service) error {
	switch {
	case svc.ChildProtection && !old.ChildProtection:
		return s.recordDirectory(ctx, p, svc.ID, svc.OrgID, "child_protection_marked")
	case !svc.ChildProtection && old.ChildProtection:
		return s.recordDirectory(ctx, p, svc.ID, svc.OrgID, "child_protection_unmarked")
	}
	return nil
}

func (s *Service) directoryChanged() {
	if s.OnDirectoryChange != nil {
		s.OnDirectoryChange()
	}
}

// freeServiceID makes an id from a service's name ("Legal Aid Clinic,
// Kisumu" → "legal-aid-clinic-kisumu") that no service has yet.
func (s *Service) freeServiceID(ctx context.Context, name string) (string, error) {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
			dash = false
		case b.Len() > 0 && !dash:
			b.WriteByte('-')
			dash = true
		}
		if b.Len() >= 48 {
			break
		}
	}
	base := strings.TrimRight(b.String(), "-")
	if base == "" {
		base = "service"
	}
	for n := 1; n < 100; n++ {
		id := base
		if n > 1 {
			id = fmt.Sprintf("%s-%d", base, n)
		}
		switch _, err := directory.StoredService(ctx, s.staff.Store, id); {
		case errors.Is(err, store.ErrNotFound):
			return id, nil
		case err != nil:
			return "", err
		}
	}
	return base + "-" + ids.New()[:8], nil
}

// --- routing rules (coordinators) -----------------------------------------

// Routing is what the routing page shows: the rules in order, and the
// organisations and services they are checked against.
type Routing struct {
	Rules    []store.RoutingRule
	Orgs     []store.Organisation
	Services []directory.Service
}

// Routing returns the rules, organisations and services (coordinators only).
func (s *Service) Routing(ctx context.Context, p *staff.Principal) (*Routing, error) {
	if !p.Can(staff.RoleCoordinator) {
		return nil, staff.ErrForbidden
	}
	var r Routing
	var err error
	if r.Rules, err = s.staff.Store.RoutingRules(ctx); err != nil {
		return nil, err
	}
	if r.Orgs, err = s.staff.Store.Organisations(ctx); err != nil {
		return nil, err
	}
	if r.Services, err = directory.Stored(ctx, s.staff.Store); err != nil {
		return nil, err
	}
	return &r, nil
}

// RoutingRule returns one rule (coordinators only).
func (s *Service) RoutingRule(ctx context.Context, p *staff.Principal, id string) (*store.RoutingRule, error) {
	if !p.Can(staff.RoleCoordinator) {
		return nil, staff.ErrForbidden
	}
	r, err := s.staff.Store.RoutingRule(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, staff.ErrNotFound
	}
	return r, err
}

// AddRoutingRule adds a rule after the others. A problem with it is a
// *reporting.RuleError naming the condition.
func (s *Service) AddRoutingRule(ctx context.Context, p *staff.Principal, r store.RoutingRule) (string, error) {
	if err := s.checkRule(ctx, p, r); err != nil {
		return "", err
	}
	r.ID = ids.New()
	if err := s.recordRouting(ctx, p, r.ID, r.OrgID, "added"); err != nil {
		return "", err
	}
	if err := s.staff.Store.AddRoutingRule(ctx, &r, s.staff.Now().UTC()); err != nil {
		return "", err
	}
	s.directoryChanged()
	return r.ID, nil
}

// UpdateRoutingRule changes a rule's conditions and organisation; it keeps
// its place.
func (s *Service) UpdateRoutingRule(ctx context.Context, p *staff.Principal, r store.RoutingRule) error {
	old, err := s.RoutingRule(ctx, p, r.ID)
	if err != nil {
		return err
	}
	if err := s.checkRule(ctx, p, r); err != nil {
		return err
	}
	if old.County == r.County && old.Category == r.Category && old.AgeGroup == r.AgeGroup && old.Need == r.Need && old.OrgID == r.OrgID {
		return nil
	}
	if err := s.recordRouting(ctx, p, r.ID, r.OrgID, "edited"); err != nil {
		return err
	}
	if err := s.staff.Store.UpdateRoutingRule(ctx, r, s.staff.Now().UTC()); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return staff.ErrNotFound
		}
		return err
	}
	s.directoryChanged()
	return nil
}

// DeleteRoutingRule removes a rule.
func (s *Service) DeleteRoutingRule(ctx context.Context, p *staff.Principal, id string) error {
	old, err := s.RoutingRule(ctx, p, id)
	if err != nil {
		return err
	}
	if err := s.recordRouting(ctx, p, old.ID, old.OrgID, "removed"); err != nil {
		return err
	}
	if err := s.staff.Store.DeleteRoutingRule(ctx, id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return staff.ErrNotFound
		}
		return err
	}
	s.directoryChanged()
	return nil
}

// MoveRoutingRule moves a rule one place up (tried sooner) or down.
func (s *Service) MoveRoutingRule(ctx context.Context, p *staff.Principal, id string, up bool) error {
	old, err := s.RoutingRule(ctx, p, id)
	if err != nil {
		return err
	}
	by, change := 1, "moved_down"
	if up {
		by, change = -1, "moved_up"
	}
	if err := s.recordRouting(ctx, p, old.ID, old.OrgID, change); err != nil {
		return err
	}
	if err := s.staff.Store.MoveRoutingRule(ctx, id, by, s.staff.Now().UTC()); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return staff.ErrNotFound
		}
		return err
	}
	s.directoryChanged()
	return nil
}

func (s *Service) checkRule(ctx context.Context, p *staff.Principal, r store.RoutingRule) error {
	if !p.Can(staff.RoleCoordinator) {
		return staff.ErrForbidden
	}
	orgs, err := s.staff.Store.Organisations(ctx)
	if err != nil {
		return err
	}
	return reporting.CheckRule(r, orgs)
}

func (s *Service) recordRouting(ctx context.Context, p *staff.Principal, ruleID, orgID, change string) error {
	return s.record(ctx, audit.UserActor(p.UserID), p.OrgID, audit.RoutingChanged, "",
		fmt.Sprintf("rule=%s org=%s change=%s", ruleID, orgID, change))
}

// cleanLine trims a one-line form value and makes it valid UTF-8; Validate
// then judges it.
func cleanLine(v string) string {
	return strings.TrimSpace(strings.ToValidUTF8(v, "\uFFFD"))
}

// ServiceFromForm builds a service from the console's form values as typed
// (trimmed; a description keeps its line breaks), for AddService and
// UpdateService. Lists keep the order of the vocabulary, not of the form.
func ServiceFromForm(get func(string) string, list func(string) []string) directory.Service {
	text := func(name string) directory.Text {
		return directory.Text{EN: cleanLine(get(name + ".en")), SW: cleanLine(get(name + ".sw"))}
	}
	multi := func(name string) directory.Text {
		clean := func(v string) string {
			v = strings.ReplaceAll(strings.ReplaceAll(v, "\r\n", "\n"), "\r", "\n")
			return strings.TrimSpace(strings.ToValidUTF8(v, "\uFFFD"))
		}
		return directory.Text{EN: clean(get(name + ".en")), SW: clean(get(name + ".sw"))}
	}
	svc := directory.Service{
		ID:          strings.ToLower(cleanLine(get("id"))),
		OrgID:       cleanLine(get("org_id")),
		Name:        cleanLine(get("name")),
		Description: multi("description"),
		Type:        directory.ServiceType(cleanLine(get("type"))),
		National:    get("national") != "",
		Ages:        directory.AgeGroup(cleanLine(get("ages"))),
		Hours:       text("hours"),
		Cost:        text("cost"),
		Free:        get("free") != "",
		// Whoever may set it is AddService's and UpdateService's decision.
		ChildProtection: get("child_protection") != "",
		Channels: directory.Channels{
			Phone: cleanLine(get("channels.phone")), SMS: cleanLine(get("channels.sms")),
			WhatsApp: cleanLine(get("channels.whatsapp")), Website: cleanLine(get("channels.website")),
			WalkIn: text("channels.walk_in"),
		},
	}
	// Checkbox lists: known values in the vocabulary's order, then anything
	// unknown as sent, so that Validate names it.
	pick := func(name string, vocab []string) []string {
		sent := list(name)
		var out []string
		for _, v := range vocab {
			if slices.Contains(sent, v) {
				out = append(out, v)
			}
		}
		for _, v := range sent {
			if v = cleanLine(v); v != "" && !slices.Contains(out, v) && utf8.RuneCountInString(v) <= 64 {
				out = append(out, v)
			}
		}
		return out
	}
	var counties, genders []string
	for _, c := range directory.Counties() {
		counties = append(counties, c.Slug)
	}
	for _, g := range directory.Genders() {
		genders = append(genders, string(g))
	}
	svc.Counties = pick("counties", counties)
	for _, g := range pick("genders", genders) {
		svc.Genders = append(svc.Genders, directory.Gender(g))
	}
	svc.Languages = pick("languages", directory.Languages())
	return svc
}
