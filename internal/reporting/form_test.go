package reporting

import (
	"net/url"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestDecode(t *testing.T) {
	for _, tc := range []struct {
		name     string
		form     url.Values
		kind     string
		problems []string
		check    func(t *testing.T, in Input)
	}{
		{name: "blank is valid", form: url.Values{}, kind: KindReport, check: func(t *testing.T, in Input) {
			if in.Share != "" || in.CountStats || len(in.Identifiers) != DefaultIDRows {
				t.Errorf("blank: %+v", in)
			}
		}},
		{name: "unknown choices", kind: KindReport,
			form:     url.Values{"about": {"neighbour"}, "what": {"sextortion", "hacking"}, "age": {"40"}, "county": {"atlantis"}, "when": {"x"}, "danger": {"maybe"}, "help": {"money"}, "share": {"all"}, "contact": {"pigeon"}},
			problems: []string{"about", "what", "age", "county", "when", "danger", "help", "share", "contact"},
			check: func(t *testing.T, in Input) {
				if in.About != "neighbour" || !slices.Contains(in.What, "hacking") || in.County != "atlantis" {
					t.Errorf("typed values not kept: %+v", in)
				}
			}},
		{name: "too long", kind: KindReport,
			form:     url.Values{"narrative": {strings.Repeat("ü", MaxNarrative+1)}, "safe_times": {strings.Repeat("x", MaxShortText+1)}},
			problems: []string{"narrative", "safe_times"}},
		{name: "exactly the limit", kind: KindReport, form: url.Values{"narrative": {strings.Repeat("ü", MaxNarrative)}}},
		{name: "phone needed", kind: KindReport, form: url.Values{"contact": {"phone"}}, problems: []string{"phone"}},
		{name: "phone formats", kind: KindReport, form: url.Values{"contact": {"phone"}, "phone": {"+254 (0)712-345.678"}}},
		{name: "phone garbage", kind: KindReport, form: url.Values{"phone": {"call me maybe"}}, problems: []string{"phone"}},
		{name: "identifier rows", kind: KindReport,
			form: url.Values{"id_type": {"phone", "", "link"}, "id_platform": {"whatsapp", "", "other"}, "id_value": {" 0712 345 678 ", "", "https://t.me/+abc"}},
			check: func(t *testing.T, in Input) {
				got := in.FilledIdentifiers()
				if len(got) != 2 || got[0].Value != "0712 345 678" || got[1].Type != "link" {
					t.Errorf("identifiers: %+v", got)
				}
			}},
		{name: "bad platform", kind: KindReport, form: url.Values{"id_platform": {"myspace"}, "id_value": {"x"}}, problems: []string{"identifiers"}},
		{name: "add row", kind: KindReport, form: url.Values{"add_row": {"1"}, "id_value": {"a", "b"}}, check: func(t *testing.T, in Input) {
			if len(in.Identifiers) != 3 {
				t.Errorf("%d rows after add", len(in.Identifiers))
			}
		}},
		{name: "tip", kind: KindTip, form: url.Values{"child": {"yes"}, "note": {"seen on telegram"}, "county": {"kisumu"}}, check: func(t *testing.T, in Input) {
			if !in.Child() || in.Narrative != "seen on telegram" || !in.AllowMatch {
				t.Errorf("tip: %+v", in)
			}
		}},
		{name: "invalid utf8 kept readable", kind: KindReport, form: url.Values{"narrative": {"abc\xff\xfedef"}}, check: func(t *testing.T, in Input) {
			if !utf8.ValidString(in.Narrative) || !strings.HasPrefix(in.Narrative, "abc") {
				t.Errorf("narrative %q", in.Narrative)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in, p := Decode(tc.form, tc.kind)
			var got []string
			for k := range p {
				got = append(got, k)
			}
			slices.Sort(got)
			want := slices.Clone(tc.problems)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("problems %v, want %v", got, want)
			}
			if tc.check != nil {
				tc.check(t, in)
			}
		})
	}
}

// FuzzDecode: any form decodes without panicking, every problem names a
// field and a catalog key, and every kept value is valid UTF-8.
func FuzzDecode(f *testing.F) {
	f.Add("about=me&what=sextortion&narrative=hello&id_value=0712345678&id_type=phone", false)
	f.Add("what=x&what=&help=medical&help=medical&contact=phone&phone=%2B254", false)
	f.Add("child=yes&note=%FF%FE&county=nairobi&id_value=a&id_value=b&add_row=1", true)
	f.Fuzz(func(t *testing.T, raw string, tip bool) {
		form, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		kind := KindReport
		if tip {
			kind = KindTip
		}
		in, problems := Decode(form, kind)
		for field, key := range problems {
			if field == "" || !strings.HasPrefix(key, "problem.") {
				t.Fatalf("problem %q → %q", field, key)
			}
		}
		for _, s := range append([]string{in.Narrative, in.Country, in.Phone, in.SafeTimes}, identValues(in)...) {
			if !utf8.ValidString(s) {
				t.Fatalf("invalid UTF-8 kept: %q", s)
			}
		}
		if len(in.Identifiers) < DefaultIDRows {
			t.Fatalf("%d identifier rows", len(in.Identifiers))
		}
	})
}

func identValues(in Input) []string {
	var out []string
	for _, id := range in.Identifiers {
		out = append(out, id.Value)
	}
	return out
}
