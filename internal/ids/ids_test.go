package ids

import (
	"regexp"
	"testing"
)

func TestCaseRef(t *testing.T) {
	re := regexp.MustCompile(`^[23456789ABCDEFGHJKMNPQRSTVWXYZ]{4}-[23456789ABCDEFGHJKMNPQRSTVWXYZ]{4}$`)
	seen := map[string]bool{}
	letters := map[rune]bool{}
	for range 3000 {
		c := CaseRef()
		if !re.MatchString(c) {
			t.Fatalf("case reference %q", c)
		}
		if seen[c] {
			t.Fatalf("case reference %q repeated in 3000 draws", c)
		}
		seen[c] = true
		for _, r := range c {
			letters[r] = true
		}
	}
	if len(letters) != len(caseAlphabet)+1 { // every letter, and the dash
		t.Errorf("only %d distinct characters drawn", len(letters))
	}
}

func TestNew(t *testing.T) {
	a, b := New(), New()
	if len(a) != 32 || a == b {
		t.Errorf("ids %q %q", a, b)
	}
}
