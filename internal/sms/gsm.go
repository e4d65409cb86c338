package sms

import (
	"strings"
	"unicode/utf8"
)

// MaxSingle is the length of one SMS in the GSM 7-bit alphabet, and of a
// USSD screen Salama allows itself.
const MaxSingle = 160

// gsmBasic is the GSM 03.38 default alphabet (no escape table). Text made of
// these characters travels as 7-bit: 160 per SMS. One character outside it
// turns the whole message into UCS-2, 70 per SMS, and some feature phones show
// it as boxes.
const gsmBasic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
	"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"

var gsmSet = func() map[rune]bool {
	m := map[rune]bool{}
	for _, r := range gsmBasic {
		m[r] = true
	}
	return m
}()

// IsPlain reports whether s is entirely in the GSM 7-bit default alphabet.
func IsPlain(s string) bool {
	for _, r := range s {
		if !gsmSet[r] {
			return false
		}
	}
	return true
}

// plainMap replaces what people paste (typographic quotes and dashes, the
// escape-table characters that cost two) and the accented letters of names
// with their nearest plain form.
var plainMap = map[rune]string{
	'‘': "'", '’': "'", '‚': "'", '′': "'", '`': "'", '´': "'",
	'“': "\"", '”': "\"", '„': "\"", '″': "\"",
	'–': "-", '—': "-", '‐': "-", '‑': "-", '‒': "-", '−': "-",
	'…': "...", '•': "-", '·': "-",
	'\u00a0': " ", '\u202f': " ", '\u2007': " ", '\u2009': " ", '\t': " ",
	'[': "(", ']': ")", '{': "(", '}': ")", '~': "-", '|': "/", '\\': "/", '^': "'",
	'€': "EUR",
	'á': "a", 'â': "a", 'ã': "a", 'ā': "a", 'Á': "A", 'À': "A", 'Â': "A", 'Ã': "A",
	'ç': "c", 'ê': "e", 'ë': "e", 'ē': "e", 'È': "E", 'Ê': "E", 'Ë': "E",
	'í': "i", 'î': "i", 'ï': "i", 'Í': "I", 'Ì': "I", 'Î': "I", 'Ï': "I",
	'ó': "o", 'ô': "o", 'õ': "o", 'Ó': "O", 'Ò': "O", 'Ô': "O", 'Õ': "O",
	'ú': "u", 'û': "u", 'Ú': "U", 'Ù': "U", 'Û': "U", 'ý': "y", 'ÿ': "y", 'Ý': "Y",
}

// Plain returns s in the GSM 7-bit default alphabet: look-alikes replaced,
// invalid UTF-8 and anything else (emoji, other scripts) as '?', control
// characters other than a line break dropped.
func Plain(s string) string {
	if IsPlain(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == utf8.RuneError && size <= 1:
			b.WriteByte('?')
		case gsmSet[r] && r != '\r':
			b.WriteRune(r)
		case plainMap[r] != "":
			b.WriteString(plainMap[r])
		case r < 0x20 || r == 0x7f || r == '\r' || (r >= 0x80 && r < 0xa0) || r == '\u200b' || r == '\ufeff':
			// control and zero-width characters: dropped
		default:
			b.WriteByte('?')
		}
	}
	return b.String()
}

// Truncate cuts s to at most n characters, ending with "..." when it cut.
func Truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	if n <= 3 {
		return string([]rune(s)[:n])
	}
	return strings.TrimRight(string([]rune(s)[:n-3]), " ,;:-") + "..."
}
