// Package report owns the vocabulary of a report: the answers the form,
// the USSD menus, the directory's matching, the statistics and the console
// all speak (whom it is about, what happened, age bands, when, the help
// asked for), the rules read straight off those answers (a child, the
// post-exposure prophylaxis window), and the names of a report's sealed
// fields, which are the associated data they are sealed under.
//
// Every other package uses these; none spells a choice or a field name
// itself. It imports nothing of Salama and holds no state.
package report

import (
	"slices"
	"time"
)

// Answers to "about whom".
const (
	AboutMe    = "me"
	AboutChild = "child" // a child under 18
	AboutAdult = "adult" // another adult
)

// Abouts are the answers to "about whom", in form order.
func Abouts() []string { return []string{AboutMe, AboutChild, AboutAdult} }

// Answers to "what happened" (several may be given).
const (
	CategoryImagesRequested = "images_requested"
	CategorySextortion      = "sextortion"
	CategoryAdvertised      = "advertised"
	CategoryTrafficking     = "trafficking"
	CategorySexualViolence  = "sexual_violence"
	CategoryOther           = "other"
)

// Categories are the answers to "what happened", in form order.
func Categories() []string {
	return []string{CategoryImagesRequested, CategorySextortion, CategoryAdvertised, CategoryTrafficking,
		CategorySexualViolence, CategoryOther}
}

// Age bands of the person a report is about (SPEC §4.1). "" is not said.
const (
	AgeUnder13 = "under13"
	Age13to15  = "13-15"
	Age16to17  = "16-17"
	Age18to24  = "18-24"
	Age25Plus  = "25plus"
	AgeNotSaid = ""
	// AgeRatherNotSay is the form's answer "I'd rather not say"; it is
	// stored as AgeNotSaid, and the statistics count it in its own row.
	AgeRatherNotSay = "notsay"
)

// AgeBands returns the age bands in form order, without "not said".
func AgeBands() []string { return []string{AgeUnder13, Age13to15, Age16to17, Age18to24, Age25Plus} }

// AgeAnswers are the form's answers to "how old": the bands, then "I'd
// rather not say".
func AgeAnswers() []string { return append(AgeBands(), AgeRatherNotSay) }

// ParseAgeBand accepts an age band or "" (not said).
func ParseAgeBand(s string) (string, bool) {
	if s == AgeNotSaid || slices.Contains(AgeBands(), s) {
		return s, true
	}
	return "", false
}

// IsChild reports whether an age band is under 18.
func IsChild(band string) bool {
	return band == AgeUnder13 || band == Age13to15 || band == Age16to17
}

// IsAdult reports whether an age band is 18 or over. A band that is not
// said is neither a child's nor an adult's.
func IsAdult(band string) bool { return band == Age18to24 || band == Age25Plus }

// AgeBandKey is the catalog key of an age band; "" is "ageband.none".
func AgeBandKey(band string) string {
	if band == AgeNotSaid {
		return "ageband.none"
	}
	return "ageband." + band
}

// Answers to "when did it last happen".
const (
	WhenOngoing = "ongoing"
	When72h     = "72h"
	WhenMonth   = "month"
	WhenLonger  = "longer"
)

// Whens are the answers to "when did it last happen", in form order.
func Whens() []string { return []string{WhenOngoing, When72h, WhenMonth, WhenLonger} }

// PEPWindow is how long after sexual violence post-exposure prophylaxis
// against HIV can be started: the form's "in the last 72 hours" is this.
const PEPWindow = 72 * time.Hour

// WithinPEPWindow reports whether the answers say sexual violence that is
// still happening or happened in the last 72 hours: the report is urgent
// (the inbox's "SV <72h" flag and order).
func WithinPEPWindow(categories []string, when string) bool {
	return slices.Contains(categories, CategorySexualViolence) && (when == WhenOngoing || when == When72h)
}

// MayBeWithinPEPWindow is WithinPEPWindow, or sexual violence with "when"
// not said: the help page shows post-rape care then too, as missing it
// costs more than reading it needlessly.
func MayBeWithinPEPWindow(categories []string, when string) bool {
	return WithinPEPWindow(categories, when) || slices.Contains(categories, CategorySexualViolence) && when == ""
}

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

// Needs returns every need in form order.
func Needs() []Need {
	return []Need{NeedMedical, NeedCounselling, NeedLegal, NeedShelter, NeedPolice, NeedTakedown, NeedTravelHome, NeedRecordOnly}
}

// NeedAnswers are the needs as the form's answers.
func NeedAnswers() []string {
	var out []string
	for _, n := range Needs() {
		out = append(out, string(n))
	}
	return out
}

// ParseNeed accepts a need exactly as spelt in the constants.
func ParseNeed(s string) (Need, bool) {
	if n := Need(s); slices.Contains(Needs(), n) {
		return n, true
	}
	return "", false
}

// Key is the need's catalog key, e.g. "need.travel_home".
func (n Need) Key() string { return "need." + string(n) }

// The names of a report's sealed fields. A field is sealed under the
// report's data key with the report id and this name as associated data
// (SPEC §6), so a ciphertext cannot be moved to another report or field:
// a misspelt name is a value nobody can open, which is why names are only
// ever made here.
const (
	FieldNarrative   = "narrative"
	FieldIdentifiers = "identifiers"
	FieldContact     = "contact"
	FieldCountry     = "country"
)

// AttachmentField names an attachment's sealed bytes, exactly as sent.
func AttachmentField(attachmentID string) string { return "attachment:" + attachmentID }

// DisplayField names an attachment's display copy (turned upright, without
// metadata).
func DisplayField(attachmentID string) string { return "attachment-display:" + attachmentID }

// MessageField names a message of the conversation with the survivor.
func MessageField(messageID string) string { return "message:" + messageID }

// NoteField names a caseworker's private note.
func NoteField(noteID string) string { return "note:" + noteID }

// ReferralField names a referral's sealed part (the override's written
// justification).
func ReferralField(referralID string) string { return "referral:" + referralID }

// SummaryField names the edited copy of the narrative a caseworker shared
// with a referral instead of the survivor's words.
func SummaryField(referralID string) string { return "referral-summary:" + referralID }
