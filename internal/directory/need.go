package directory

import (
	"slices"

	"github.com/salama-ke/salama/internal/report"
)

// NeedTypes returns the types of service that meet a need, best first.
// A child-protection service meets every need of a child as well (see
// Service.Serves); that depends on who asks, so it is not listed here.
func NeedTypes(n report.Need) []ServiceType { return slices.Clone(needTypes[n]) }

// ServiceType is what a service in the directory does (SPEC §5.1).
type ServiceType string

const (
	TypeMedicalPEP      ServiceType = "medical_pep"
	TypeCounselling     ServiceType = "counselling"
	TypeLegalAid        ServiceType = "legal_aid"
	TypeShelter         ServiceType = "shelter"
	TypePoliceDesk      ServiceType = "police_desk"
	TypeOnlineTakedown  ServiceType = "online_takedown"
	TypeChildProtection ServiceType = "child_protection"
	TypeRepatriation    ServiceType = "repatriation"
	TypeEconomicSupport ServiceType = "economic_support"
	TypeHelpline        ServiceType = "helpline"
)

var serviceTypes = []ServiceType{
	TypeMedicalPEP, TypeCounselling, TypeLegalAid, TypeShelter, TypePoliceDesk,
	TypeOnlineTakedown, TypeChildProtection, TypeRepatriation,
	TypeEconomicSupport, TypeHelpline,
}

// ServiceTypes returns every service type in display order.
func ServiceTypes() []ServiceType { return slices.Clone(serviceTypes) }

// ParseServiceType accepts a type exactly as spelt in the constants.
func ParseServiceType(s string) (ServiceType, bool) {
	if t := ServiceType(s); slices.Contains(serviceTypes, t) {
		return t, true
	}
	return "", false
}

// Key is the type's catalog key, e.g. "servicetype.medical_pep".
func (t ServiceType) Key() string { return "servicetype." + string(t) }

// Needs returns the needs this type of service meets, in form order.
func (t ServiceType) Needs() []report.Need {
	var out []report.Need
	for _, n := range report.Needs() {
		if slices.Contains(needTypes[n], t) {
			out = append(out, n)
		}
	}
	return out
}

// needTypes says which service types meet each need. Help reporting to the
// police is the gender desk and also a lawyer, who can go with the survivor;
// someone to talk to is counselling and also a helpline. Economic support
// meets no need on the form: it is offered, not asked for, and ranks after.
var needTypes = map[report.Need][]ServiceType{
	report.NeedMedical:     {TypeMedicalPEP},
	report.NeedCounselling: {TypeCounselling, TypeHelpline},
	report.NeedLegal:       {TypeLegalAid},
	report.NeedShelter:     {TypeShelter},
	report.NeedPolice:      {TypePoliceDesk, TypeLegalAid},
	report.NeedTakedown:    {TypeOnlineTakedown},
	report.NeedTravelHome:  {TypeRepatriation},
}
