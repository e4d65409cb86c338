package sms

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
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
// accented letters outside it without their accents (ş → s), emoji dropped,
// invalid UTF-8 and letters of other scripts as '?', control characters
// other than a line break dropped.
func Plain(s string) string {
	if IsPlain(s) {
		return s
	}
	return transcribe(s, keepGSM)
}

// keepGSM writes a character of the GSM default alphabet as it is (but for
// a carriage return) and a look-alike as its plain form, and reports
// whether it wrote r.
func keepGSM(b *strings.Builder, r rune) bool {
	switch {
	case gsmSet[r] && r != '\r':
		b.WriteRune(r)
	case plainMap[r] != "":
		b.WriteString(plainMap[r])
	default:
		return false
	}
	return true
}

// gsmEscaped are the ASCII characters outside the GSM default alphabet
// (its escape table costs two characters each, and '`' has no place): ASCII
// replaces them as Plain does.
const gsmEscaped = "[]{}~|\\^`"

// ASCII returns s in printable ASCII, for USSD screens (some handsets and
// gateways show anything else as '?' or boxes): accented letters lose their
// accents (é → e, ß → ss), look-alike punctuation becomes its plain form,
// emoji and other pictographs are dropped, and a letter of another script
// that has no ASCII form becomes '?'. Line breaks are kept; other control
// characters are dropped. What it returns is also in the GSM default
// alphabet (IsPlain), one character a character.
func ASCII(s string) string {
	ascii := !strings.ContainsAny(s, gsmEscaped)
	for i := 0; ascii && i < len(s); i++ {
		if c := s[i]; c >= 0x80 || (c < 0x20 && c != '\n') || c == 0x7f {
			ascii = false
		}
	}
	if ascii {
		return s
	}
	return transcribe(s, keepASCII)
}

// keepASCII writes a look-alike whose plain form is ASCII as that form, and
// a line break or printable ASCII as it is, and reports whether it wrote r.
func keepASCII(b *strings.Builder, r rune) bool {
	switch {
	case isASCII(plainMap[r]) && plainMap[r] != "":
		b.WriteString(plainMap[r])
	case r == '\n' || (r >= 0x20 && r < 0x7f):
		b.WriteRune(r)
	default:
		return false
	}
	return true
}

// transcribe is the loop of Plain and ASCII: invalid UTF-8 becomes '?';
// what keep writes is kept; control and zero-width characters are dropped;
// emoji, their modifiers and joiners and other pictographs are dropped too,
// and the spaces around them tidied; any other letter is folded to its
// ASCII base, or '?' where it has none.
func transcribe(s string, keep func(b *strings.Builder, r rune) bool) string {
	var b strings.Builder
	b.Grow(len(s))
	gap := false // something was dropped: spaces around it may double
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == utf8.RuneError && size <= 1:
			b.WriteByte('?')
		case keep(&b, r):
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u200b' || r == '\ufeff':
			// control and zero-width characters: dropped
		case dropped(r):
			gap = true
		default:
			if a := fold(r); a != "" {
				b.WriteString(a)
			} else {
				b.WriteByte('?')
			}
		}
	}
	if gap {
		return tidySpaces(b.String())
	}
	return b.String()
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// foldMap holds the letters whose decomposition has no ASCII base.
var foldMap = map[rune]string{
	'ß': "ss", 'ẞ': "SS", 'Æ': "AE", 'æ': "ae", 'Ø': "O", 'ø': "o", 'Œ': "OE", 'œ': "oe",
	'Đ': "D", 'đ': "d", 'Ð': "D", 'ð': "d", 'Ł': "L", 'ł': "l", 'Þ': "Th", 'þ': "th",
	'ı': "i", 'Ħ': "H", 'ħ': "h", 'ŋ': "ng", 'Ŋ': "NG",
	'¡': "!", '¿': "?", '£': "GBP", '¥': "JPY", '§': "S", '¤': "",
}

// fold is r in ASCII letters when it is a Latin letter with marks (é, ñ,
// ş), a compatibility form (ﬁ, Ａ, ²) or in foldMap; "" when it has none.
func fold(r rune) string {
	if a, ok := foldMap[r]; ok {
		return a
	}
	var b strings.Builder
	for _, d := range norm.NFKD.String(string(r)) {
		switch {
		case d >= 0x20 && d < 0x7f:
			b.WriteRune(d)
		case unicode.Is(unicode.Mn, d):
			// the accent
		default:
			return ""
		}
	}
	return b.String()
}

// dropped reports whether r is an emoji or a part of one (a skin tone, a
// variation selector, a joiner, a keycap), or another pictograph: there is
// nothing to say in its place.
func dropped(r rune) bool {
	switch {
	case r == '\u200d' || r == '\u20e3' || (r >= 0xfe00 && r <= 0xfe0f) || (r >= 0xe0020 && r <= 0xe007f):
		return true
	case r >= 0x1f000 && r <= 0x1faff, r >= 0x2600 && r <= 0x27bf, r >= 0x2b00 && r <= 0x2bff:
		return true
	}
	return unicode.In(r, unicode.So, unicode.Sk, unicode.Me, unicode.Cs, unicode.Co)
}

// tidySpaces removes the doubled and trailing spaces a dropped emoji leaves
// ("Clinic 😀 Nairobi"), line by line.
func tidySpaces(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lead := len(l) - len(strings.TrimLeft(l, " "))
		lines[i] = l[:lead] + strings.Join(strings.Fields(l[lead:]), " ")
	}
	return strings.Join(lines, "\n")
}

// Truncate cuts s to at most n characters, ending with "..." when it cut.
// It cuts at the end of a word when one ends in the second half of the
// room, so that a name reads "Example Child Protection..." and not
// "Example Child Protection Centre, Kisu...".
func Truncate(s string, n int) string {
	rs := []rune(s)
	if len(rs) <= n {
		return s
	}
	if n <= 3 {
		return string(rs[:n])
	}
	room := n - 3
	cut := room
	// A word ends at rs[i-1] when rs[i] is a space (or rs[room] is, for
	// the whole room).
	for i := room; i > room/2; i-- {
		if rs[i] == ' ' {
			cut = i
			break
		}
	}
	return strings.TrimRight(string(rs[:cut]), " ,;:-/(") + "..."
}
