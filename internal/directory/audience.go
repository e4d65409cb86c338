package directory

import "slices"

// AgeGroup is whom a service serves by age. It is one value, not a set, so
// "adults only" cannot be half-written: a service for adults only says
// AgesAdults, and no child ever matches it. There is no zero default: an
// empty AgeGroup is invalid and serves no one whose age is known.
type AgeGroup string

const (
	AgesChildren AgeGroup = "children" // under 18 only
	AgesAdults   AgeGroup = "adults"   // 18 and over only
	AgesAll      AgeGroup = "all"      // children and adults
)

var ageGroups = []AgeGroup{AgesChildren, AgesAdults, AgesAll}

// AgeGroups returns the age groups in display order.
func AgeGroups() []AgeGroup { return slices.Clone(ageGroups) }

// ServesChildren reports whether a child may be sent to the service.
func (g AgeGroup) ServesChildren() bool { return g == AgesChildren || g == AgesAll }

// ServesAdults reports whether an adult may be sent to the service.
func (g AgeGroup) ServesAdults() bool { return g == AgesAdults || g == AgesAll }

// Key is the catalog key, e.g. "agegroup.adults".
func (g AgeGroup) Key() string { return "agegroup." + string(g) }

// Gender is a gender a service says it serves. A service that lists none
// serves everyone.
type Gender string

const (
	GenderFemale  Gender = "female"
	GenderMale    Gender = "male"
	GenderDiverse Gender = "gender_diverse" // intersex, transgender, non-binary
)

var genders = []Gender{GenderFemale, GenderMale, GenderDiverse}

// Genders returns the genders in display order.
func Genders() []Gender { return slices.Clone(genders) }

// Key is the catalog key, e.g. "gender.female".
func (g Gender) Key() string { return "gender." + string(g) }

// languages a service may list, as ISO 639 codes: the two of the interface,
// Kenyan Sign Language, the largest Kenyan languages, and the languages of
// the main countries people are trafficked to or from through Kenya. The
// list is closed so that every language has a name in both catalogs.
var languages = []string{
	"en", "sw", "xki", // English, Kiswahili, Kenyan Sign Language
	"ki", "luy", "kln", "luo", "kam", "guz", "mer", "mas", "tuv", "so", // Kikuyu … Somali
	"ar", "am", "fr", // Arabic, Amharic, French
}

// Languages returns the language codes a service may list.
func Languages() []string { return slices.Clone(languages) }

// LanguageKey is the catalog key of a language code, e.g. "language.sw".
func LanguageKey(code string) string { return "language." + code }
