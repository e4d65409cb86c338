// Package caseexport owns the layouts of an organisation's case export
// (issue 15): which fields a row may carry, the incident-report layout
// whose columns follow GBVIMS's incident recording form, and the CSV and
// JSON writers, with spreadsheet formula injection neutralised in CSV.
//
// It only shapes rows it is given: it opens nothing, reads no database and
// decides nothing about who may export what (casework.ExportCases does).
// It must never offer a field that would let an export reach a survivor
// (contact details), or carry a case's private notes or messages.
package caseexport

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/salama-ke/salama/internal/store"
)

// Formats and layouts.
const (
	FormatCSV  = "csv"
	FormatJSON = "json"

	// LayoutSalama: one column per chosen field, named by its key, codes
	// as stored (for tools and for the organisation's own analysis).
	LayoutSalama = "salama"
	// LayoutGBVIMS: the columns of GBVIMS's incident recording form that
	// Salama has, in the form's order and vocabulary, then Salama's own
	// columns that have no GBVIMS counterpart (docs/gbvims-export.md).
	LayoutGBVIMS = "gbvims"
)

// Formats and Layouts list the choices in the order the form offers them.
var (
	Formats = []string{FormatCSV, FormatJSON}
	Layouts = []string{LayoutGBVIMS, LayoutSalama}
)

// Field is a column of the Salama layout.
type Field struct {
	Key, Label string
	// Sealed fields are opened with the organisation's key for the export;
	// each report whose sealed content goes out is recorded in its own
	// audit trail.
	Sealed bool
	// Default fields are ticked when the form opens.
	Default bool
}

// Field keys that are sealed.
const (
	FieldCountry     = "country"
	FieldNarrative   = "narrative"
	FieldIdentifiers = "identifiers"
)

// Fields are the Salama layout's columns, in order. The survivor's contact
// details, private notes, messages and files are not among them, and never
// will be: an export is a spreadsheet on someone's laptop.
var Fields = []Field{
	{"case_ref", "Case reference", false, true},
	{"kind", "Kind (report, tip, or a referral received)", false, true},
	{"channel", "How it arrived (web, USSD, or taken by a caseworker)", false, true},
	{"received_at", "Received (date and time, EAT)", false, true},
	{"status", "Status", false, true},
	{"closed_reason", "Why it was closed", false, true},
	{"about", "About whom", false, true},
	{"what_happened", "What happened", false, true},
	{"age_band", "Age band", false, true},
	{"county", "County", false, true},
	{"when_last", "When it last happened", false, true},
	{"danger_now", "In danger now", false, true},
	{"help_wanted", "Help wanted", false, true},
	{"child_involved", "A child involved", false, true},
	{"gbv_type", "GBVIMS incident type (the caseworker's classification)", false, true},
	{"context_flags", "Context (online, commercial sexual exploitation, trafficking, child sexual abuse)", false, true},
	{"consent_refer", "May be referred to services that match their needs", false, true},
	{"consent_match", "Agreed to identifier matching", false, true},
	{"consent_stats", "Agreed to be counted in anonymous statistics", false, true},
	{"contact_pref", "How they want to be reached (only the choice, never the number)", false, false},
	{"assigned_to", "Assigned to (username)", false, true},
	{"first_opened_at", "First opened by a caseworker", false, true},
	{"first_response_at", "First reply to the survivor", false, true},
	{"updated_at", "Last changed", false, true},
	{"referred_from", "Referred by (for a referral received)", false, true},
	{FieldCountry, "Country, when outside Kenya (sealed)", true, false},
	{FieldNarrative, "Their own words (sealed)", true, false},
	{FieldIdentifiers, "Numbers, usernames and links of who did it, normalised (sealed)", true, false},
}

// FieldByKey returns a field of the Salama layout.
func FieldByKey(key string) (Field, bool) {
	i := slices.IndexFunc(Fields, func(f Field) bool { return f.Key == key })
	if i < 0 {
		return Field{}, false
	}
	return Fields[i], true
}

// DefaultFields are the keys ticked when the form opens.
func DefaultFields() []string {
	var out []string
	for _, f := range Fields {
		if f.Default {
			out = append(out, f.Key)
		}
	}
	return out
}

// ErrInvalid means the options name an unknown format, layout or field, or
// no field at all.
var ErrInvalid = errors.New("caseexport: invalid options")

// Options are what an export asks for.
type Options struct {
	Format, Layout string
	// Fields are the Salama layout's columns (ignored for GBVIMS, whose
	// columns are fixed and hold nothing sealed).
	Fields []string
	// From and To bound the date a report was received, inclusive, in
	// East Africa Time; zero for no bound.
	From, To time.Time
}

// Check returns the options in canonical form (fields in layout order,
// each once) or ErrInvalid.
func (o Options) Check() (Options, error) {
	if !slices.Contains(Formats, o.Format) {
		return o, fmt.Errorf("%w: format", ErrInvalid)
	}
	if !slices.Contains(Layouts, o.Layout) {
		return o, fmt.Errorf("%w: layout", ErrInvalid)
	}
	if !o.From.IsZero() && !o.To.IsZero() && o.To.Before(o.From) {
		return o, fmt.Errorf("%w: the period ends before it starts", ErrInvalid)
	}
	if o.Layout == LayoutGBVIMS {
		o.Fields = nil
		return o, nil
	}
	var fields []string
	for _, f := range Fields {
		if slices.Contains(o.Fields, f.Key) {
			fields = append(fields, f.Key)
		}
	}
	for _, k := range o.Fields {
		if _, ok := FieldByKey(k); !ok {
			return o, fmt.Errorf("%w: unknown field", ErrInvalid)
		}
	}
	if len(fields) == 0 {
		return o, fmt.Errorf("%w: choose at least one field", ErrInvalid)
	}
	o.Fields = fields
	return o, nil
}

// SealedFields are the sealed fields the options ask for.
func (o Options) SealedFields() []string {
	var out []string
	for _, k := range o.Fields {
		if f, _ := FieldByKey(k); f.Sealed {
			out = append(out, k)
		}
	}
	return out
}

// Case is one row: a report's clear fields and, when asked for and held,
// its sealed ones, opened.
type Case struct {
	Report store.Report
	// Assignee is the username the report is assigned to, "" if nobody.
	Assignee string
	// ReferredFrom names the organisation a referral received came from.
	ReferredFrom string
	Country      string
	Narrative    string
	Identifiers  []string // normalised where possible, as typed otherwise
	// Referrals are this report's referrals to services, for GBVIMS's
	// "referred to" columns.
	Referrals []Referral
}

// Referral is what the GBVIMS layout needs of one referral: the kind of
// service (directory.ServiceType) and its state and reason.
type Referral struct {
	ServiceType, State, Reason string
}

// MaxBytes bounds one export: it is built whole before it is recorded and
// sent, so that the audit log holds its exact size and digest. A larger one
// is refused with ErrTooLarge; a shorter period fits.
const MaxBytes = 64 << 20

// ErrTooLarge means the export would exceed MaxBytes.
var ErrTooLarge = errors.New("caseexport: the export is too large; choose a shorter period or fewer fields")

// Writer builds an export in memory, one case at a time.
type Writer struct {
	opts  Options
	cols  []column
	buf   bytes.Buffer
	csv   *csv.Writer
	rows  int
	large bool
}

// NewWriter starts an export with checked options (Options.Check).
func NewWriter(o Options) *Writer {
	w := &Writer{opts: o}
	if o.Layout == LayoutGBVIMS {
		w.cols = gbvimsColumns
	} else {
		for _, k := range o.Fields {
			w.cols = append(w.cols, salamaColumns[k])
		}
	}
	switch o.Format {
	case FormatCSV:
		// A byte-order mark makes Excel read the file as UTF-8, and CRLF
		// is what spreadsheets write.
		w.buf.WriteString("\uFEFF")
		w.csv = csv.NewWriter(&w.buf)
		w.csv.UseCRLF = true
		header := make([]string, len(w.cols))
		for i, c := range w.cols {
			header[i] = c.name
		}
		w.csv.Write(header)
	case FormatJSON:
		w.buf.WriteString("[")
	}
	return w
}

// Add writes one case.
func (w *Writer) Add(c Case) error {
	if w.large {
		return ErrTooLarge
	}
	switch w.opts.Format {
	case FormatCSV:
		rec := make([]string, len(w.cols))
		for i, col := range w.cols {
			rec[i] = Cell(col.text(c))
		}
		if err := w.csv.Write(rec); err != nil {
			return err
		}
		w.csv.Flush()
	case FormatJSON:
		obj := make([][]byte, 0, len(w.cols))
		for _, col := range w.cols {
			k, _ := json.Marshal(col.name)
			v, err := json.Marshal(col.value(c))
			if err != nil {
				return err
			}
			obj = append(obj, append(append(k, ':'), v...))
		}
		if w.rows > 0 {
			w.buf.WriteByte(',')
		}
		w.buf.WriteString("\n{")
		w.buf.Write(bytes.Join(obj, []byte(",")))
		w.buf.WriteByte('}')
	}
	w.rows++
	if w.buf.Len() > MaxBytes {
		w.large = true
		w.buf.Reset()
		return ErrTooLarge
	}
	return nil
}

// Rows is how many cases were written.
func (w *Writer) Rows() int { return w.rows }

// Bytes finishes the export and returns it.
func (w *Writer) Bytes() ([]byte, error) {
	if w.large {
		return nil, ErrTooLarge
	}
	switch w.opts.Format {
	case FormatCSV:
		w.csv.Flush()
		if err := w.csv.Error(); err != nil {
			return nil, err
		}
	case FormatJSON:
		w.buf.WriteString("\n]\n")
	}
	return w.buf.Bytes(), nil
}

// ContentType is the export's media type.
func (o Options) ContentType() string {
	if o.Format == FormatJSON {
		return "application/json"
	}
	return "text/csv; charset=utf-8"
}

// Cell neutralises a CSV cell that a spreadsheet would take for a formula:
// one starting with =, +, -, @, a tab, a carriage return or a line feed (or
// their full-width forms, which some spreadsheets fold), even after leading
// spaces, gets a leading apostrophe, which spreadsheets show as text and do
// not evaluate. A survivor's words, a caseworker's input or an identifier
// (a phone number starts with +) could otherwise run on the data officer's
// computer when the file is opened (CSV injection).
func Cell(s string) string {
	t := strings.TrimLeft(s, " ")
	if t == "" {
		return s
	}
	r, _ := utf8.DecodeRuneInString(t)
	switch r {
	case '=', '+', '-', '@', '\t', '\r', '\n', '＝', '＋', '－', '＠':
		return "'" + s
	}
	return s
}
