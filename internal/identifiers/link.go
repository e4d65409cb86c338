package identifiers

import (
	"net/url"
	"path"
	"slices"
	"strings"
)

// Link canonicalises a web address: https, a lower-case host without
// "www." (and without the mobile prefixes of the big platforms, whose old
// names are mapped to the current ones: twitter.com is x.com), no port 80 or
// 443, no fragment, no trailing slash, and the query without tracking
// parameters (utm_*, fbclid, gclid, igshid, si …); the platforms in the
// report form keep only the parameters that name what is shown (a Facebook
// profile id). WhatsApp and Telegram invite links are kept whole, codes in
// their own case, without any query. A value that is not a web address
// gives "" and FlagLinkInvalid.
func Link(s string) (canonical, flag string) {
	r := link(clean(s))
	return r.Normalised, r.Flag
}

// link canonicalises a link and derives the username or phone number it
// names, if any. The rules are applied until the result no longer changes
// (punctuation trimmed before a fragment was dropped can show up again), so
// that the canonical form of a canonical form is itself.
func link(v string) Result {
	res := linkOnce(v)
	for range 3 {
		if res.Flag != "" {
			break
		}
		again := linkOnce(res.Normalised)
		if again.Normalised == res.Normalised {
			break
		}
		res = again
	}
	return res
}

func linkOnce(v string) Result {
	res := Result{Type: TypeLink}
	u, ok := parseLink(v)
	if !ok {
		res.Flag = FlagLinkInvalid
		return res
	}
	var also []Key
	u, also = platformLink(u)
	res.Normalised = u.String()
	res.Keys = append([]Key{{KindLink, res.Normalised}}, also...)
	return res
}

// parseLink parses a typed link into its canonical host, path and query,
// ready for the platform rules.
func parseLink(v string) (*url.URL, bool) {
	// What a link copied out of a sentence carries around it.
	for prev := ""; prev != v; {
		prev = v
		v = strings.TrimRight(strings.Trim(v, "<>\"'`()[]{}"), ".,;:!?")
	}
	lv := strings.ToLower(v)
	switch {
	case strings.HasPrefix(lv, "tg:"), strings.HasPrefix(lv, "whatsapp:"):
		return appLink(v)
	case strings.HasPrefix(lv, "//"):
		v = "https:" + v
	case !strings.Contains(lv, "://"):
		v = "https://" + v
	}
	u, err := url.Parse(v)
	if err != nil || u.Scheme != "http" && u.Scheme != "https" || u.Opaque != "" || u.User != nil {
		return nil, false
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if !validHost(host) {
		return nil, false
	}
	if rest, ok := strings.CutPrefix(host, "www."); ok && strings.Contains(rest, ".") {
		host = rest
	}
	if alias, ok := hostAliases[host]; ok {
		host = alias
	}
	if port := u.Port(); port != "" && port != "80" && port != "443" {
		host += ":" + port
	}
	p := u.Path
	if p != "" {
		p = path.Clean("/" + p)
	}
	if p == "/" {
		p = ""
	}
	q, _ := url.ParseQuery(u.RawQuery) // keep the pairs that parse
	for k := range q {
		if tracking(k) {
			delete(q, k)
		}
	}
	return &url.URL{Scheme: "https", Host: host, Path: p, RawQuery: q.Encode()}, true
}

// appLink reads the links apps open (tg://resolve?domain=name,
// tg://join?invite=CODE, whatsapp://send?phone=2547…) as their web form.
func appLink(v string) (*url.URL, bool) {
	u, err := url.Parse(v)
	if err != nil {
		return nil, false
	}
	q := u.Query()
	action := strings.ToLower(u.Host + u.Opaque)
	switch {
	case u.Scheme == "tg" && action == "resolve" && q.Get("domain") != "":
		return &url.URL{Scheme: "https", Host: "t.me", Path: "/" + q.Get("domain")}, true
	case u.Scheme == "tg" && action == "join" && q.Get("invite") != "":
		return &url.URL{Scheme: "https", Host: "t.me", Path: "/+" + q.Get("invite")}, true
	case u.Scheme == "whatsapp" && action == "send" && q.Get("phone") != "":
		return &url.URL{Scheme: "https", Host: "wa.me", Path: "/" + onlyDigits(q.Get("phone"))}, true
	}
	return nil, false
}

func validHost(h string) bool {
	if h == "" || !strings.Contains(h, ".") || !hostChars(h) || strings.Contains(h, ":") {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || strings.HasPrefix(label, "-") || strings.HasSuffix(label, "-") {
			return false
		}
	}
	return true
}

// hostAliases maps other names of the platforms' hosts to one.
var hostAliases = map[string]string{
	"m.facebook.com": "facebook.com", "mbasic.facebook.com": "facebook.com", "web.facebook.com": "facebook.com",
	"touch.facebook.com": "facebook.com", "mobile.facebook.com": "facebook.com", "fb.com": "facebook.com",
	"twitter.com": "x.com", "mobile.twitter.com": "x.com", "mobile.x.com": "x.com",
	"telegram.me": "t.me", "telegram.dog": "t.me",
	"instagr.am": "instagram.com", "m.instagram.com": "instagram.com",
	"m.tiktok.com":     "tiktok.com",
	"m.youtube.com":    "youtube.com",
	"m.snapchat.com":   "snapchat.com",
	"api.whatsapp.com": "api.whatsapp.com", "web.whatsapp.com": "api.whatsapp.com",
}

// tracking reports whether a query parameter only says where a click came
// from.
func tracking(key string) bool {
	k := strings.ToLower(key)
	return strings.HasPrefix(k, "utm_") || slices.Contains(trackingParams, k)
}

var trackingParams = []string{
	"fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid", "ttclid", "li_fat_id",
	"igshid", "igsh", "si", "mibextid", "ref_src", "ref_url", "_ga", "_gl", "mc_cid", "mc_eid",
	"__cft__[0]", "__tn__", "_rdr", "rdid", "share_url", "sender_device", "sender_web_id", "is_from_webapp",
}

// keepParams are the only query parameters kept on the platforms' hosts:
// those that say which profile, post or video is shown. Everything else
// there is tracking, sharing state or the like.
var keepParams = map[string][]string{
	"facebook.com": {"id", "story_fbid", "fbid", "v", "set", "multi_permalinks"},
	"youtube.com":  {"v", "list"},
	"x.com":        nil, "instagram.com": nil, "tiktok.com": nil, "vm.tiktok.com": nil, "t.me": nil,
	"wa.me": nil, "chat.whatsapp.com": nil, "whatsapp.com": nil, "youtu.be": nil, "snapchat.com": nil, "m.me": nil,
}

// Paths on the platforms that are not usernames.
var (
	telegramReserved  = []string{"joinchat", "addlist", "s", "c", "share", "proxy", "socks", "addstickers", "addemoji", "iv", "login", "setlanguage", "addtheme", "bg", "invoice", "boost", "contact"}
	instagramReserved = []string{"p", "reel", "reels", "tv", "stories", "explore", "accounts", "direct", "about", "developer", "legal", "web", "challenge", "privacy", "emails", "session", "sessions"}
	xReserved         = []string{"home", "i", "search", "explore", "hashtag", "intent", "share", "settings", "messages", "notifications", "compose", "login", "logout", "signup", "tos", "privacy", "account", "download"}
	facebookReserved  = []string{"profile.php", "groups", "pages", "events", "watch", "photo", "photo.php", "photos", "story.php", "permalink.php", "share", "sharer", "sharer.php", "reel", "reels", "marketplace", "login", "login.php", "people", "hashtag", "help", "policies", "stories", "gaming", "messages", "notifications", "friends", "search", "l.php", "home.php", "watch.php", "video.php", "media", "dialog", "plugins", "legal", "privacy", "settings"}
)

// platformLink applies the rules of the platforms in the report form: which
// parameters stay, which links are invites kept whole, and which name a
// username or a phone number (returned as extra keys).
func platformLink(u *url.URL) (*url.URL, []Key) {
	if keep, ok := keepParams[u.Host]; ok {
		q, _ := url.ParseQuery(u.RawQuery)
		for k := range q {
			if !slices.Contains(keep, k) {
				delete(q, k)
			}
		}
		u.RawQuery = q.Encode()
	}
	var segs []string
	if u.Path != "" {
		segs = strings.Split(u.Path[1:], "/")
	}
	first := ""
	if len(segs) > 0 {
		first = segs[0]
	}
	// lowerFirst lower-cases the username in the path: the platforms treat
	// it case-insensitively, unlike post codes after it.
	lowerFirst := func(i int) {
		segs[i] = strings.ToLower(segs[i])
		u.Path = "/" + strings.Join(segs, "/")
	}
	handleKey := func(platform, name string) []Key {
		if h := handleName(platform, name); h != "" {
			return []Key{{HandleKind(platform), h}}
		}
		return nil
	}
	switch u.Host {
	case "chat.whatsapp.com":
		u.RawQuery = "" // an invite: the code is all that counts, in its own case
	case "whatsapp.com":
		if first == "channel" {
			u.RawQuery = ""
		}
	case "wa.me":
		if len(segs) == 1 {
			if e164 := phoneFromDigits(first); e164 != "" {
				u.Path, u.RawQuery = "/"+onlyDigits(first), ""
				return u, []Key{{KindPhone, e164}}
			}
		}
	case "api.whatsapp.com":
		q, _ := url.ParseQuery(u.RawQuery)
		if e164 := phoneFromDigits(q.Get("phone")); e164 != "" && (first == "send" || first == "") {
			return &url.URL{Scheme: "https", Host: "wa.me", Path: "/" + onlyDigits(q.Get("phone"))}, []Key{{KindPhone, e164}}
		}
	case "t.me":
		switch {
		case strings.HasPrefix(first, "+"), first == "joinchat", first == "addlist":
			u.RawQuery = "" // an invite, kept whole
		case first == "s" && len(segs) > 1 && telegramName(segs[1]):
			lowerFirst(1)
			return u, handleKey(PlatformTelegram, segs[1])
		case telegramName(first) && !slices.Contains(telegramReserved, strings.ToLower(first)):
			lowerFirst(0)
			return u, handleKey(PlatformTelegram, first)
		}
	case "instagram.com":
		switch {
		case first == "stories" && len(segs) > 1 && !slices.Contains(instagramReserved, strings.ToLower(segs[1])):
			lowerFirst(1)
			return u, handleKey(PlatformInstagram, segs[1])
		case first != "" && !slices.Contains(instagramReserved, strings.ToLower(first)):
			lowerFirst(0)
			return u, handleKey(PlatformInstagram, first)
		}
	case "tiktok.com":
		if len(first) > 1 && first[0] == '@' {
			lowerFirst(0)
			return u, handleKey(PlatformTikTok, first[1:])
		}
	case "x.com":
		if first != "" && !slices.Contains(xReserved, strings.ToLower(first)) {
			lowerFirst(0)
			return u, handleKey(PlatformX, first)
		}
	case "facebook.com":
		q, _ := url.ParseQuery(u.RawQuery)
		switch {
		case first == "profile.php" && q.Get("id") != "":
			return u, handleKey(PlatformFacebook, q.Get("id"))
		case first == "people" && len(segs) > 2:
			return u, handleKey(PlatformFacebook, segs[2])
		case first != "" && !slices.Contains(facebookReserved, strings.ToLower(first)):
			lowerFirst(0)
			return u, handleKey(PlatformFacebook, first)
		}
	case "m.me":
		if first != "" {
			lowerFirst(0)
			return u, handleKey(PlatformFacebook, first)
		}
	case "snapchat.com":
		if first == "add" && len(segs) > 1 {
			lowerFirst(1)
			return u, handleKey(PlatformSnapchat, segs[1])
		}
	}
	return u, nil
}

// telegramName: what a Telegram username may be (letters, digits and
// underscores, starting with a letter).
func telegramName(s string) bool {
	if s == "" || !(s[0] >= 'a' && s[0] <= 'z' || s[0] >= 'A' && s[0] <= 'Z') {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}
