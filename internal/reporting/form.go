package reporting

import (
	"bytes"
	"context"
	"errors"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/salama-ke/salama/internal/evidence"
	"github.com/salama-ke/salama/internal/formbody"
	"github.com/salama-ke/salama/internal/identifiers"
	"github.com/salama-ke/salama/internal/report"
)

// The choices a form offers. A value outside these lists is a problem the
// survivor is told about, never silently dropped.
var (
	AboutChoices    = report.Abouts()
	WhatChoices     = report.Categories()
	AgeChoices      = report.AgeAnswers()
	WhenChoices     = report.Whens()
	YesNo           = []string{"yes", "no"}
	TipChildChoices = []string{"yes", "no", "unsure"}
	HelpChoices     = report.NeedAnswers()
	IDTypeChoices   = []string{"phone", "handle", "link"}
	PlatformChoices = []string{"whatsapp", "telegram", "facebook", "instagram", "tiktok", "x", "snapchat", "other"}
	ContactChoices  = []string{"code", "phone"}
	ShareChoices    = []string{"ask", "refer"}
)

// Question is one choice question of the report and tip forms, in catalog
// keys: the web form and the console's intake, which reads the questions
// out to a survivor, ask them alike from this one list.
type Question struct {
	Name, Type   string // the form field; "radio" or "checkbox"
	Legend, Hint string // catalog keys; Hint may be ""
	LabelPrefix  string // catalog key of a choice's label: LabelPrefix + choice
	Choices      []string
}

// Option is one choice of a question as a form shows it.
type Option struct {
	Value, Label string
	Checked      bool
}

// Group is a question as a form shows it: a radio or checkbox group in the
// reader's words.
type Group struct {
	Name, Type, Legend, Hint, Problem string
	Items                             []Option
}

// Group words the question with t (a locale printer's T), with the
// problem found with its answer ("" for none) and the choices in selected
// ticked. The web form and the console's intake both draw from it.
func (q Question) Group(t func(key string, args ...any) string, problem string, selected ...string) Group {
	g := Group{Name: q.Name, Type: q.Type, Legend: t(q.Legend), Problem: problem}
	if q.Hint != "" {
		g.Hint = t(q.Hint)
	}
	for _, v := range q.Choices {
		g.Items = append(g.Items, Option{Value: v, Label: t(q.LabelPrefix + v), Checked: slices.Contains(selected, v)})
	}
	return g
}

// The forms' choice questions.
var (
	QuestionAbout    = Question{"about", "radio", "report.about", "", "report.about.", AboutChoices}
	QuestionWhat     = Question{"what", "checkbox", "report.what", "report.several", "report.what.", WhatChoices}
	QuestionAge      = Question{"age", "radio", "report.age", "report.age_hint", "report.age.", AgeChoices}
	QuestionWhen     = Question{"when", "radio", "report.when", "", "report.when.", WhenChoices}
	QuestionDanger   = Question{"danger", "radio", "report.danger", "report.danger_hint", "choice.", YesNo}
	QuestionHelp     = Question{"help", "checkbox", "report.help", "report.several", "need.", HelpChoices}
	QuestionContact  = Question{"contact", "radio", "report.contact", "", "report.contact.", ContactChoices}
	QuestionSayWho   = Question{"say_who", "radio", "report.say_who", "report.say_who_hint", "choice.", YesNo}
	QuestionShare    = Question{"share", "radio", "report.share", "report.share_hint", "report.share.", ShareChoices}
	QuestionTipChild = Question{"child", "radio", "tip.child", "", "tip.child.", TipChildChoices}
)

// Groups are the report form's choice questions, worded: the web form and
// the console's intake show the same ones.
type Groups struct {
	About, What, Age, When, Danger, Help, Contact, SayWho, Share Group
}

// QuestionGroups words the report form's choice questions with t, each
// with the problem shown beside it (problems: words by field name) and
// in's answers ticked.
func QuestionGroups(t func(key string, args ...any) string, problems map[string]string, in Input) Groups {
	g := func(q Question, selected ...string) Group { return q.Group(t, problems[q.Name], selected...) }
	return Groups{About: g(QuestionAbout, in.About), What: g(QuestionWhat, in.What...), Age: g(QuestionAge, in.AgeBand),
		When: g(QuestionWhen, in.WhenLast), Danger: g(QuestionDanger, in.Danger), Help: g(QuestionHelp, in.Help...),
		Contact: g(QuestionContact, in.ContactPref), SayWho: g(QuestionSayWho, in.MaySayWho), Share: g(QuestionShare, in.Share)}
}

// Limits on what one form may carry. Over a limit, the form comes back with
// a message beside the field and every word kept; nothing is stored.
const (
	MaxNarrative   = 10000 // characters, SPEC §4.1
	MaxNote        = 2000  // a tip's note
	MaxShortText   = 200   // safe times, country
	MaxIdentifier  = 500   // one phone number, handle or link
	MaxIdentifiers = 20
	MaxPhone       = 30
	MaxCounty      = 40
	MaxFiles       = 5
	DefaultIDRows  = 2
)

// MaxLength is the most characters a text field of the form may hold, 0 for
// a field that is not free text.
func MaxLength(kind, field string) int {
	switch field {
	case "narrative":
		return MaxNarrative
	case "note":
		return MaxNote
	case "country", "safe_times":
		return MaxShortText
	case "phone":
		return MaxPhone
	case "identifiers":
		return MaxIdentifier
	}
	return 0
}

// FormLimits are the caps on what one report or tip form may send (see
// formbody), derived from the longest honest answer as a browser sends
// these forms (multipart: enctype="multipart/form-data"): every text field
// at its maximum in 4-byte characters, every choice ticked, every
// identifier row filled, each field with its part's boundary and headers;
// then a quarter more. Anything beyond cannot be an honest answer, and is
// not read: the form comes back with what arrived. The same cap applies to
// a URL-encoded body, which no browser sends for these forms: it holds the
// longest answer in plain letters, percent-encoding and all.
func FormLimits(kind string, maxUpload int64) formbody.Limits {
	var text int64
	add := func(name string, chars, times int) {
		text += int64(times) * (int64(len(name)) + partOverhead + 4*int64(chars))
	}
	longest := func(choices []string) int {
		return len(slices.MaxFunc(choices, func(a, b string) int { return len(a) - len(b) }))
	}
	add("token", 100, 1)
	add("county", MaxCounty, 1)
	add("id_type", longest(IDTypeChoices), MaxIdentifiers)
	add("id_platform", longest(PlatformChoices), MaxIdentifiers)
	add("id_value", MaxIdentifier, MaxIdentifiers)
	add("add_row", 1, 1)
	add("send", 1, 1)
	add("files", 0, MaxFiles) // the parts' headers; their content is counted as files
	if kind == KindTip {
		add("child", longest(TipChildChoices), 1)
		add("note", MaxNote, 1)
	} else {
		add("about", longest(AboutChoices), 1)
		add("what", longest(WhatChoices), len(WhatChoices))
		add("age", longest(AgeChoices), 1)
		add("country", MaxShortText, 1)
		add("when", longest(WhenChoices), 1)
		add("danger", 3, 1)
		add("help", longest(HelpChoices), len(HelpChoices))
		add("narrative", MaxNarrative, 1)
		add("contact", longest(ContactChoices), 1)
		add("phone", MaxPhone, 1)
		add("safe_times", MaxShortText, 1)
		add("say_who", 3, 1)
		add("share", longest(ShareChoices), 1)
		add("match", 3, 1)
		add("stats", 3, 1)
	}
	// Fields: an honest form sends about a hundred; thousands are allowed
	// (words arrive in odd shapes from odd clients), few enough that their
	// bookkeeping stays well under the text cap.
	return formbody.Limits{Text: text * 5 / 4, Fields: maxFields, FileField: "files", File: maxUpload, Files: MaxFiles}
}

// maxFields bounds how many fields one form may send.
const maxFields = 4096

// partOverhead is what a multipart part adds to a field: its boundary line,
// its Content-Disposition header and line ends, as browsers write them.
const partOverhead = 160

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

	Share string
	// SharePolice and ShareLegal are the survivor's own ticks for the
	// police gender desk and for legal aid, asked apart from Share, which
	// never covers them. Both start unticked.
	SharePolice, ShareLegal bool
	AllowMatch              bool
	CountStats              bool

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

// Upload is a file as received, with the content type evidence.Check
// found in its bytes.
type Upload struct {
	ContentType string
	Data        []byte
	// conversation is a chat export's display copy as prepare seals it
	// (attachmentBytes), made when Uploads read it; nil for other kinds,
	// and for files held between rounds of the form (prepare reads those
	// again).
	conversation []byte
}

// Problems maps a form field to the catalog key of what is wrong with it.
type Problems map[string]string

// Form kinds.
const (
	KindReport = "report"
	KindTip    = "tip"
)

// NewInput is a blank form with the survivor-protective defaults: contact
// only through the code, ask before any sharing, and not counted in the
// statistics until the survivor says so. Whatever is stored from it without
// asking (a USSD report: its menus have no statistics question) is not
// counted. A tip is matched and counted, as Decode makes it.
func NewInput(kind string) Input {
	in := Input{Kind: kind, ContactPref: "code", Share: "ask"}
	if kind == KindTip {
		in.AllowMatch, in.CountStats = true, true
	}
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

	in.County = text("county", MaxCounty)
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
		in.SharePolice = form.Get("share_police") == "yes"
		in.ShareLegal = form.Get("share_legal") == "yes"
		in.AllowMatch = form.Get("match") == "yes"
		in.CountStats = form.Get("stats") == "yes"
		if in.ContactPref == "phone" && in.Phone == "" {
			p["phone"] = "problem.phone_needed"
		}
		if in.Phone != "" && !plausiblePhone(in.Phone) {
			p["phone"] = "problem.phone_format"
		}
	}

	// Identifier rows, then the lines of "more" (where rows beyond
	// MaxIdentifiers are shown, see MoreIdentifiers). A row with nothing
	// in it is dropped: the form draws empty rows again, and thousands of
	// posted empty rows must not become thousands of drawn ones.
	types, platforms, values := form["id_type"], form["id_platform"], form["id_value"]
	rows := max(len(types), len(platforms), len(values))
	more := strings.Split(strings.ReplaceAll(form.Get("id_more"), "\r\n", "\n"), "\n")
	for i := 0; i < rows+len(more); i++ {
		at := func(l []string) string {
			if i < len(l) {
				return strings.TrimSpace(l[i])
			}
			return ""
		}
		id := Identifier{Type: at(types), Platform: at(platforms), Value: at(values)}
		if i >= rows {
			id = Identifier{Value: strings.TrimSpace(more[i-rows])}
		}
		if id.Type == "" && id.Platform == "" && id.Value == "" {
			continue
		}
		if !utf8.ValidString(id.Value) {
			id.Value = strings.ToValidUTF8(id.Value, "\uFFFD")
		}
		if id.Type != "" && !slices.Contains(IDTypeChoices, id.Type) ||
			id.Platform != "" && !slices.Contains(PlatformChoices, id.Platform) {
			p["identifiers"] = "problem.choice"
		}
		if utf8.RuneCountInString(id.Value) > MaxIdentifier {
			p["identifiers"] = "problem.id_too_long"
		}
		in.Identifiers = append(in.Identifiers, id)
	}
	if len(in.FilledIdentifiers()) > MaxIdentifiers {
		p["identifiers"] = "problem.too_many_ids"
	}
	if form.Get("add_row") != "" && len(in.Identifiers) < MaxIdentifiers {
		in.Identifiers = append(in.Identifiers, Identifier{})
	}
	for len(in.Identifiers) < DefaultIDRows {
		in.Identifiers = append(in.Identifiers, Identifier{})
	}
	return in, p
}

// IdentifierRows are the identifiers the form draws as rows: at most
// MaxIdentifiers. MoreIdentifiers are the values of the rest, one a line,
// for the box the form shows under the rows when there are more: every
// word is shown again, without drawing a row for each.
func (in *Input) IdentifierRows() []Identifier {
	return in.Identifiers[:min(len(in.Identifiers), MaxIdentifiers)]
}

// MoreIdentifiers: see IdentifierRows.
func (in *Input) MoreIdentifiers() string {
	if len(in.Identifiers) <= MaxIdentifiers {
		return ""
	}
	var lines []string
	for _, id := range in.Identifiers[MaxIdentifiers:] {
		if id.Value != "" {
			lines = append(lines, id.Value)
		}
	}
	return strings.Join(lines, "\n")
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
	return in.About == report.AboutChild || in.TipChild == "yes" || report.IsChild(in.AgeBand)
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

// Uploads checks the files of a form as formbody read them, by their
// bytes, never their names (evidence.Check): a screenshot's kind and pixel
// dimensions from its header, before anything is decoded (the display copy
// is made when the report is stored); a PDF's or a voice note's structure,
// within its bounds. A chat export is read whole, in one of the decoder's
// slots (evidence.Decoder.Check), and its display copy kept from that
// reading for prepare. The original bytes are what is sealed. Its problem
// is the form's "files" problem; count and size were checked as the body
// was read. The error is ErrBusy when no slot came in time to read a chat
// export (or ctx's error): nothing is wrong with the files, the form comes
// back asking her to send again.
func (s *Service) Uploads(ctx context.Context, files [][]byte) ([]Upload, string, error) {
	var out []Upload
	for _, data := range files {
		ct, conversation, err := s.Images.Check(ctx, data)
		switch {
		case ctx.Err() != nil:
			return nil, "", ctx.Err()
		case errors.Is(err, evidence.ErrBusy):
			return nil, "", ErrBusy
		case errors.Is(err, evidence.ErrTooLarge):
			return nil, "problem.image_too_large", nil
		case errors.Is(err, evidence.ErrVideo):
			return nil, "problem.file_video", nil
		case errors.Is(err, evidence.ErrBomb):
			return nil, "problem.file_zip_too_big", nil
		case errors.Is(err, evidence.ErrNotChat):
			return nil, "problem.file_not_chat", nil
		case errors.Is(err, evidence.ErrBrokenFile):
			return nil, "problem.file_damaged", nil
		case err != nil:
			return nil, "problem.file_type", nil
		}
		u := Upload{ContentType: ct, Data: data}
		if conversation != nil {
			// In the form prepare seals, so that the report holds one
			// copy of it, not two.
			u.conversation = attachmentBytes(Upload{ContentType: evidence.Conversation, Data: conversation})
		}
		out = append(out, u)
	}
	return out, "", nil
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
