package locale

import (
	"regexp"
	"testing"
	"testing/fstest"
)

func TestEveryKeyInBothLanguages(t *testing.T) {
	c := MustLoad()
	en, sw := c.Keys(English), c.Keys(Kiswahili)
	if len(en) == 0 {
		t.Fatal("no English messages loaded")
	}
	for _, k := range en {
		if !c.Has(Kiswahili, k) {
			t.Errorf("key %q has no Kiswahili message", k)
		}
	}
	for _, k := range sw {
		if !c.Has(English, k) {
			t.Errorf("key %q has no English message", k)
		}
	}
}

// Placeholders must match across languages, or a translated message would
// drop or invent a value.
func TestPlaceholdersMatch(t *testing.T) {
	c := MustLoad()
	re := regexp.MustCompile(`\{\d\}`)
	for _, k := range c.Keys(English) {
		e := re.FindAllString(c.msgs[English][k], -1)
		s := re.FindAllString(c.msgs[Kiswahili][k], -1)
		if len(e) != len(s) {
			t.Errorf("key %q: placeholders en=%v sw=%v", k, e, s)
		}
	}
}

func TestNoEmptyMessages(t *testing.T) {
	c := MustLoad()
	for _, l := range Langs {
		for k, v := range c.msgs[l] {
			if v == "" {
				t.Errorf("%s: key %q is empty", l, k)
			}
		}
	}
}

func TestNegotiate(t *testing.T) {
	for _, tc := range []struct {
		header string
		want   Lang
	}{
		{"", English},
		{"sw", Kiswahili},
		{"sw-KE,sw;q=0.9,en;q=0.8", Kiswahili},
		{"en-KE,en;q=0.9,sw;q=0.8", English},
		{"fr-FR,sw;q=0.5", Kiswahili},
		{"fr-FR,de", English},
		{"en;q=0.2, sw;q=0.7", Kiswahili},
		{"sw;q=0", English},
		{"sw;q=abc,en", English},
		{";;,,", English},
	} {
		if got := Negotiate(tc.header); got != tc.want {
			t.Errorf("Negotiate(%q) = %s, want %s", tc.header, got, tc.want)
		}
	}
}

func TestPrinter(t *testing.T) {
	c, err := load(fstest.MapFS{
		"messages/a.en.json": {Data: []byte(`{"hi":"Hello {0}, you have {1}"}`)},
		"messages/a.sw.json": {Data: []byte(`{"hi":"Habari {0}, una {1}"}`)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Printer(Kiswahili).T("hi", "Amina", 2); got != "Habari Amina, una 2" {
		t.Errorf("got %q", got)
	}
	if got := c.Printer(English).T("missing"); got != "missing" {
		t.Errorf("missing key rendered %q", got)
	}
}

func TestLoadRejectsDuplicatesAndBadNames(t *testing.T) {
	for name, fsys := range map[string]fstest.MapFS{
		"duplicate": {
			"messages/a.en.json": {Data: []byte(`{"x":"1"}`)},
			"messages/b.en.json": {Data: []byte(`{"x":"2"}`)},
		},
		"unknown language": {"messages/a.fr.json": {Data: []byte(`{}`)}},
		"bad json":         {"messages/a.en.json": {Data: []byte(`{`)}},
	} {
		if _, err := load(fsys); err == nil {
			t.Errorf("%s: loaded without error", name)
		}
	}
}
