package reporting

import (
	"bytes"
	"errors"
	"io"
	"mime/multipart"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/salama-ke/salama/internal/evidence"
	"github.com/salama-ke/salama/internal/identifiers"
)

// The choices a form offers. A value outside these lists is a problem the
// survivor is told about, never silently dropped.
var (
	AboutChoices    = []string{"me", "child", "adult"}
	WhatChoices     = []string{"images_requested", "sextortion", "advertised", "trafficking", "sexual_violence", "other"}
	AgeChoices      = []string{"under13", "13-15", "16-17", "18-24", "25plus", "notsay"}
	WhenChoices     = []string{"ongoing", "72h", "month", "longer"}
	YesNo           = []string{"yes", "no"}
	TipChildChoices = []string{"yes", "no", "unsure"}
	HelpChoices     = []string{"medical", "counselling", "legal", "shelter", "police", "takedown", "travel_home", "record_only"}
	IDTypeChoices   = []string{"phone", "handle", "link"}
	PlatformChoices = []string{"whatsapp", "telegram", "facebook", "instagram", "tiktok", "x", "snapchat", "other"}
	ContactChoices  = []string{"code", "phone"}
	ShareChoices    = []string{"ask", "refer"}
)

// Limits on what one form may carry.
const (
	MaxNarrative   = 10000 // characters, SPEC §4.1
	MaxNote        = 2000  // a tip's note
	MaxShortText   = 200   // safe times, country
	MaxIdentifier  = 500   // one phone number, handle or link
	MaxIdentifiers = 20
	MaxPhone       = 30
	MaxFiles       = 5
	DefaultIDRows  = 2
)

// Input is what a person gave on the report or tip form, as typed (only
// surrounding space trimmed), so a failed submission shows all of it again.
type Input struct {
	Kind string // KindReport or KindTip

	About     string
	What      []string
	AgeBand   string
	County    string
	Country   string
	WhenLast  string
	Danger    string
	Help      []string
	Narrative string // a tip's note too

	Identifiers []Identifier

	ContactPref string
	Phone       string
	SafeTimes   string
	MaySayWho   string

	Share      string
	AllowMatch bool
	CountStats bool

	TipChild string // a tip: does a child seem involved?

	Files []Upload
	Token string
}

// Identifier is one row of "what you know about who did it".
type Identifier struct {
	Type     string `json:"type"`
	Platform string `json:"platform"`
	Value    string `json:"value"` // as typed, always kept

	// Set when the report is stored (see prepare), and sealed with it:
	// the canonical form the caseworker sees, why it could not be fully
	// normalised (an identifiers.Flag*), and the keys of its blind index.
	Normalised string            `json:"normalised,omitempty"`
	Flag       string            `json:"flag,omitempty"`
	Keys       []identifiers.Key `json:"keys,omitempty"`
}

// Upload is a screenshot as received.
type Upload struct {
	ContentType string
	Data        []byte
}

// Problems maps a form field to the catalog key of what is wrong with it.
type Problems map[string]string

// Form kinds.
const (
	KindReport = "report"
	KindTip    = "tip"
)

// NewInput is a blank form with the survivor-protective defaults: contact
// only through the code, ask before any sharing, counted anonymously.
func NewInput(kind string) Input {
	in := Input{Kind: kind, ContactPref: "code", Share: "ask", CountStats: true}
	in.Identifiers = make([]Identifier, DefaultIDRows)
	return in
}

// Decode reads a submitted form. Every field is optional; each value that is
// too long or not one of the offered choices yields a problem, and the value
// is kept as typed so the page can show it again.
func Decode(form url.Values, kind string) (Input, Problems) {
	p := Problems{}
	in := Input{Kind: kind, Token: form.Get("token")}
	one := func(name string, choices []string) string {
		v := strings.TrimSpace(form.Get(name))
		if v != "" && !slices.Contains(choices, v) {
			p[name] = "problem.choice"
		}
		return v
	}
	many := func(name string, choices []string) []string {
		var out []string
		for _, v := range form[name] {
			v = strings.TrimSpace(v)
			if v == "" || slices.Contains(out, v) {
				continue
			}
			if !slices.Contains(choices, v) {
				p[name] = "problem.choice"
			}
			out = append(out, v)
		}
		return out
	}
	text := func(name string, max int) string {
		v := strings.TrimSpace(strings.ReplaceAll(form.Get(name), "\r\n", "\n"))
		if !utf8.ValidString(v) {
			v = strings.ToValidUTF8(v, "\uFFFD")
		}
		if n := utf8.RuneCountInString(v); n > max {
			p[name] = "problem.too_long"
		}
		return v
	}

	in.County = text("county", 40)
	if in.County != "" && in.County != "outside" && in.County != "notsay" && !knownCounty(in.County) {
		p["county"] = "problem.choice"
	}
	if kind == KindTip {
		in.TipChild = one("child", TipChildChoices)
		in.Narrative = text("note", MaxNote)
		in.AllowMatch = true // a tip exists to be matched
		in.CountStats = true
	} else {
		in.About = one("about", AboutChoices)
		in.What = many("what", WhatChoices)
		in.AgeBand = one("age", AgeChoices)
		in.Country = text("country", MaxShortText)
		in.WhenLast = one("when", WhenChoices)
		in.Danger = one("danger", YesNo)
		in.Help = many("help", HelpChoices)
		in.Narrative = text("narrative", MaxNarrative)
		in.ContactPref = one("contact", ContactChoices)
		in.Phone = text("phone", MaxPhone)
		in.SafeTimes = text("safe_times", MaxShortText)
		in.MaySayWho = one("say_who", YesNo)
		in.Share = one("share", ShareChoices)
		in.AllowMatch = form.Get("match") == "yes"
		in.CountStats = form.Get("stats") == "yes"
		if in.ContactPref == "phone" && in.Phone == "" {
			p["phone"] = "problem.phone_needed"
		}
		if in.Phone != "" && !plausiblePhone(in.Phone) {
			p["phone"] = "problem.phone_format"
		}
	}

	types, platforms, values := form["id_type"], form["id_platform"], form["id_value"]
	rows := max(len(types), len(platforms), len(values))
	for i := 0; i < rows; i++ {
		at := func(l []string) string {
			if i < len(l) {
				return strings.TrimSpace(l[i])
			}
			return ""
		}
		id := Identifier{Type: at(types), Platform: at(platforms), Value: at(values)}
		if !utf8.ValidString(id.Value) {
			id.Value = strings.ToValidUTF8(id.Value, "\uFFFD")
		}
		if id.Type != "" && !slices.Contains(IDTypeChoices, id.Type) ||
			id.Platform != "" && !slices.Contains(PlatformChoices, id.Platform) {
			p["identifiers"] = "problem.choice"
		}
		if utf8.RuneCountInString(id.Value) > MaxIdentifier {
			p["identifiers"] = "problem.too_long"
		}
		in.Identifiers = append(in.Identifiers, id)
	}
	if len(in.FilledIdentifiers()) > MaxIdentifiers {
		p["identifiers"] = "problem.too_many"
	}
	if form.Get("add_row") != "" && len(in.Identifiers) < MaxIdentifiers {
		in.Identifiers = append(in.Identifiers, Identifier{})
	}
	for len(in.Identifiers) < DefaultIDRows {
		in.Identifiers = append(in.Identifiers, Identifier{})
	}
	return in, p
}

// FilledIdentifiers are the rows with a value.
func (in *Input) FilledIdentifiers() []Identifier {
	var out []Identifier
	for _, id := range in.Identifiers {
		if id.Value != "" {
			out = append(out, id)
		}
	}
	return out
}

// Child reports whether the form says a child is involved.
func (in *Input) Child() bool {
	return in.About == "child" || in.TipChild == "yes" ||
		in.AgeBand == "under13" || in.AgeBand == "13-15" || in.AgeBand == "16-17"
}

// plausiblePhone accepts what people type for a phone number: digits with
// spaces, dashes, dots, brackets and a leading plus; 7 to 15 digits.
func plausiblePhone(s string) bool {
	digits := 0
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '+' && i == 0, r == ' ', r == '-', r == '.', r == '(', r == ')':
		default:
			return false
		}
	}
	return digits >= 7 && digits <= 15
}

// ReadUploads reads the screenshots of a multipart form, checking count,
// size, kind and pixel dimensions (from the header, before anything is
// decoded) before keeping anything. The display copy is made when the report
// is stored; the original bytes are what is sealed for the evidence bundle.
func ReadUploads(files []*multipart.FileHeader, maxSize int64) ([]Upload, string) {
	var out []Upload
	for _, fh := range files {
		if fh.Size == 0 && fh.Filename == "" {
			continue // the empty file input a browser sends
		}
		if len(out) == MaxFiles {
			return nil, "problem.too_many_files"
		}
		if fh.Size > maxSize {
			return nil, "problem.file_too_big"
		}
		f, err := fh.Open()
		if err != nil {
			return nil, "problem.file_unreadable"
		}
		data, err := io.ReadAll(io.LimitReader(f, maxSize+1))
		f.Close()
		if err != nil || int64(len(data)) > maxSize {
			return nil, "problem.file_too_big"
		}
		if len(data) == 0 {
			continue
		}
		// The header alone says whether it is an image and whether it is
		// safe to decode; decoding waits until the report is stored.
		info, err := evidence.Inspect(data)
		switch {
		case errors.Is(err, evidence.ErrTooLarge):
			return nil, "problem.image_too_large"
		case err != nil:
			return nil, "problem.file_type"
		}
		out = append(out, Upload{ContentType: info.ContentType, Data: data})
	}
	return out, ""
}

// attachmentBytes is the sealed form of an upload: its content type, a
// newline, then the bytes exactly as received.
func attachmentBytes(u Upload) []byte {
	var b bytes.Buffer
	b.WriteString(u.ContentType)
	b.WriteByte('\n')
	b.Write(u.Data)
	return b.Bytes()
}
