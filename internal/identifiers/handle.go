package identifiers

import (
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// handleRule is what a platform allows in a username, after lower-casing.
// Every platform in the form treats usernames case-insensitively.
type handleRule struct {
	extra    string // allowed besides a-z and 0-9
	min, max int    // length in characters
	// ignoreDots: the platform treats "jane.doe" and "janedoe" as one
	// username (Facebook).
	ignoreDots bool
}

var handleRules = map[string]handleRule{
	PlatformTelegram:  {extra: "_", min: 5, max: 32},
	PlatformInstagram: {extra: "._", min: 1, max: 30},
	PlatformTikTok:    {extra: "._", min: 2, max: 24},
	PlatformX:         {extra: "_", min: 1, max: 15},
	PlatformFacebook:  {extra: ".", min: 5, max: 50, ignoreDots: true},
	PlatformSnapchat:  {extra: "._-", min: 3, max: 15},
}

// Handle normalises a username on a platform: without the leading @,
// lower-cased, without dots on Facebook. A profile link given as a username
// ("instagram.com/jane_doe/") gives the username in it. It returns the flag
// FlagHandleUnusual for characters or a length the platform does not allow
// (the value is still normalised), and FlagEmpty for nothing.
//
// A WhatsApp or Telegram "username" that is a phone number is normalised as
// a phone number by Normalise, not here.
func Handle(platform, s string) (normalised, flag string) {
	r := handle(platform, clean(s))
	return r.Normalised, r.Flag
}

// handle normalises a username. A value that is a link to a profile on the
// platform gives that profile's username; any other link is a link (the
// Result's Type says so).
func handle(platform, v string) Result {
	if looksLikeLink(v) {
		if l := link(v); l.Flag == "" {
			for i, k := range l.Keys {
				if k.Kind == HandleKind(platform) || platform == PlatformOther && strings.HasPrefix(k.Kind, "handle:") ||
					platform == PlatformWhatsApp && k.Kind == KindPhone {
					// The username first, then the rest (the link itself).
					keys := append([]Key{k}, l.Keys[:i]...)
					return Result{Type: TypeHandle, Normalised: k.Value, Keys: append(keys, l.Keys[i+1:]...)}
				}
			}
			return l
		}
	}
	switch platform {
	case PlatformWhatsApp:
		// A WhatsApp account is a phone number.
		if looksLikePhone(v) {
			if e164, f := Phone(v); e164 != "" {
				return Result{Type: TypeHandle, Normalised: e164, Flag: f, Keys: []Key{{KindPhone, e164}}}
			}
		}
	case PlatformTelegram:
		// Telegram usernames start with a letter: digits are a number.
		if looksLikePhone(v) && (v[0] == '+' || v[0] >= '0' && v[0] <= '9') {
			if e164, f := Phone(v); e164 != "" {
				return Result{Type: TypeHandle, Normalised: e164, Flag: f, Keys: []Key{{KindPhone, e164}}}
			}
		}
	}
	h := handleName(platform, v)
	if h == "" {
		return Result{Type: TypeHandle, Flag: FlagEmpty}
	}
	res := Result{Type: TypeHandle, Normalised: h, Keys: []Key{{HandleKind(platform), h}}}
	if rule, ok := handleRules[platform]; ok && !rule.allows(h) {
		res.Flag = FlagHandleUnusual
	}
	return res
}

// handleName is a username's canonical form on a platform: no leading @,
// single spaces, lower-case, and no dots where the platform ignores them.
// Lower-casing can undo a composition NFKC made (a letter and its accent),
// and NFKC can make spaces, so the steps repeat until nothing changes.
func handleName(platform, v string) string {
	rule, ok := handleRules[platform]
	h := v
	for range 4 {
		n := strings.TrimLeft(strings.TrimSpace(h), "@")
		if ok && rule.ignoreDots {
			n = strings.ReplaceAll(n, ".", "")
		}
		n = strings.Join(strings.Fields(norm.NFKC.String(strings.ToLower(n))), " ")
		if n == h {
			break
		}
		h = n
	}
	return h
}

func (r handleRule) allows(h string) bool {
	n := utf8.RuneCountInString(h)
	if n < r.min || n > r.max {
		return false
	}
	for _, c := range h {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.ContainsRune(r.extra, c)) {
			return false
		}
	}
	return true
}
