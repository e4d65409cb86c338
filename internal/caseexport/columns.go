package caseexport

import (
	"slices"
	"strings"
	"time"

	"github.com/salama-ke/salama/internal/directory"
	"github.com/salama-ke/salama/internal/locale"
	"github.com/salama-ke/salama/internal/report"
	"github.com/salama-ke/salama/internal/store"
)

// column is one column of a layout: its name in the header (or JSON key),
// its value for JSON and its text for CSV.
type column struct {
	name  string
	value func(Case) any
}

func (c column) text(x Case) string {
	switch v := c.value(x).(type) {
	case string:
		return v
	case bool:
		if v {
			return "yes"
		}
		return "no"
	case []string:
		return strings.Join(v, "; ")
	case nil:
		return ""
	}
	panic("caseexport: a column of an unknown type")
}

var eat = time.FixedZone("EAT", 3*3600)

// stamp writes a time in East Africa Time with its offset, so that any tool
// reads it right; "" for a time that never happened.
func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(eat).Format(time.RFC3339)
}

func list(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

var salamaColumns = map[string]column{}

func init() {
	r := func(key string, f func(store.Report) any) {
		salamaColumns[key] = column{key, func(c Case) any { return f(c.Report) }}
	}
	r("case_ref", func(r store.Report) any { return r.CaseRef })
	r("kind", func(r store.Report) any { return r.Kind })
	r("channel", func(r store.Report) any { return r.Channel })
	r("received_at", func(r store.Report) any { return stamp(r.CreatedAt) })
	r("status", func(r store.Report) any { return r.Status })
	r("closed_reason", func(r store.Report) any { return r.ClosedReason })
	r("about", func(r store.Report) any { return r.About })
	r("what_happened", func(r store.Report) any { return list(r.Categories) })
	r("age_band", func(r store.Report) any { return r.AgeBand })
	r("county", func(r store.Report) any { return r.County })
	r("when_last", func(r store.Report) any { return r.WhenLast })
	r("danger_now", func(r store.Report) any { return r.DangerNow })
	r("help_wanted", func(r store.Report) any { return list(r.Help) })
	r("child_involved", func(r store.Report) any { return r.ChildInvolved })
	r("gbv_type", func(r store.Report) any { return r.GBVType })
	r("context_flags", func(r store.Report) any { return list(r.ContextFlags) })
	r("consent_refer", func(r store.Report) any { return r.ConsentRefer })
	r("consent_match", func(r store.Report) any { return r.ConsentMatch })
	r("consent_stats", func(r store.Report) any { return r.ConsentStats })
	r("contact_pref", func(r store.Report) any { return r.ContactPref })
	r("first_opened_at", func(r store.Report) any { return stamp(r.OpenedAt) })
	r("first_response_at", func(r store.Report) any { return stamp(r.FirstResponseAt) })
	r("updated_at", func(r store.Report) any { return stamp(r.UpdatedAt) })
	c := func(key string, f func(Case) any) { salamaColumns[key] = column{key, f} }
	c("assigned_to", func(c Case) any { return c.Assignee })
	c("referred_from", func(c Case) any { return c.ReferredFrom })
	c(FieldCountry, func(c Case) any { return c.Country })
	c(FieldNarrative, func(c Case) any { return c.Narrative })
	c(FieldIdentifiers, func(c Case) any { return list(c.Identifiers) })
	for _, f := range Fields {
		if _, ok := salamaColumns[f.Key]; !ok {
			panic("caseexport: no column for field " + f.Key)
		}
	}
}

// The GBVIMS layout. Its columns follow the GBVIMS Intake and Initial
// Assessment Form and the Incident Recorder built on it, in their order,
// for the fields Salama has; then Salama's own columns with no GBVIMS
// counterpart, named "Salama: …". Values use GBVIMS's words. It holds
// nothing sealed. docs/gbvims-export.md gives the mapping and what is left
// out.

// gbvimsTypes are the six GBVIMS core incident types, as the classification
// tool names them.
var gbvimsTypes = map[string]string{
	"rape":                "Rape",
	"sexual_assault":      "Sexual Assault",
	"physical_assault":    "Physical Assault",
	"forced_marriage":     "Forced Marriage",
	"denial_of_resources": "Denial of Resources, Opportunities or Services",
	"psychological_abuse": "Psychological / Emotional Abuse",
}

// gbvimsReferrals are the services of the form's "referral pathway"
// section, each with the kind of directory service that provides it.
var gbvimsReferrals = []struct {
	label string
	typ   directory.ServiceType
}{
	{"Referred to: Safe house / shelter", directory.TypeShelter},
	{"Referred to: Health / medical services", directory.TypeMedicalPEP},
	{"Referred to: Psychosocial services", directory.TypeCounselling},
	{"Referred to: Police / other security actor", directory.TypePoliceDesk},
	{"Referred to: Legal assistance services", directory.TypeLegalAid},
	{"Referred to: Livelihoods program", directory.TypeEconomicSupport},
}

// Referral states that mean a referral went (or is going) ahead.
var referralMade = []string{store.ReferralSent, store.ReferralAccepted, store.ReferralCompleted}

// referredTo is the value of a "referred to" column for one service type.
func referredTo(c Case, typ directory.ServiceType) string {
	declined, unavailable := false, false
	for _, ref := range c.Referrals {
		if ref.ServiceType != string(typ) {
			continue
		}
		switch {
		case slices.Contains(referralMade, ref.State):
			return "Referred"
		case ref.State == store.ReferralRevoked && (ref.Reason == "survivor" || ref.Reason == "survivor_declined"):
			declined = true
		case ref.State == store.ReferralDeclined && (ref.Reason == "no_capacity" || ref.Reason == "outside_area"):
			unavailable = true
		}
	}
	switch {
	case declined:
		return "Referral declined by survivor"
	case unavailable:
		return "Service unavailable"
	}
	return ""
}

var english = locale.EnglishPrinter

// words gives the English words of codes other than a report's answers
// (report.English), for the Salama columns of the GBVIMS layout (a data
// officer reads them; a tool reads the Salama layout).
var words = map[string]string{
	"online": "Online", "commercial_sexual_exploitation": "Commercial sexual exploitation", "child_sexual_abuse": "Child sexual abuse",
	"report": "Report by the survivor or someone close", "tip": "Tip (an advert, number or account)", "referral": "Referral received",
	"web": "Web form", "ussd": "USSD (feature phone)",
	"intake_phone": "Taken by a caseworker: phone call", "intake_walk_in": "Taken by a caseworker: walk-in",
	"intake_chat": "Taken by a caseworker: chat", "intake_other": "Taken by a caseworker",
	"new": "New", "in_review": "In review", "referred": "Referred", "closed": "Closed",
}

func word(code string) string {
	if w, ok := words[code]; ok {
		return w
	}
	if w, ok := report.English(code); ok {
		return w
	}
	return code
}

func wordList(codes []string) []string {
	out := []string{}
	for _, c := range codes {
		out = append(out, word(c))
	}
	return out
}

var gbvimsColumns = func() []column {
	cols := []column{
		{"Incident ID", func(c Case) any { return c.Report.CaseRef }},
		{"Caseworker code", func(c Case) any { return c.Assignee }},
		{"Date of interview", func(c Case) any { return c.Report.CreatedAt.In(eat).Format(time.DateOnly) }},
		{"Age at time of incident (age band)", func(c Case) any { return word(c.Report.AgeBand) }},
		{"Incident location: area (county)", func(c Case) any {
			switch c.Report.County {
			case "":
				return ""
			case directory.CountyOutside:
				return "Outside Kenya"
			}
			return english().T(directory.CountyKey(c.Report.County))
		}},
		{"Type of incident violence (GBV type)", func(c Case) any { return gbvimsTypes[c.Report.GBVType] }},
		{"Were money, goods, benefits and/or services exchanged in relation to the incident?", func(c Case) any {
			if slices.Contains(c.Report.ContextFlags, "commercial_sexual_exploitation") {
				return "Yes"
			}
			return ""
		}},
		{"Type of abduction at time of the incident", func(c Case) any {
			if slices.Contains(c.Report.ContextFlags, "trafficking") {
				return "Trafficked"
			}
			return ""
		}},
		{"Who referred the client to you?", func(c Case) any {
			if c.Report.Kind == "referral" {
				return "Other humanitarian or development actor"
			}
			return "Self referral / first point of contact"
		}},
	}
	for _, ref := range gbvimsReferrals {
		cols = append(cols, column{ref.label, func(c Case) any { return referredTo(c, ref.typ) }})
	}
	return append(cols,
		column{"Consent to share non-identifiable data for reporting", func(c Case) any {
			if c.Report.ConsentStats {
				return "Yes"
			}
			return "No"
		}},
		column{"Salama: kind", func(c Case) any { return word(c.Report.Kind) }},
		column{"Salama: how it arrived", func(c Case) any { return word(c.Report.Channel) }},
		column{"Salama: what happened", func(c Case) any { return wordList(c.Report.Categories) }},
		column{"Salama: context", func(c Case) any { return wordList(c.Report.ContextFlags) }},
		column{"Salama: a child involved", func(c Case) any { return c.Report.ChildInvolved }},
		column{"Salama: when it last happened", func(c Case) any { return word(c.Report.WhenLast) }},
		column{"Salama: status", func(c Case) any { return word(c.Report.Status) }},
		column{"Salama: referred by", func(c Case) any { return c.ReferredFrom }},
	)
}()
