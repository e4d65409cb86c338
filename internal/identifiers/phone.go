package identifiers

import (
	"strings"
	"unicode"

	"github.com/nyaruka/phonenumbers"
)

// DefaultRegion is where a number written without a country code is from.
const DefaultRegion = "KE"

// Phone normalises a phone number to E.164 ("+254712345678"), reading a
// number without a country code as Kenyan: 0712 345 678, 0712-345-678,
// 712345678, 254712345678, +254 (0)712 345 678, 000 254 712 345 678 and
// 00254712345678 are all +254712345678, and 0110 123 456 is +254110123456.
//
// It returns "" and FlagPhoneInvalid for anything that cannot be a phone
// number, and the E.164 form with FlagPhoneUnverified for a number of a
// possible length in no range the numbering plan knows.
func Phone(s string) (e164, flag string) {
	s, ok := phoneText(clean(s))
	if !ok {
		return "", FlagPhoneInvalid
	}
	n, err := phonenumbers.Parse(s, DefaultRegion)
	if err != nil || !phonenumbers.IsPossibleNumber(n) {
		return "", FlagPhoneInvalid
	}
	e164 = phonenumbers.Format(n, phonenumbers.E164)
	if phonenumbers.IsValidNumber(n) {
		return e164, ""
	}
	// A number in no known range is only kept if it reads back as itself:
	// "0000000000" would be +254000000000, which the parser reads as the
	// shorter +25400000000 (a national 0 after the country code).
	if again, err := phonenumbers.Parse(e164, DefaultRegion); err != nil || phonenumbers.Format(again, phonenumbers.E164) != e164 {
		return "", FlagPhoneInvalid
	}
	return e164, FlagPhoneUnverified
}

// phoneText prepares typed text for the parser. It undoes the disguises
// adverts use to get a number past a platform's filter (a letter O for a
// zero, l or I for a one) and refuses any other letter: libphonenumber would
// otherwise read letters as a keypad word (a "vanity" number) and invent
// digits. It also reads 00 as the international prefix, as people abroad
// and many Kenyans write it (Kenya's own is 000, which the parser knows).
func phoneText(s string) (string, bool) {
	if len(s) >= 4 && strings.EqualFold(s[:4], "tel:") {
		s = strings.TrimSpace(s[4:])
	}
	var b strings.Builder
	digits := 0
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
			b.WriteRune(r)
		case unicode.IsDigit(r): // Arabic-Indic and other scripts' digits
			digits++
			b.WriteRune('0' + digitValue(r))
		case r == 'O' || r == 'o':
			digits++
			b.WriteByte('0')
		case r == 'l' || r == 'I' || r == 'i' || r == '|':
			digits++
			b.WriteByte('1')
		case r == '+' || r == ' ' || r == '-' || r == '.' || r == '(' || r == ')' || r == '/':
			b.WriteRune(r)
		default:
			return "", false
		}
	}
	if digits < 4 || digits > 17 {
		return "", false
	}
	out := strings.TrimSpace(b.String())
	if strings.LastIndex(out, "+") > 0 {
		return "", false
	}
	// 00 followed by a country code (not 000, Kenya's own prefix).
	if d := onlyDigits(out); strings.HasPrefix(d, "00") && !strings.HasPrefix(d, "000") && !strings.HasPrefix(out, "+") {
		out = "+" + d[2:]
	}
	return out, true
}

// digitValue is the value of a decimal digit of any script. Unicode keeps
// each script's digits 0 to 9 in consecutive code points.
func digitValue(r rune) rune {
	zero := r
	for k := 0; k < 9 && unicode.IsDigit(zero-1); k++ {
		zero--
	}
	return (r - zero) % 10
}

func onlyDigits(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}

// phoneFromDigits reads a number written in full international form without
// a plus, as in a wa.me link: "254712345678". It returns "" if that is not a
// possible number.
func phoneFromDigits(d string) string {
	d = onlyDigits(d)
	if len(d) < 7 || len(d) > 15 {
		return ""
	}
	n, err := phonenumbers.Parse("+"+d, DefaultRegion)
	if err != nil || !phonenumbers.IsPossibleNumber(n) {
		return ""
	}
	return phonenumbers.Format(n, phonenumbers.E164)
}
