package identifiers

import (
	"slices"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Types of identifier, as the report form offers them.
const (
	TypePhone  = "phone"
	TypeHandle = "handle"
	TypeLink   = "link"
)

// Platforms the report form offers. A handle on any other platform, or on
// none, is a handle on PlatformOther.
const (
	PlatformWhatsApp  = "whatsapp"
	PlatformTelegram  = "telegram"
	PlatformFacebook  = "facebook"
	PlatformInstagram = "instagram"
	PlatformTikTok    = "tiktok"
	PlatformX         = "x"
	PlatformSnapchat  = "snapchat"
	PlatformOther     = "other"
)

// Flags say why a value could not be fully normalised. They are codes: the
// console words them.
const (
	// FlagPhoneInvalid: not a phone number anywhere (too short, too long,
	// letters). Kept as typed and not matched.
	FlagPhoneInvalid = "phone_invalid"
	// FlagPhoneUnverified: the right length but in no range the numbering
	// plan knows (a typo, or a range newer than the metadata). Matched on its
	// E.164 form.
	FlagPhoneUnverified = "phone_unverified"
	// FlagHandleUnusual: characters or a length the platform does not allow
	// in usernames (perhaps a display name). Matched on its lower-case form.
	FlagHandleUnusual = "handle_unusual"
	// FlagLinkInvalid: not a web address. Kept as typed and not matched.
	FlagLinkInvalid = "link_invalid"
	// FlagEmpty: nothing left once spaces and @ are taken away.
	FlagEmpty = "empty"
)

// Kinds of blind-index key. A handle's kind names its platform, so the same
// name on two platforms is two identifiers.
const (
	KindPhone = "phone"
	KindLink  = "link"
)

// HandleKind is the key kind of a username on a platform: "handle:telegram".
func HandleKind(platform string) string { return "handle:" + platform }

// Key is one value the blind index is computed over: seal's
// BlindIndex(Kind, Value).
type Key struct {
	Kind  string `json:"kind"`
	Value string `json:"value"`
}

// Result is what Normalise makes of one typed identifier.
type Result struct {
	// Type is phone, handle or link: as given, or inferred from the value
	// when none was given or the value plainly is another type (a wa.me
	// link given as a phone number).
	Type string
	// Normalised is the canonical form a caseworker sees beside what was
	// typed; "" when nothing usable came out (Flag says why).
	Normalised string
	// Flag is "" or one of the Flag constants.
	Flag string
	// Keys are what the blind index covers, the identifier's own first: a
	// profile link also yields the username, a wa.me link the number. Empty
	// when the value cannot be matched.
	Keys []Key
}

// MaxInput is the longest value normalised; the report form allows 500
// characters per identifier. Longer input is cut, never an error.
const MaxInput = 1000

// Normalise turns one typed identifier into its canonical form and the keys
// of its blind index. typ is "phone", "handle", "link" or "" (then it is
// inferred); platform is one of the Platform constants or "" (unknown). It
// never fails: the worst outcome is a flagged Result without keys.
func Normalise(typ, platform, value string) Result {
	if len(value) > MaxInput {
		value = value[:MaxInput]
	}
	value = clean(value)
	platform = strings.ToLower(strings.TrimSpace(platform))
	if !slices.Contains(platforms, platform) {
		platform = PlatformOther
	}
	switch {
	case typ == TypePhone && looksLikeLink(value):
		typ = TypeLink
	case typ == TypeLink && !looksLikeLink(value) && looksLikePhone(value):
		typ = TypePhone
	case typ != TypePhone && typ != TypeHandle && typ != TypeLink:
		typ = infer(value)
	}
	if value == "" {
		return Result{Type: typ, Flag: FlagEmpty}
	}
	switch typ {
	case TypeHandle:
		return handle(platform, value)
	case TypeLink:
		return link(value)
	}
	res := Result{Type: TypePhone}
	res.Normalised, res.Flag = Phone(value)
	if res.Normalised != "" {
		res.Keys = []Key{{KindPhone, res.Normalised}}
	}
	return res
}

var platforms = []string{PlatformWhatsApp, PlatformTelegram, PlatformFacebook, PlatformInstagram, PlatformTikTok, PlatformX, PlatformSnapchat, PlatformOther}

// clean applies Unicode compatibility normalisation (full-width and
// mathematical letters and digits, which people paste from adverts, become
// ASCII), removes invisible characters and trims space.
func clean(s string) string {
	s = norm.NFKC.String(strings.ToValidUTF8(s, ""))
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\u200b', r == '\u200c', r == '\u200d', r == '\u2060', r == '\ufeff', r == '\u00ad':
			return -1 // zero-width and soft-hyphen characters
		case unicode.IsSpace(r):
			return ' '
		case unicode.IsControl(r):
			return -1
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}

// infer guesses the type of a value given without one.
func infer(v string) string {
	switch {
	case looksLikeLink(v):
		return TypeLink
	case looksLikePhone(v):
		return TypePhone
	}
	return TypeHandle
}

// looksLikeLink: a scheme, "www.", or a dotted host followed by a path
// ("t.me/name"). A bare "john.doe" is a username, not a link.
func looksLikeLink(v string) bool {
	if strings.ContainsAny(v, " \t") {
		return false
	}
	lv := strings.ToLower(v)
	for _, p := range []string{"http://", "https://", "tg://", "whatsapp://", "www."} {
		if strings.HasPrefix(lv, p) {
			return true
		}
	}
	host, _, ok := strings.Cut(lv, "/")
	return ok && strings.Contains(host, ".") && !strings.HasPrefix(host, ".") && hostChars(host)
}

func hostChars(h string) bool {
	for _, r := range h {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == ':' || r > unicode.MaxASCII) {
			return false
		}
	}
	return true
}

// looksLikePhone: digits with the separators people type, 7 to 15 digits,
// and nothing else.
func looksLikePhone(v string) bool {
	digits := 0
	for i, r := range v {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '+' && i == 0, r == ' ', r == '-', r == '.', r == '(', r == ')', r == '/':
		default:
			return false
		}
	}
	return digits >= 7 && digits <= 15
}
