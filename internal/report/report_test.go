package report

import (
	"slices"
	"testing"
)

// The sealed field names are the associated data of every stored
// ciphertext: renaming one would make every report's field unreadable.
// They are pinned here.
func TestSealedFieldNamesArePinned(t *testing.T) {
	for got, want := range map[string]string{
		FieldNarrative: "narrative", FieldIdentifiers: "identifiers", FieldContact: "contact", FieldCountry: "country",
		AttachmentField("a1"): "attachment:a1", DisplayField("a1"): "attachment-display:a1",
		MessageField("m1"): "message:m1", NoteField("n1"): "note:n1", ReferralField("r1"): "referral:r1", SummaryField("r1"): "referral-summary:r1",
	} {
		if got != want {
			t.Errorf("field name %q, pinned %q", got, want)
		}
	}
}

// The answers are stored as these strings and counted in published
// statistics: their spelling and order are pinned.
func TestAnswersArePinned(t *testing.T) {
	for _, tc := range []struct {
		got, want []string
	}{
		{Abouts(), []string{"me", "child", "adult"}},
		{Categories(), []string{"images_requested", "sextortion", "advertised", "trafficking", "sexual_violence", "other"}},
		{AgeAnswers(), []string{"under13", "13-15", "16-17", "18-24", "25plus", "notsay"}},
		{Whens(), []string{"ongoing", "72h", "month", "longer"}},
		{NeedAnswers(), []string{"medical", "counselling", "legal", "shelter", "police", "takedown", "travel_home", "record_only"}},
	} {
		if !slices.Equal(tc.got, tc.want) {
			t.Errorf("%v, pinned %v", tc.got, tc.want)
		}
	}
	// Callers may change what they are given without changing the
	// vocabulary.
	c := Categories()
	c[0] = "changed"
	if Categories()[0] != CategoryImagesRequested {
		t.Error("Categories returned its own slice")
	}
}

func TestAgeRules(t *testing.T) {
	for band, want := range map[string][2]bool{ // child, adult
		AgeUnder13: {true, false}, Age13to15: {true, false}, Age16to17: {true, false},
		Age18to24: {false, true}, Age25Plus: {false, true}, AgeNotSaid: {false, false}, AgeRatherNotSay: {false, false}, "bogus": {false, false},
	} {
		if IsChild(band) != want[0] || IsAdult(band) != want[1] {
			t.Errorf("%q: child %v adult %v, want %v", band, IsChild(band), IsAdult(band), want)
		}
	}
}

func TestPEPWindow(t *testing.T) {
	sv := []string{CategorySextortion, CategorySexualViolence}
	for _, tc := range []struct {
		cats      []string
		when      string
		within    bool
		maybeWith bool
	}{
		{sv, WhenOngoing, true, true},
		{sv, When72h, true, true},
		{sv, WhenMonth, false, false},
		{sv, WhenLonger, false, false},
		{sv, "", false, true}, // not said: the help page shows post-rape care anyway
		{[]string{CategorySextortion}, When72h, false, false},
		{nil, "", false, false},
	} {
		if got := WithinPEPWindow(tc.cats, tc.when); got != tc.within {
			t.Errorf("WithinPEPWindow(%v, %q) = %v", tc.cats, tc.when, got)
		}
		if got := MayBeWithinPEPWindow(tc.cats, tc.when); got != tc.maybeWith {
			t.Errorf("MayBeWithinPEPWindow(%v, %q) = %v", tc.cats, tc.when, got)
		}
	}
}

// Every answer has the staff's English words, so that adding a choice
// here cannot leave the console or the export showing a bare code.
func TestEveryAnswerHasEnglishWords(t *testing.T) {
	var all []string
	all = append(all, Abouts()...)
	all = append(all, Categories()...)
	all = append(all, AgeBands()...)
	all = append(all, Whens()...)
	all = append(all, NeedAnswers()...)
	seen := map[string]string{}
	for _, code := range all {
		w, ok := English(code)
		if !ok || w == "" {
			t.Errorf("%q has no English words", code)
		}
		if other, dup := seen[w]; dup {
			t.Errorf("%q and %q both read %q", other, code, w)
		}
		seen[w] = code
	}
	if len(english) != len(all) {
		t.Errorf("%d English words for %d answers: a word for something that is not an answer", len(english), len(all))
	}
	if _, ok := English("not-an-answer"); ok {
		t.Error("English knows a code that is not an answer")
	}
}
