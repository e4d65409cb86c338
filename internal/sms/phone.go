package sms

import "strings"

// NormalisePhone returns a phone number as E.164 ("+254712345678"), reading
// Kenyan numbers as people write them: 0712 345 678, 712345678, 254712…,
// +254 (0)712 …; and numbers of other countries only with their + or 00
// prefix. It refuses anything else: a nudge to a wrong number reaches a
// stranger.
func NormalisePhone(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if len(s) > 40 {
		return "", false
	}
	plus := false
	var d strings.Builder
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			d.WriteRune(r)
		case r == '+' && i == 0:
			plus = true
		case r == ' ', r == '-', r == '.', r == '(', r == ')', r == '\u00a0':
		default:
			return "", false
		}
	}
	digits := d.String()
	if !plus && strings.HasPrefix(digits, "00") {
		plus, digits = true, digits[2:]
	}
	// "+254 (0)712 345 678": the trunk 0 after the country code.
	if strings.HasPrefix(digits, "2540") && len(digits) == 13 {
		digits = "254" + digits[4:]
	}
	switch {
	case plus:
	case len(digits) == 10 && digits[0] == '0' && (digits[1] == '7' || digits[1] == '1'):
		digits = "254" + digits[1:]
	case len(digits) == 9 && (digits[0] == '7' || digits[0] == '1'):
		digits = "254" + digits
	case len(digits) == 12 && strings.HasPrefix(digits, "254"):
	default:
		return "", false
	}
	if strings.HasPrefix(digits, "254") && (len(digits) != 12 || (digits[3] != '7' && digits[3] != '1')) {
		return "", false // a Kenyan number that is not a mobile one
	}
	if len(digits) < 8 || len(digits) > 15 || digits[0] == '0' {
		return "", false
	}
	return "+" + digits, true
}
