package directory

import "slices"

// Need is a kind of help a survivor asks for on the report form (SPEC §4.1).
type Need string

const (
	NeedMedical     Need = "medical"
	NeedCounselling Need = "counselling"
	NeedLegal       Need = "legal"
	NeedShelter     Need = "shelter"
	NeedPolice      Need = "police"
	NeedTakedown    Need = "takedown"
	NeedTravelHome  Need = "travel_home"
	// NeedRecordOnly asks for nothing: no service type serves it, and in
	// matching it counts as no need at all.
	NeedRecordOnly Need = "record_only"
)

var needs = []Need{
	NeedMedical, NeedCounselling, NeedLegal, NeedShelter,
	NeedPolice, NeedTakedown, NeedTravelHome, NeedRecordOnly,
}

// Needs returns every need in form order.
func Needs() []Need { return slices.Clone(needs) }

// ParseNeed accepts a need exactly as spelt in the constants.
func ParseNeed(s string) (Need, bool) {
	if n := Need(s); slices.Contains(needs, n) {
		return n, true
	}
	return "", false
}

// Key is the need's catalog key, e.g. "need.travel_home".
func (n Need) Key() string { return "need." + string(n) }

// ServiceTypes returns the types of service that meet the need, best first.
// A child-protection service meets every need of a child as well (see
// Service.Serves); that depends on who asks, so it is not listed here.
func (n Need) ServiceTypes() []ServiceType { return slices.Clone(needTypes[n]) }

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
func (t ServiceType) Needs() []Need {
	var out []Need
	for _, n := range needs {
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
var needTypes = map[Need][]ServiceType{
	NeedMedical:     {TypeMedicalPEP},
	NeedCounselling: {TypeCounselling, TypeHelpline},
	NeedLegal:       {TypeLegalAid},
	NeedShelter:     {TypeShelter},
	NeedPolice:      {TypePoliceDesk, TypeLegalAid},
	NeedTakedown:    {TypeOnlineTakedown},
	NeedTravelHome:  {TypeRepatriation},
}
