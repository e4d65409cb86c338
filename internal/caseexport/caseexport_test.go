package caseexport

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/salama-ke/salama/internal/store"
)

// Cells a spreadsheet would evaluate get a leading apostrophe; nothing else
// changes.
func TestCell(t *testing.T) {
	for in, want := range map[string]string{
		"":                        "",
		"plain words":             "plain words",
		"=1+1":                    "'=1+1",
		"+254712345678":           "'+254712345678",
		"-2":                      "'-2",
		"@SUM(A1)":                "'@SUM(A1)",
		"\t=1":                    "'\t=1",
		"\r=1":                    "'\r=1",
		"\n=1":                    "'\n=1",
		"  =1":                    "'  =1",
		"＝1+1":                    "'＝1+1",
		"a=1":                     "a=1",
		"'=already":               "'=already",
		"   ":                     "   ",
		"Mombasa - Likoni":        "Mombasa - Likoni",
		"=HYPERLINK(\"x\",\"y\")": "'=HYPERLINK(\"x\",\"y\")",
	} {
		if got := Cell(in); got != want {
			t.Errorf("Cell(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzCell(f *testing.F) {
	for _, s := range []string{"=1", " +1", "x", "", "\t", "＠a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Cell(s)
		if got != s && got != "'"+s {
			t.Fatalf("Cell(%q) = %q: changed more than a leading apostrophe", s, got)
		}
		t2 := strings.TrimLeft(got, " ")
		if t2 == "" {
			return
		}
		r, _ := utf8.DecodeRuneInString(t2)
		if strings.ContainsRune("=+-@\t\r\n＝＋－＠", r) {
			t.Fatalf("Cell(%q) = %q still starts like a formula", s, got)
		}
	})
}

func TestOptionsCheck(t *testing.T) {
	o, err := Options{Format: FormatCSV, Layout: LayoutSalama, Fields: []string{"narrative", "case_ref", "narrative"}}.Check()
	if err != nil || strings.Join(o.Fields, ",") != "case_ref,narrative" || strings.Join(o.SealedFields(), ",") != "narrative" {
		t.Errorf("fields in order, once: %v %v", o.Fields, err)
	}
	if o, err := (Options{Format: FormatJSON, Layout: LayoutGBVIMS, Fields: []string{"narrative"}}).Check(); err != nil || o.Fields != nil || o.SealedFields() != nil {
		t.Errorf("GBVIMS takes no fields: %v %v", o.Fields, err)
	}
	day := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for name, bad := range map[string]Options{
		"no format":      {Layout: LayoutSalama, Fields: []string{"case_ref"}},
		"unknown format": {Format: "xlsx", Layout: LayoutSalama, Fields: []string{"case_ref"}},
		"no layout":      {Format: FormatCSV, Fields: []string{"case_ref"}},
		"no field":       {Format: FormatCSV, Layout: LayoutSalama},
		"unknown field":  {Format: FormatCSV, Layout: LayoutSalama, Fields: []string{"case_ref", "contact"}},
		"backwards":      {Format: FormatCSV, Layout: LayoutGBVIMS, From: day, To: day.AddDate(0, 0, -1)},
	} {
		if _, err := bad.Check(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// The survivor's contact details are not a field, and never sealed
	// content other than the three named.
	for _, f := range Fields {
		if strings.Contains(f.Key, "contact") && f.Key != "contact_pref" || f.Key == "phone" || f.Key == "notes" || f.Key == "messages" {
			t.Errorf("field %s must not be exportable", f.Key)
		}
		if f.Sealed != (f.Key == FieldCountry || f.Key == FieldNarrative || f.Key == FieldIdentifiers) {
			t.Errorf("field %s sealed=%v", f.Key, f.Sealed)
		}
		if f.Sealed && f.Default {
			t.Errorf("sealed field %s ticked by default", f.Key)
		}
	}
}

func sample() Case {
	at := time.Date(2026, 3, 1, 11, 5, 0, 0, time.UTC)
	return Case{Report: store.Report{CaseRef: "K7Q4-92XM", Kind: "report", Channel: "web", Status: "in_review", CreatedAt: at, UpdatedAt: at,
		Categories: []string{"sextortion", "advertised"}, AgeBand: "13-15", County: "taita-taveta", ChildInvolved: true,
		GBVType: "psychological_abuse", ContextFlags: []string{"online"}, ConsentStats: true},
		Assignee: "amina", Narrative: "=cmd|' /C calc'!A0\nsecond line", Identifiers: []string{"+254712345678", "@x"},
		Referrals: []Referral{{ServiceType: "counselling", State: store.ReferralAccepted}, {ServiceType: "shelter", State: store.ReferralRevoked, Reason: "survivor_declined"},
			{ServiceType: "police_desk", State: store.ReferralDeclined, Reason: "no_capacity"}}}
}

func TestWriters(t *testing.T) {
	o, _ := Options{Format: FormatCSV, Layout: LayoutSalama, Fields: []string{"case_ref", "received_at", "what_happened", "child_involved", "narrative", "identifiers"}}.Check()
	w := NewWriter(o)
	if err := w.Add(sample()); err != nil {
		t.Fatal(err)
	}
	b, _ := w.Bytes()
	recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(b), "\uFEFF"))).ReadAll()
	if err != nil || len(recs) != 2 {
		t.Fatalf("CSV: %v %q", err, b)
	}
	want := []string{"K7Q4-92XM", "2026-03-01T14:05:00+03:00", "sextortion; advertised", "yes", "'=cmd|' /C calc'!A0\nsecond line", "'+254712345678; @x"}
	if strings.Join(recs[0], ",") != strings.Join(o.Fields, ",") || strings.Join(recs[1], "|") != strings.Join(want, "|") {
		t.Errorf("CSV rows %q", recs)
	}
	if !strings.Contains(string(b), "\r\n") {
		t.Error("CSV without CRLF")
	}

	o.Format = FormatJSON
	w = NewWriter(o)
	w.Add(sample())
	w.Add(sample())
	b, _ = w.Bytes()
	var rows []map[string]any
	if err := json.Unmarshal(b, &rows); err != nil || len(rows) != 2 {
		t.Fatalf("JSON: %v %s", err, b)
	}
	if rows[0]["narrative"] != sample().Narrative || rows[0]["child_involved"] != true || len(rows[0]["what_happened"].([]any)) != 2 {
		t.Errorf("JSON row %v", rows[0])
	}
	// No case: an empty list, still valid.
	w = NewWriter(o)
	if b, _ := w.Bytes(); string(b) != "[\n]\n" {
		t.Errorf("empty JSON %q", b)
	}
}

func TestGBVIMSLayout(t *testing.T) {
	o, _ := Options{Format: FormatJSON, Layout: LayoutGBVIMS}.Check()
	w := NewWriter(o)
	w.Add(sample())
	b, _ := w.Bytes()
	var rows []map[string]any
	if err := json.Unmarshal(b, &rows); err != nil {
		t.Fatal(err)
	}
	for col, want := range map[string]any{
		"Incident ID": "K7Q4-92XM", "Caseworker code": "amina", "Date of interview": "2026-03-01",
		"Age at time of incident (age band)": "13-15", "Incident location: area (county)": "Taita-Taveta",
		"Type of incident violence (GBV type)":                 "Psychological / Emotional Abuse",
		"Referred to: Psychosocial services":                   "Referred",
		"Referred to: Safe house / shelter":                    "Referral declined by survivor",
		"Referred to: Police / other security actor":           "Service unavailable",
		"Referred to: Legal assistance services":               "",
		"Consent to share non-identifiable data for reporting": "Yes",
		"Salama: a child involved":                             true,
		"Salama: what happened":                                []any{"Images shared or threatened (sextortion)", "Advertised or sold online"},
	} {
		got, _ := json.Marshal(rows[0][col])
		wb, _ := json.Marshal(want)
		if string(got) != string(wb) {
			t.Errorf("%s: %s, want %s", col, got, wb)
		}
	}
	if strings.Contains(string(b), "cmd") || strings.Contains(string(b), "254712345678") {
		t.Error("the GBVIMS layout carries sealed content")
	}
}

func TestTooLarge(t *testing.T) {
	o, _ := Options{Format: FormatCSV, Layout: LayoutSalama, Fields: []string{"narrative"}}.Check()
	w := NewWriter(o)
	c := Case{Narrative: strings.Repeat("x", 10000)}
	var err error
	for i := 0; i < MaxBytes/10000+2 && err == nil; i++ {
		err = w.Add(c)
	}
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("no limit: %v", err)
	}
	if _, err := w.Bytes(); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Bytes after the limit: %v", err)
	}
}
