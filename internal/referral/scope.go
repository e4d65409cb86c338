package referral

// Consent scope (SPEC §3 rule 5; docs/security.md, "Consent scope"): the one
// place that decides whether a report may be referred to a service. Every
// path calls Check: the console's referral form in each mode, the
// survivor's yes on the check page (against the directory as it is when she
// answers, not as it was when she was asked), and anything later that sends
// a referral. Nothing else may decide it.
//
// The model:
//
//   - "You may refer me to services that match my needs" (ScopeNeeds)
//     covers only the kinds of service that meet the help she asked for
//     (medical care → medical/PEP; someone to talk to → counselling or a
//     helpline; a safe place → a shelter; images taken down → online
//     takedown; travel home → repatriation; for a child, a child-protection
//     service, which arranges all of these). It never covers the police
//     gender desk or legal aid, even when she asked for help reporting to
//     the police or for legal advice: those take their own tick on the
//     report form (ScopePolice, ScopeLegal), and her tick is what counts.
//     Economic support meets no need on the form, so only her own yes (on
//     the check page or by phone) covers it.
//   - Her yes on the check page to a request covers that request: the page
//     names the service and its kind in plain words, and the referral goes
//     only while the service is still of that kind, with the same
//     organisation.
//   - Consent by phone covers the kind of service she agreed to, which the
//     caseworker records; a service of another kind is refused.
//   - The child-protection override covers only a child's report, and only
//     a service the network coordinator marked as child protection.
//
// Whatever the consent, the service must fit her: one the console lists for
// this report (in her county or national, another organisation's), and for
// her age (a child is never sent to an adults-only service, a known adult
// never to a children-only one).

import (
	"fmt"
	"slices"
	"strings"

	"github.com/salama-ke/salama/internal/report"

	"github.com/salama-ke/salama/internal/directory"
	"github.com/salama-ke/salama/internal/orgs"
	"github.com/salama-ke/salama/internal/store"
)

// ConsentAsk is a referral proposed to the survivor: nothing is disclosed
// until she answers on the check page (then ConsentSurvivor).
const ConsentAsk = "ask"

// What a survivor may agree to when reporting, each asked separately.
const (
	ScopeNeeds  = "needs"  // "you may refer me to services that match my needs"
	ScopePolice = "police" // "you may pass my report to the police gender desk"
	ScopeLegal  = "legal"  // "you may pass my report to legal aid"
)

// OwnConsent returns the scope a service type needs its own tick for
// (ScopePolice, ScopeLegal), or "" for a type that "services that match my
// needs" may cover.
func OwnConsent(t directory.ServiceType) string {
	switch t {
	case directory.TypePoliceDesk:
		return ScopePolice
	case directory.TypeLegalAid:
		return ScopeLegal
	}
	return ""
}

// Person says what the report says of the person's age: a child (under 18,
// or a child involved), a known adult, or neither (not said).
func Person(r *store.Report) (child, adult bool) {
	child = r.ChildInvolved || r.About == report.AboutChild || report.IsChild(r.AgeBand)
	adult = !child && (report.IsAdult(r.AgeBand) || r.About == report.AboutAdult)
	return child, adult
}

// MatchingTypes are the kinds of service "you may refer me to services that
// match my needs" covers for r, in display order: nothing if she did not
// say it, or asked for no help.
func MatchingTypes(r *store.Report) []directory.ServiceType {
	if !r.ConsentRefer {
		return nil
	}
	child, _ := Person(r)
	var out []directory.ServiceType
	add := func(t directory.ServiceType) {
		if OwnConsent(t) == "" && !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	for _, h := range r.Help {
		n, ok := report.ParseNeed(h)
		if !ok || n == report.NeedRecordOnly {
			continue
		}
		for _, t := range directory.NeedTypes(n) {
			add(t)
		}
		if child {
			add(directory.TypeChildProtection) // it meets every need of a child
		}
	}
	slices.SortFunc(out, func(a, b directory.ServiceType) int {
		all := directory.ServiceTypes()
		return slices.Index(all, a) - slices.Index(all, b)
	})
	return out
}

// AtSubmission returns which of the survivor's choices when reporting
// covers a referral to a service of type t (ScopeNeeds, ScopePolice,
// ScopeLegal), or "" if none does.
func AtSubmission(r *store.Report, t directory.ServiceType) string {
	switch OwnConsent(t) {
	case ScopePolice:
		if r.ConsentPolice {
			return ScopePolice
		}
		return ""
	case ScopeLegal:
		if r.ConsentLegal {
			return ScopeLegal
		}
		return ""
	}
	if slices.Contains(MatchingTypes(r), t) {
		return ScopeNeeds
	}
	return ""
}

// AnyAtSubmission reports whether the survivor agreed to any referral when
// reporting.
func AnyAtSubmission(r *store.Report) bool {
	return len(MatchingTypes(r)) > 0 || r.ConsentPolice || r.ConsentLegal
}

// Directory is the network's directory as it is now: read it from the
// store for each decision (not from a cache), so that an edit made a moment
// ago is seen.
type Directory struct {
	Services []directory.Service
	Orgs     []store.Organisation
}

func (d Directory) service(id string) (directory.Service, bool) {
	for _, s := range d.Services {
		if s.ID == id {
			return s, true
		}
	}
	return directory.Service{}, false
}

func (d Directory) org(id string) (store.Organisation, bool) {
	for _, o := range d.Orgs {
		if o.ID == id {
			return o, true
		}
	}
	return store.Organisation{}, false
}

// Fits reports whether a service takes the person of r by age: no child to
// an adults-only service, no known adult to a children-only one.
func Fits(s directory.Service, r *store.Report) bool {
	child, adult := Person(r)
	return !(child && !s.Ages.ServesChildren()) && !(adult && !s.Ages.ServesAdults())
}

// Offered returns the services the console lists for r when fromOrg refers
// it, best first: the directory's matches for the report (in its county or
// national, by the help asked for), for the person's age, of another
// organisation, never a built-in national line (those take no referrals).
// A service outside this list is never referred to, whatever is posted.
func Offered(d Directory, r *store.Report, fromOrg string) []directory.Service {
	child, _ := Person(r)
	needs := make([]report.Need, 0, len(r.Help))
	for _, h := range r.Help {
		needs = append(needs, report.Need(h))
	}
	var out []directory.Service
	for _, s := range directory.Match(d.Services, directory.Query{County: r.County, Needs: needs, AgeBand: r.AgeBand, Child: child}) {
		if s.OrgID == fromOrg || strings.HasPrefix(s.ID, "national.") || !Fits(s, r) {
			continue
		}
		if _, ok := d.org(s.OrgID); !ok {
			continue
		}
		out = append(out, s)
	}
	return out
}

// Proposal is one referral to decide: to create it, or to send it now.
type Proposal struct {
	Report    *store.Report
	FromOrg   string
	ServiceID string
	// Consent is how she agreed: ConsentAsk (not yet: proposing a request),
	// ConsentSurvivor (her yes to a request), ConsentPhone,
	// ConsentAtSubmission, ConsentOverride.
	Consent string
	// AgreedType is the kind of service she agreed to: for ConsentPhone,
	// what the caseworker recorded; for ConsentSurvivor, the kind the
	// request named (Referral.ServiceType).
	AgreedType directory.ServiceType
	// Request is the referral she is answering (ConsentSurvivor): it goes
	// only to the organisation it named.
	Request *store.Referral
}

// Decision is what Check allows.
type Decision struct {
	Service directory.Service
	// ToOrg is the member organisation that receives a sealed copy, or ""
	// for a service outside Salama (a recorded hand-off).
	ToOrg string
	// Scope is, for ConsentAtSubmission, the choice that covers it.
	Scope string
	// send is set only by Check, for a consent that sends now: Copy
	// refuses any other Decision, so no copy is made without Check.
	send bool
}

// Reasons Check refuses, as the audit log records them (reason=).
const (
	RefusedUnknownService = "unknown_service"     // no such service (or a built-in line)
	RefusedNotOffered     = "not_offered"         // not listed for this report
	RefusedAdultsOnly     = "adults_only"         // a child's report, an adults-only service
	RefusedChildrenOnly   = "children_only"       // an adult's report, a children-only service
	RefusedNoneAtSubmit   = "none_at_submission"  // she agreed to nothing when reporting
	RefusedPolice         = "police_not_chosen"   // police desk without her own tick
	RefusedLegal          = "legal_not_chosen"    // legal aid without her own tick
	RefusedNotNeeded      = "type_not_needed"     // a kind of service that meets none of her needs
	RefusedPhoneUnsaid    = "phone_type_missing"  // consent by phone without the kind she agreed to
	RefusedPhoneOther     = "phone_type_mismatch" // she agreed by phone to another kind
	RefusedChanged        = "service_changed"     // the service's kind changed since she was asked
	RefusedMoved          = "service_moved"       // the service moved to another organisation since
	RefusedNotChild       = "override_not_child"  // the override on a report not about a child
	RefusedNotMarked      = "override_not_marked" // the override to a service not marked child protection
	RefusedMode           = "unknown_mode"
)

// Refusal is why a referral may not be made or sent. It names the form
// field at fault and carries what a page needs to say it in words; it
// never holds anything the survivor wrote.
type Refusal struct {
	Reason  string // a Refused* code
	Field   string // the console form's field: "service", "mode" or "agreed_type"
	Service directory.Service
	Agreed  directory.ServiceType // RefusedPhoneOther, RefusedChanged: the kind she agreed to
}

func (r *Refusal) Error() string {
	return fmt.Sprintf("referral: refused (%s) to service %q", r.Reason, r.Service.ID)
}

// Check decides whether p may be made (ConsentAsk) or sent (any other
// consent) with the directory as it is now. It returns a *Refusal, never
// another error.
func Check(d Directory, p Proposal) (Decision, error) {
	r := p.Report
	svc, ok := d.service(p.ServiceID)
	if !ok || strings.HasPrefix(svc.ID, "national.") {
		return Decision{}, &Refusal{Reason: RefusedUnknownService, Field: "service"}
	}
	refuse := func(reason, field string) (Decision, error) {
		return Decision{}, &Refusal{Reason: reason, Field: field, Service: svc, Agreed: p.AgreedType}
	}
	child, adult := Person(r)
	switch {
	case child && !svc.Ages.ServesChildren():
		return refuse(RefusedAdultsOnly, "service")
	case adult && !svc.Ages.ServesAdults():
		return refuse(RefusedChildrenOnly, "service")
	case !slices.ContainsFunc(Offered(d, r, p.FromOrg), func(s directory.Service) bool { return s.ID == svc.ID }):
		return refuse(RefusedNotOffered, "service")
	}
	dec := Decision{Service: svc}
	if o, _ := d.org(svc.OrgID); orgs.Member(o) {
		dec.ToOrg = o.ID
	}
	switch p.Consent {
	case ConsentAsk:
	case ConsentSurvivor:
		switch {
		case p.Request == nil || directory.ServiceType(p.Request.ServiceType) != svc.Type:
			if p.Request != nil {
				p.AgreedType = directory.ServiceType(p.Request.ServiceType)
			}
			return refuse(RefusedChanged, "service")
		case p.Request.ToOrg != dec.ToOrg:
			return refuse(RefusedMoved, "service")
		}
	case ConsentPhone:
		switch {
		case p.AgreedType == "":
			return refuse(RefusedPhoneUnsaid, "agreed_type")
		case p.AgreedType != svc.Type:
			return refuse(RefusedPhoneOther, "agreed_type")
		}
	case ConsentAtSubmission:
		if dec.Scope = AtSubmission(r, svc.Type); dec.Scope != "" {
			break
		}
		switch {
		case OwnConsent(svc.Type) == ScopePolice:
			return refuse(RefusedPolice, "mode")
		case OwnConsent(svc.Type) == ScopeLegal:
			return refuse(RefusedLegal, "mode")
		case !r.ConsentRefer && !r.ConsentPolice && !r.ConsentLegal:
			return refuse(RefusedNoneAtSubmit, "mode")
		}
		return refuse(RefusedNotNeeded, "mode")
	case ConsentOverride:
		switch {
		case !child:
			return refuse(RefusedNotChild, "mode")
		case !svc.ChildProtection:
			return refuse(RefusedNotMarked, "service")
		}
	default:
		return refuse(RefusedMode, "mode")
	}
	dec.send = p.Consent != ConsentAsk
	return dec, nil
}

// RefusalDetail is a refusal as the audit log records it (referral.refused):
// the service when it is in the directory, how consent was to be given, and
// the reason code. Never a posted value that is not a known code.
func RefusalDetail(consent string, rf *Refusal) string {
	switch consent {
	case ConsentAsk, ConsentSurvivor, ConsentPhone, ConsentAtSubmission, ConsentOverride:
	default:
		consent = "unknown"
	}
	d := "consent=" + consent + " reason=" + rf.Reason
	if rf.Service.ID != "" {
		d = "service=" + rf.Service.ID + " " + d
	}
	return d
}
