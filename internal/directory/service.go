package directory

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/salama-ke/salama/internal/report"
)

// Text is a short text an organisation writes in both languages. Either may
// be empty; In falls back to the other.
type Text struct {
	EN string `json:"en,omitempty"`
	SW string `json:"sw,omitempty"`
}

// In returns the text in lang ("sw" or anything else for English), or the
// other language when that one is empty.
func (t Text) In(lang string) string {
	if lang == "sw" {
		if t.SW != "" {
			return t.SW
		}
		return t.EN
	}
	if t.EN != "" {
		return t.EN
	}
	return t.SW
}

// IsZero reports whether both languages are empty.
func (t Text) IsZero() bool { return t.EN == "" && t.SW == "" }

// Channels are the ways to reach a service. All are plain text. The web layer
// shows the website as words, never a link: a survivor on a shared phone
// chooses how to open it (a private window), and a click would leave one more
// entry in the browser's history.
type Channels struct {
	Phone    string `json:"phone,omitempty"`    // one or more numbers as written, e.g. "0700 000 001"
	SMS      string `json:"sms,omitempty"`      // a number that takes text messages
	WhatsApp string `json:"whatsapp,omitempty"` // a WhatsApp number
	WalkIn   Text   `json:"walk_in,omitzero"`   // an address or directions, in both languages
	Website  string `json:"website,omitempty"`  // a web address, e.g. "stopncii.org"
}

// IsZero reports whether no channel is given.
func (c Channels) IsZero() bool {
	return c.Phone == "" && c.SMS == "" && c.WhatsApp == "" && c.WalkIn.IsZero() && c.Website == ""
}

// Service is one service in the directory, as the store keeps it (JSON) and
// the directory file carries it.
type Service struct {
	ID          string      `json:"id"`     // stable, [a-z0-9._-]; "national." is reserved
	OrgID       string      `json:"org_id"` // the organisation that offers it
	Name        string      `json:"name"`   // as the organisation writes it
	Description Text        `json:"description,omitzero"`
	Type        ServiceType `json:"type"`
	// Counties are the slugs where the service is present. A National
	// service serves all of Kenya (by phone, online, or by taking people in
	// from anywhere) and may still list counties where it has an office.
	Counties  []string `json:"counties,omitempty"`
	National  bool     `json:"national,omitempty"`
	Ages      AgeGroup `json:"ages"`
	Genders   []Gender `json:"genders,omitempty"`   // empty: everyone
	Languages []string `json:"languages,omitempty"` // codes from Languages()
	Hours     Text     `json:"hours,omitzero"`
	Channels  Channels `json:"channels"`
	Cost      Text     `json:"cost,omitzero"`
	Free      bool     `json:"free,omitempty"`
	// ChildProtection is the network coordinator's mark: this service
	// takes a child at risk without the survivor's consent, so the
	// child-protection override may send it a report (SPEC §3 rule 5). It
	// is not the service type: an organisation chooses its own type, but
	// only a coordinator (or the directory file an operator imports) sets
	// the mark. The store keeps it in its own column, never in the
	// service's JSON, so an organisation's edit cannot carry it in.
	ChildProtection bool `json:"-"`
}

// FieldError says which field of a service is wrong. Field is the JSON name,
// with a dot for a nested field and an index for a list item
// ("channels.phone", "counties[2]"), so an import error points at the line
// to fix and the console can mark the input.
type FieldError struct {
	ID      string // the service's ID, as given
	Field   string
	Problem string // short, English, safe to show an organisation admin
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("directory: service %q: %s: %s", e.ID, e.Field, e.Problem)
}

// Limits on what an organisation may write, so one entry cannot swamp a
// 14 KB page.
const (
	maxIDLen    = 64
	maxNameLen  = 120
	maxDescLen  = 600
	maxShortLen = 200
	maxPhoneLen = 60
)

// Validate checks a service before it enters the directory, and returns a
// *FieldError naming the first bad field.
func (s Service) Validate() error {
	if strings.HasPrefix(s.ID, nationalPrefix) {
		// Only the built-in line itself, unchanged, may carry its ID: an
		// edited copy could show the name of 1195 with another number.
		if b, ok := builtin(s.ID); !ok || !sameService(b, s) {
			return s.bad("id", `"national." is reserved for the built-in national lines`)
		}
		return s.check(true)
	}
	return s.check(false)
}

func (s Service) bad(field, problem string) error {
	return &FieldError{ID: s.ID, Field: field, Problem: problem}
}

func (s Service) check(builtin bool) error {
	if !validID(s.ID) {
		return s.bad("id", "must be 1 to 64 characters: a-z, 0-9, '.', '-', '_', starting with a letter or digit")
	}
	if !builtin && !validID(s.OrgID) {
		return s.bad("org_id", "must name the organisation")
	}
	if strings.TrimSpace(s.Name) == "" {
		return s.bad("name", "is required")
	}
	if err := checkLine(s.Name, maxNameLen); err != "" {
		return s.bad("name", err)
	}
	if lang, err := checkText(s.Description, maxDescLen, true); err != "" {
		return s.bad("description."+lang, err)
	}
	if _, ok := ParseServiceType(string(s.Type)); !ok {
		return s.bad("type", "unknown service type")
	}
	for i, c := range s.Counties {
		if !isCounty(c) {
			return s.bad(fmt.Sprintf("counties[%d]", i), "unknown county")
		}
		if slices.Index(s.Counties, c) != i {
			return s.bad(fmt.Sprintf("counties[%d]", i), "listed twice")
		}
	}
	if len(s.Counties) == 0 && !s.National {
		return s.bad("counties", "list at least one county, or mark the service national")
	}
	if !slices.Contains(ageGroups, s.Ages) {
		return s.bad("ages", `must be "children", "adults" or "all"`)
	}
	if s.ChildProtection && !s.Ages.ServesChildren() {
		return s.bad("child_protection", "only a service that takes children can be marked child protection")
	}
	for i, g := range s.Genders {
		if !slices.Contains(genders, g) {
			return s.bad(fmt.Sprintf("genders[%d]", i), "unknown gender")
		}
		if slices.Index(s.Genders, g) != i {
			return s.bad(fmt.Sprintf("genders[%d]", i), "listed twice")
		}
	}
	for i, l := range s.Languages {
		if !slices.Contains(languages, l) {
			return s.bad(fmt.Sprintf("languages[%d]", i), "unknown language code")
		}
		if slices.Index(s.Languages, l) != i {
			return s.bad(fmt.Sprintf("languages[%d]", i), "listed twice")
		}
	}
	if lang, err := checkText(s.Hours, maxShortLen, false); err != "" {
		return s.bad("hours."+lang, err)
	}
	if lang, err := checkText(s.Cost, maxShortLen, false); err != "" {
		return s.bad("cost."+lang, err)
	}
	c := s.Channels
	if c.IsZero() {
		return s.bad("channels", "give at least one way to reach the service")
	}
	for _, p := range []struct{ field, v string }{
		{"channels.phone", c.Phone}, {"channels.sms", c.SMS}, {"channels.whatsapp", c.WhatsApp},
	} {
		if p.v != "" && !validPhone(p.v) {
			return s.bad(p.field, "use digits, spaces and + - ( ) * # / , only")
		}
	}
	if lang, err := checkText(c.WalkIn, maxShortLen, false); err != "" {
		return s.bad("channels.walk_in."+lang, err)
	}
	if c.Website != "" && !validWebsite(c.Website) {
		return s.bad("channels.website", "write a web address such as example.org/help")
	}
	return nil
}

func validID(id string) bool {
	if id == "" || len(id) > maxIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		b := id[i]
		alnum := b >= 'a' && b <= 'z' || b >= '0' && b <= '9'
		if !alnum && (i == 0 || b != '.' && b != '-' && b != '_') {
			return false
		}
	}
	return true
}

// checkLine returns a problem, or "" when s is valid UTF-8 without control
// characters and at most max characters long.
func checkLine(s string, max int) string {
	if !utf8.ValidString(s) {
		return "is not valid UTF-8"
	}
	if utf8.RuneCountInString(s) > max {
		return fmt.Sprintf("is longer than %d characters", max)
	}
	for _, r := range s {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || unicode.Is(unicode.Bidi_Control, r) {
			return "contains control characters"
		}
	}
	return ""
}

// checkText checks both languages and names the one with a problem.
func checkText(t Text, max int, multiline bool) (lang, problem string) {
	for _, l := range []struct{ lang, v string }{{"en", t.EN}, {"sw", t.SW}} {
		v := l.v
		if multiline {
			v = strings.ReplaceAll(v, "\n", " ")
		}
		if err := checkLine(v, max); err != "" {
			return l.lang, err
		}
	}
	return "", ""
}

func validPhone(s string) bool {
	if len(s) > maxPhoneLen {
		return false
	}
	digits := 0
	for i := 0; i < len(s); i++ {
		switch b := s[i]; {
		case b >= '0' && b <= '9':
			digits++
		case strings.IndexByte(" +-()*#/,", b) >= 0:
		default:
			return false
		}
	}
	return digits >= 3
}

// validWebsite accepts host[/path] with an optional http:// or https://. The
// host is letters, digits, dots and hyphens, with a dot; so "javascript:…"
// and anything with spaces, quotes or angle brackets is refused.
func validWebsite(s string) bool {
	if len(s) > maxShortLen {
		return false
	}
	rest := s
	lower := strings.ToLower(s)
	if after, ok := strings.CutPrefix(lower, "https://"); ok {
		rest = s[len(s)-len(after):]
	} else if after, ok := strings.CutPrefix(lower, "http://"); ok {
		rest = s[len(s)-len(after):]
	}
	host, path, _ := strings.Cut(rest, "/")
	if host == "" || !strings.Contains(host, ".") || strings.HasPrefix(host, ".") || strings.HasSuffix(host, ".") {
		return false
	}
	for i := 0; i < len(host); i++ {
		b := host[i] | 0x20
		if !(b >= 'a' && b <= 'z' || host[i] >= '0' && host[i] <= '9' || host[i] == '.' || host[i] == '-') {
			return false
		}
	}
	for i := 0; i < len(path); i++ {
		if b := path[i]; b <= ' ' || b >= 0x7f || strings.IndexByte("<>\"'`{}|\\^", b) >= 0 {
			return false
		}
	}
	return true
}

// Serves reports whether the service meets need n for someone who is, or is
// not, a child. A child-protection service meets every need of a child: it
// takes the case and arranges the rest.
func (s Service) Serves(n report.Need, child bool) bool {
	if n == report.NeedRecordOnly {
		return false
	}
	if child && s.Type == TypeChildProtection {
		_, ok := report.ParseNeed(string(n))
		return ok
	}
	return slices.Contains(needTypes[n], s.Type)
}

func sameService(a, b Service) bool {
	return a.ID == b.ID && a.OrgID == b.OrgID && a.Name == b.Name &&
		a.Description == b.Description && a.Type == b.Type &&
		slices.Equal(a.Counties, b.Counties) && a.National == b.National &&
		a.Ages == b.Ages && slices.Equal(a.Genders, b.Genders) &&
		slices.Equal(a.Languages, b.Languages) && a.Hours == b.Hours &&
		a.Channels == b.Channels && a.Cost == b.Cost && a.Free == b.Free &&
		a.ChildProtection == b.ChildProtection
}

func cloneService(s Service) Service {
	s.Counties = slices.Clone(s.Counties)
	s.Genders = slices.Clone(s.Genders)
	s.Languages = slices.Clone(s.Languages)
	return s
}
