package sms

import (
	"slices"
	"strings"

	"github.com/salama-ke/salama/internal/directory"
	"github.com/salama-ke/salama/internal/locale"
)

// letters keeps the ASCII letters of s, lower-cased: "Murang'a" and
// "MURANGA" and "murang a" all become "muranga".
func letters(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z':
			b.WriteRune(r)
		case r >= 'A' && r <= 'Z':
			b.WriteRune(r + 'a' - 'A')
		}
	}
	return b.String()
}

// HasLetter reports whether s contains an ASCII letter.
func HasLetter(s string) bool {
	for _, r := range s {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return true
		}
	}
	return false
}

// MatchCounties finds the counties whose name, in English or Kiswahili,
// starts with the letters typed, or has a word that does ("pokot" finds West
// Pokot; "homa bay", "HOMABAY" and "homa" find Homa Bay). Only letters count.
// A name typed in full returns that county alone even when it begins another
// one's name. The result is in county code order; nil when nothing matches
// or nothing was typed.
func MatchCounties(cat *locale.Catalog, typed string) []string {
	q := letters(typed)
	if q == "" {
		return nil
	}
	var out []string
	for _, c := range directory.Counties() {
		exact, prefix := false, false
		for _, l := range locale.Langs {
			name := cat.Printer(l).T(c.Key())
			full := letters(name)
			if full == q || letters(c.Slug) == q {
				exact = true
			}
			if strings.HasPrefix(full, q) {
				prefix = true
			}
			for _, w := range strings.FieldsFunc(name, func(r rune) bool { return r == ' ' || r == '-' }) {
				if strings.HasPrefix(letters(w), q) {
					prefix = true
				}
			}
		}
		if exact {
			return []string{c.Slug}
		}
		if prefix && !slices.Contains(out, c.Slug) {
			out = append(out, c.Slug)
		}
	}
	return out
}
