package staff

import (
	_ "embed"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// MinPassword is the shortest password accepted: a passphrase of a few words
// is easier to remember on a shared office computer than a short jumble.
const MinPassword = 12

// commonPasswords is the 10,000 most common passwords of the Xato corpus of
// ten million leaked passwords, as ranked by zxcvbn (data/passwords.txt of
// github.com/dropbox/zxcvbn, © 2012-2016 Dan Wheeler and Dropbox, Inc., MIT
// licence), lower case, sorted. 76 KB in the binary and nothing in memory
// until a password is set: see docs/security.md for why this and not a
// zxcvbn port.
//
//go:embed common_passwords.txt
var commonPasswords string

var commonList = sync.OnceValue(func() []string { return strings.Fields(commonPasswords) })

// PasswordProblem says why a new password was refused, so that the page can
// say it plainly. It matches ErrWeakPassword with errors.Is.
type PasswordProblem string

// Why a password is refused.
const (
	PasswordShort    PasswordProblem = "short"    // under MinPassword characters
	PasswordCommon   PasswordProblem = "common"   // a common password, or one with digits, symbols or l33t around it
	PasswordPattern  PasswordProblem = "pattern"  // a keyboard row, a run like abcd or 1234, a repeat
	PasswordDigits   PasswordProblem = "digits"   // only digits: a date, a phone number, a PIN
	PasswordUsername PasswordProblem = "username" // the username or "salama" with little else
)

func (p PasswordProblem) Error() string { return "staff: weak password (" + string(p) + ")" }

// Is makes every PasswordProblem an ErrWeakPassword.
func (p PasswordProblem) Is(target error) bool { return target == ErrWeakPassword }

// CheckPassword refuses a password a guesser would try early: one shorter
// than MinPassword, one of the most common passwords or a variation of one
// (capitals, l33t like p@ssw0rd, digits or symbols around it, said twice), a
// keyboard row or a run (qwertyuiop, abcdef, 123456…), a repeat (aaaa,
// 1212…), only digits, or the username or "salama" with little else. It
// returns nil or a PasswordProblem.
//
// Online guessing is slowed by the login back-off and a TOTP code; these
// rules are against offline guessing of a stolen database, where each guess
// costs one argon2id evaluation and guessers try exactly these first.
func CheckPassword(password, username string) error {
	if utf8.RuneCountInString(password) < MinPassword {
		return PasswordShort
	}
	lower := strings.ToLower(password)
	var plain strings.Builder // letters and digits only
	for _, r := range lower {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			plain.WriteRune(r)
		}
	}
	if p := plain.String(); p != "" && strings.Trim(p, "0123456789") == "" {
		return PasswordDigits
	}
	if distinct(lower) < 5 || isRun(strings.Trim(plain.String(), "0123456789")) {
		return PasswordPattern
	}
	if common(lower) {
		return PasswordCommon
	}
	// What is left once the username and the product's name are taken
	// out must stand on its own.
	rest := lower
	for _, w := range []string{normaliseUsername(username), "salama"} {
		if len(w) >= 3 {
			rest = strings.ReplaceAll(rest, w, "")
		}
	}
	if rest != lower {
		if n := utf8.RuneCountInString(strings.Join(strings.FieldsFunc(rest, notAlnum), "")); n < 8 || common(rest) {
			return PasswordUsername
		}
	}
	return nil
}

func notAlnum(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }

// common reports whether a lower-cased password is on the list, as typed, or
// once decorations are taken away: digits and symbols before and after, l33t
// in the middle (1 read as i and as l), separators, a word said twice.
func common(lower string) bool {
	if listed(lower) {
		return true
	}
	middle := strings.TrimFunc(lower, notLetter)
	if len(middle) < 4 {
		// Hardly a letter between the digits and symbols.
		return true
	}
	for _, one := range []rune{'i', 'l'} {
		core := strings.Map(func(r rune) rune {
			if r == '1' {
				return one
			}
			if l, ok := leet[r]; ok {
				return l
			}
			if notLetter(r) {
				return -1
			}
			return r
		}, middle)
		if listed(core) || isRun(core) {
			return true
		}
		if unit := repeatedUnit(core); unit != "" && (len(unit) < 8 || listed(unit)) {
			return true
		}
	}
	return false
}

func notLetter(r rune) bool { return !unicode.IsLetter(r) }

var leet = map[rune]rune{'4': 'a', '@': 'a', '8': 'b', '3': 'e', '6': 'g', '9': 'g', '!': 'i', '0': 'o', '5': 's', '$': 's', '7': 't', '+': 't', '2': 'z'}

func listed(s string) bool {
	l := commonList()
	_, ok := slices.BinarySearch(l, s)
	return ok
}

// distinct counts the different characters of s.
func distinct(s string) int {
	seen := map[rune]bool{}
	for _, r := range s {
		seen[r] = true
	}
	return len(seen)
}

// runs are the sequences people walk along, forwards or backwards: the
// alphabet, the digits and the rows of a QWERTY keyboard (also as one line).
var runs = []string{"abcdefghijklmnopqrstuvwxyz", "01234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm", "qwertyuiopasdfghjklzxcvbnm", "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p"}

// isRun reports whether s (at least four characters) lies along one of the
// runs, forwards or backwards.
func isRun(s string) bool {
	if len(s) < 4 {
		return false
	}
	for _, r := range runs {
		if strings.Contains(r, s) || strings.Contains(reverse(r), s) {
			return true
		}
	}
	return false
}

func reverse(s string) string {
	b := []byte(s)
	slices.Reverse(b)
	return string(b)
}

// repeatedUnit returns u when s is u said two or more times, or "".
func repeatedUnit(s string) string {
	for n := 1; n <= len(s)/2; n++ {
		if len(s)%n == 0 && strings.Repeat(s[:n], len(s)/n) == s {
			return s[:n]
		}
	}
	return ""
}
