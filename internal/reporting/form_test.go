package reporting

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/salama-ke/salama/internal/formbody"
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
		{name: "identifier too long", kind: KindTip, form: url.Values{"id_value": {strings.Repeat("ü", MaxIdentifier+1)}}, problems: []string{"identifiers"}},
		{name: "thousands of empty rows", kind: KindReport,
			form: url.Values{"id_type": make([]string, 5000), "id_value": append(make([]string, 4999), "0712 345 678")},
			check: func(t *testing.T, in Input) {
				if len(in.Identifiers) != DefaultIDRows || in.Identifiers[0].Value != "0712 345 678" {
					t.Errorf("%d rows: %+v", len(in.Identifiers), in.Identifiers[:min(3, len(in.Identifiers))])
				}
			}},
		{name: "more identifiers than rows", kind: KindReport, form: url.Values{"id_value": numbered(30)}, problems: []string{"identifiers"},
			check: func(t *testing.T, in Input) {
				rows, more := in.IdentifierRows(), in.MoreIdentifiers()
				if len(rows) != MaxIdentifiers || rows[19].Value != "n19" || more != strings.Join(numbered(30)[20:], "\n") {
					t.Errorf("%d rows, more %q", len(rows), more)
				}
			}},
		{name: "the box of more becomes rows", kind: KindReport, form: url.Values{"id_value": numbered(15), "id_more": {"n15\r\n\r\n  n16 \nn17"}},
			check: func(t *testing.T, in Input) {
				got := in.FilledIdentifiers()
				if len(got) != 18 || got[16].Value != "n16" || in.MoreIdentifiers() != "" {
					t.Errorf("%d identifiers: %+v", len(got), got)
				}
			}},
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

func numbered(n int) []string {
	var out []string
	for i := range n {
		out = append(out, "n"+strconv.Itoa(i))
	}
	return out
}

// The caps fit the longest honest answer as a browser sends it (multipart,
// every field at its limit in 4-byte characters), and the longest answer
// in plain letters URL-encoded; and they stay far below what was held
// before (26 MB).
func TestFormLimitsFitTheLongestAnswer(t *testing.T) {
	for _, kind := range []string{KindReport, KindTip} {
		lim := FormLimits(kind, 5<<20)
		longest := func(char string) url.Values {
			long := func(n int) string { return strings.Repeat(char, n) }
			form := url.Values{"token": {strings.Repeat("t", 100)}, "county": {"elgeyo-marakwet"}, "send": {"1"}}
			for range MaxIdentifiers {
				form.Add("id_type", "handle")
				form.Add("id_platform", "instagram")
				form.Add("id_value", long(MaxIdentifier))
			}
			if kind == KindTip {
				form.Set("child", "unsure")
				form.Set("note", long(MaxNote))
				return form
			}
			form["what"], form["help"] = WhatChoices, HelpChoices
			for k, v := range map[string]string{"about": "adult", "age": "notsay", "country": long(MaxShortText), "when": "longer",
				"danger": "yes", "narrative": long(MaxNarrative), "contact": "phone", "phone": long(MaxPhone),
				"safe_times": long(MaxShortText), "say_who": "yes", "share": "refer", "match": "yes", "stats": "yes"} {
				form.Set(k, v)
			}
			return form
		}
		read := func(ct string, body []byte) *formbody.Form {
			f, err := formbody.Parse(context.Background(), ct, bytes.NewReader(body), int64(len(body)), formbody.Options{Limits: lim})
			if err != nil || f.Cut {
				t.Fatalf("%s: the longest honest answer (%d bytes, %s) does not fit the cap (%d): %v", kind, len(body), ct, lim.Text, err)
			}
			return f
		}
		form := longest("😀")
		var mb bytes.Buffer
		mw := multipart.NewWriter(&mb)
		for k, vs := range form {
			for _, v := range vs {
				mw.WriteField(k, v)
			}
		}
		for range MaxFiles {
			fw, _ := mw.CreateFormFile("files", "Screenshot_20250101-120000_WhatsApp.jpg")
			fw.Write([]byte("\xff\xd8\xff"))
		}
		mw.Close()
		multi := mb.Len()
		f := read(mw.FormDataContentType(), mb.Bytes())
		in, _ := Decode(f.Values, kind)
		if len(f.Files) != MaxFiles || len(in.FilledIdentifiers()) != MaxIdentifiers || kind == KindReport && in.Narrative != form.Get("narrative") {
			t.Errorf("%s: read back changed", kind)
		}
		body := []byte(longest("a").Encode())
		read("application/x-www-form-urlencoded", body)
		if lim.Text > 256<<10 {
			t.Errorf("%s: text cap %d bytes", kind, lim.Text)
		}
		t.Logf("%s: text cap %d bytes; longest honest answer %d bytes as multipart, %d URL-encoded in plain letters", kind, lim.Text, multi, len(body))
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

// FuzzForm: any body, URL-encoded or multipart, read within the report
// form's caps and decoded, keeps every word that arrived (SPEC §3.9): each
// text field and identifier comes back in the input, as typed; and the form
// never draws more than MaxIdentifiers rows.
func FuzzForm(f *testing.F) {
	f.Add([]byte("narrative=Alinitumia+picha&id_value=0712345678&id_value=%40kibanda&id_more=a%0Ab&country=Uganda"), false, true)
	f.Add([]byte("note=%FF%FE&id_type=phone&id_type=link&id_value=x"), false, false)
	f.Add([]byte("--b\r\nContent-Disposition: form-data; name=\"narrative\"\r\n\r\nmaneno\r\n--b\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.png\"\r\n\r\n\x89PNG\r\n--b--\r\n"), true, true)
	f.Fuzz(func(t *testing.T, body []byte, multi, report bool) {
		kind, ct := KindTip, "application/x-www-form-urlencoded"
		if report {
			kind = KindReport
		}
		if multi {
			ct = "multipart/form-data; boundary=b"
		}
		form, err := formbody.Parse(context.Background(), ct, bytes.NewReader(body), int64(len(body)), formbody.Options{Limits: FormLimits(kind, 1<<10)})
		if err != nil {
			t.Fatal(err)
		}
		in, problems := Decode(form.Values, kind)
		for field, key := range problems {
			if field == "" || !strings.HasPrefix(key, "problem.") {
				t.Fatalf("problem %q → %q", field, key)
			}
		}
		clean := func(s string) string {
			return strings.ToValidUTF8(strings.TrimSpace(strings.ReplaceAll(s, "\r\n", "\n")), "\uFFFD")
		}
		fields := map[string]string{"narrative": in.Narrative, "country": in.Country, "phone": in.Phone, "safe_times": in.SafeTimes}
		if kind == KindTip {
			fields = map[string]string{"note": in.Narrative}
		}
		for name, got := range fields {
			if want := clean(form.Values.Get(name)); got != want {
				t.Fatalf("%s: kept %q of %q", name, got, want)
			}
		}
		kept := map[string]int{}
		for _, id := range in.Identifiers {
			kept[id.Value]++
		}
		for _, v := range append(form.Values["id_value"], strings.Split(strings.ReplaceAll(form.Values.Get("id_more"), "\r\n", "\n"), "\n")...) {
			if v := strings.ToValidUTF8(strings.TrimSpace(v), "\uFFFD"); v != "" && kept[v] == 0 {
				t.Fatalf("identifier %q lost", v)
			}
		}
		if len(in.IdentifierRows()) > MaxIdentifiers {
			t.Fatalf("%d rows drawn", len(in.IdentifierRows()))
		}
	})
}

// A blank report is not counted until the survivor ticks the box; a tip is
// matched and counted whether it came from the form or not.
func TestNewInputAsksBeforeCounting(t *testing.T) {
	if in := NewInput(KindReport); in.CountStats || in.AllowMatch || in.Share != "ask" || in.ContactPref != "code" {
		t.Errorf("a blank report: %+v", in)
	}
	tip := NewInput(KindTip)
	decoded, _ := Decode(url.Values{}, KindTip)
	if !tip.CountStats || !tip.AllowMatch || tip.CountStats != decoded.CountStats || tip.AllowMatch != decoded.AllowMatch {
		t.Errorf("a blank tip %+v, a decoded one %+v", tip, decoded)
	}
}
