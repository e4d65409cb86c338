package directory

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
)

// demoFile is the demo network as organisations and services, plus an
// organisation without services and a service whose words need quoting.
func demoFile() ([]Org, []Service) {
	var orgs []Org
	var svcs []Service
	for _, o := range DemoNetwork() {
		orgs = append(orgs, Org{ID: o.Slug, Name: o.Name})
		svcs = append(svcs, o.Services...)
	}
	orgs = append(orgs, Org{ID: "org_0a1b2c3d4e5f6a7b", Name: "Empty: an org # without services"})
	svcs = append(svcs, Service{
		ID: "quoting.test_1", OrgID: "example-intake", Name: "  'Quoted' \"name\": # not a comment ",
		Description: Text{EN: "Two lines.\nThe second: with a colon, - a dash and # a hash.\n", SW: "true"},
		Type:        TypeLegalAid, Counties: []string{"murang-a", "tana-river"}, Ages: AgesAdults,
		Genders: []Gender{GenderDiverse}, Languages: []string{"so", "ar"},
		Hours: Text{SW: "24/7"},
		Channels: Channels{Phone: "999", SMS: "0700000001", WhatsApp: "+254 (0) 700-000-001", Website: "https://example.org/a?b=c",
			WalkIn: Text{EN: "null", SW: "~"}},
		Cost: Text{EN: "[free]", SW: "{bure}"},
	})
	return orgs, svcs
}

func servicesOf(f *File) []Service {
	var out []Service
	for _, o := range f.Orgs {
		out = append(out, o.Services...)
	}
	return out
}

func orgsOf(f *File) []Org {
	var out []Org
	for _, o := range f.Orgs {
		out = append(out, o.Org)
	}
	return out
}

func TestFileRoundTrip(t *testing.T) {
	orgs, svcs := demoFile()
	for _, s := range svcs {
		if err := s.Validate(); err != nil {
			t.Fatalf("test service: %v", err)
		}
	}
	first, err := MarshalFile(orgs, svcs)
	if err != nil {
		t.Fatal(err)
	}
	f, err := ParseFile(first)
	if err != nil {
		t.Fatalf("parse own export: %v\n%s", err, first)
	}
	if got := orgsOf(f); !slices.Equal(got, orgs) {
		t.Errorf("organisations %v, want %v", got, orgs)
	}
	back := servicesOf(f)
	if len(back) != len(svcs) {
		t.Fatalf("%d services back, want %d", len(back), len(svcs))
	}
	byID := map[string]Service{}
	for _, s := range back {
		byID[s.ID] = s
	}
	for _, s := range svcs {
		if !sameService(byID[s.ID], s) {
			t.Errorf("service %s changed in the round trip:\n got %+v\nwant %+v", s.ID, byID[s.ID], s)
		}
	}
	second, err := MarshalFile(orgsOf(f), back)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first, second) {
		t.Errorf("export → import → export is not byte-identical:\n%s\n----\n%s", first, second)
	}
	// Input order does not change the output.
	rev := slices.Clone(svcs)
	slices.Reverse(rev)
	if third, _ := MarshalFile(orgs, rev); !bytes.Equal(first, third) {
		t.Error("export depends on the order services were given in")
	}
	// A readable file: one-line lists, no org_id, the header.
	for _, want := range []string{"version: 1\norganisations:\n  - id: example-intake\n", "counties: [nairobi, kiambu, mombasa]",
		"    services: []\n", "# Salama directory:", `phone: "999"`, "        child_protection: true\n"} {
		if !strings.Contains(string(first), want) {
			t.Errorf("export lacks %q", want)
		}
	}
	if strings.Contains(string(first), "org_id") {
		t.Error("export repeats org_id under each service")
	}
}

func TestMarshalFileRefusesOrphans(t *testing.T) {
	_, svcs := demoFile()
	if _, err := MarshalFile([]Org{{ID: "example-intake", Name: "x"}}, svcs); err == nil {
		t.Error("services of an organisation not written were accepted")
	}
}

const goodFile = `version: 1
organisations:
  - id: org-a
    name: Org A
    services:
      - id: a.counselling
        name: Counselling
        type: counselling
        counties:
          - nairobi
          - kisumu
        ages: all
        channels:
          phone: 0700 000 001
`

func TestParseFile(t *testing.T) {
	f, err := ParseFile([]byte(goodFile))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Orgs) != 1 || f.Orgs[0].ID != "org-a" || len(f.Orgs[0].Services) != 1 {
		t.Fatalf("parsed %+v", f)
	}
	s := f.Orgs[0].Services[0]
	if s.OrgID != "org-a" || s.Channels.Phone != "0700 000 001" || !slices.Equal(s.Counties, []string{"nairobi", "kisumu"}) {
		t.Errorf("service %+v", s)
	}
	// A number written without quotes keeps its leading zero.
	f, err = ParseFile([]byte(strings.Replace(goodFile, "0700 000 001", "0700000001", 1)))
	if err != nil || f.Orgs[0].Services[0].Channels.Phone != "0700000001" {
		t.Errorf("unquoted phone: %v %+v", err, f)
	}
}

func TestParseFileErrors(t *testing.T) {
	// edit replaces old with new in goodFile.
	edit := func(pairs ...string) string {
		s := goodFile
		for i := 0; i < len(pairs); i += 2 {
			if !strings.Contains(s, pairs[i]) {
				panic("test: goodFile lacks " + pairs[i])
			}
			s = strings.Replace(s, pairs[i], pairs[i+1], 1)
		}
		return s
	}
	type want struct {
		line  int
		field string
		text  string
	}
	for _, tc := range []struct {
		name string
		file string
		want []want
	}{
		{"unknown county in a list", edit("- kisumu", "- gotham"), []want{{11, "counties[1]", "unknown county"}}},
		{"unknown county in a flow list", edit("counties:\n          - nairobi\n          - kisumu", "counties: [nairobi, gotham]"),
			[]want{{9, "counties[1]", "unknown county"}}},
		{"bad phone", edit("0700 000 001", "call Amina"), []want{{14, "channels.phone", "digits"}}},
		{"no channels", edit("        channels:\n          phone: 0700 000 001\n", ""), []want{{6, "channels", "at least one way"}}},
		{"empty channels", edit("\n          phone: 0700 000 001", ""), []want{{13, "channels", "at least one way"}}},
		{"wrong age group", edit("ages: all", "ages: adult"), []want{{12, "ages", "children"}}},
		{"hours with a tab", edit("ages: all", "ages: all\n        hours:\n          sw: \"a\\tb\""), []want{{14, "hours.sw", "control"}}},
		{"reserved id", edit("a.counselling", "national.gbv-1195"), []want{{6, "id", "reserved"}}},
		{"unknown key", edit("ages: all", "ages: all\n        colour: blue"), []want{{13, "", `unknown key "colour"`}}},
		{"channel key outside channels", edit("ages: all", "ages: all\n        phone: 0700 000 002"), []want{{13, "", "under channels"}}},
		{"org_id in a service", edit("ages: all", "ages: all\n        org_id: org-b"), []want{{13, "", "organisation it is listed under"}}},
		{"unknown channel", edit("phone: 0700", "telegram: x\n          phone: 0700"), []want{{14, "", `unknown key "telegram"`}}},
		{"unknown top-level key", edit("version: 1", "version: 1\nnetwork: x"), []want{{2, "", `unknown key "network"`}}},
		{"key twice", edit("ages: all", "ages: all\n        ages: adults"), []want{{13, "ages", "twice (also on line 12)"}}},
		{"national not a boolean", edit("ages: all", "ages: all\n        national: yes"), []want{{13, "national", "true or false"}}},
		{"child-protection mark on an adults-only service", edit("ages: all", "ages: adults\n        child_protection: true"), []want{{13, "child_protection", "takes children"}}},
		{"child-protection mark not a boolean", edit("ages: all", "ages: all\n        child_protection: maybe"), []want{{13, "child_protection", "true or false"}}},
		{"counties not a list", edit("counties:\n          - nairobi\n          - kisumu", "counties: nairobi"), []want{{9, "counties", "expected a list"}}},
		{"name is a list", edit("name: Counselling", "name: [a, b]"), []want{{7, "name", "single value"}}},
		{"description not en/sw", edit("ages: all", "ages: all\n        description: hello"), []want{{13, "description", "keys and values"}}},
		{"description in French", edit("ages: all", "ages: all\n        description:\n          fr: bonjour"), []want{{14, "", `unknown key "fr"`}}},
		{"service without id", edit("- id: a.counselling\n        name", "- name"), []want{{6, "id", "missing"}}},
		{"service id twice", edit("ages: all\n        channels:\n          phone: 0700 000 001\n",
			"ages: all\n        channels:\n          phone: 0700 000 001\n      - id: a.counselling\n        name: Again\n        type: shelter\n        national: true\n        ages: all\n        channels: {phone: \"116\"}\n"),
			[]want{{15, "id", "also used on line 6"}}},
		{"organisation twice", goodFile + "  - id: org-a\n    name: Org A again\n    services: []\n", []want{{15, "id", "listed twice"}}},
		{"organisation without services key", edit("    services:\n      - id: a.counselling", "    other:\n      - id: a.counselling"), []want{{5, "", `unknown key "other"`}, {3, "services", "missing"}}},
		{"organisation without id", edit("  - id: org-a\n    name", "  - name"), []want{{3, "id", "missing"}}},
		{"organisation without name", edit("    name: Org A\n", ""), []want{{3, "name", "missing"}}},
		{"no version", edit("version: 1\n", ""), []want{{1, "version", "missing"}}},
		{"version 2", edit("version: 1", "version: 2"), []want{{1, "version", "version 1"}}},
		{"no organisations", "version: 1\n", []want{{1, "organisations", "missing"}}},
		{"empty file", "", []want{{1, "", "empty"}}},
		{"only comments", "# nothing\n# here\n", []want{{1, "", "empty"}}},
		{"not a mapping", "- a\n- b\n", []want{{1, "", "expected keys and values"}}},
		{"alias", edit("ages: all", "ages: &a all\n        hours: *a"), []want{{12, "ages", "anchors"}, {13, "hours", "aliases"}}},
		{"merge key", edit("ages: all", "ages: all\n        <<: {free: true}"), []want{{13, "", "plain word"}}},
		{"tag", edit("ages: all", "ages: !!str all"), []want{{12, "ages", "tags"}}},
		{"second document", goodFile + "---\nversion: 1\n", []want{{15, "", "second YAML document"}}},
		{"syntax error", edit("name: Counselling", "name: Counselling\n       bad: indentation: here"), []want{{0, "", "not valid YAML"}}}, // the YAML library names where the list began
		{"unclosed quote", edit("name: Counselling", `name: "Counselling`), []want{{0, "", "not valid YAML"}}},
		{"tab indentation", edit("        ages: all", "\tages: all"), []want{{0, "", "not valid YAML"}}},
		{"not UTF-8", edit("name: Counselling", "name: Counsel\xffling"), []want{{7, "", "UTF-8"}}},
		{"CRLF line ends", strings.ReplaceAll(edit("- kisumu", "- gotham"), "\n", "\r\n"), []want{{11, "counties[1]", "unknown county"}}},
		{"line separator", edit("name: Counselling", "name: Counsel\u2028ling"), []want{{7, "", "separator"}}},
		{"control character", edit("name: Counselling", "name: Counsel\x07ling"), []want{{7, "", "control character"}}},
		{"several problems at once", edit("- kisumu", "- gotham", "version: 1", "version: 1\nextra: 1"),
			[]want{{2, "", `unknown key "extra"`}, {12, "counties[1]", "unknown county"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseFile([]byte(tc.file))
			var les LineErrors
			if !errors.As(err, &les) {
				t.Fatalf("got %v, want LineErrors", err)
			}
			if len(les) != len(tc.want) {
				t.Fatalf("got %d problems, want %d:\n%v", len(les), len(tc.want), err)
			}
			lines := countLines([]byte(tc.file))
			for i, w := range tc.want {
				got := les[i]
				if got.Line < 1 || got.Line > lines {
					t.Errorf("problem %d on line %d of a %d-line file", i, got.Line, lines)
				}
				if w.line != 0 && got.Line != w.line || got.Field != w.field || !strings.Contains(got.Problem, w.text) {
					t.Errorf("problem %d: got line %d field %q %q, want line %d field %q containing %q",
						i, got.Line, got.Field, got.Problem, w.line, w.field, w.text)
				}
				if !strings.HasPrefix(got.Error(), "line ") {
					t.Errorf("error %q does not start with its line", got.Error())
				}
			}
		})
	}
}

func TestParseFileLimits(t *testing.T) {
	big := append([]byte(goodFile), bytes.Repeat([]byte("#"), MaxFileSize)...)
	if _, err := ParseFile(big); err == nil || !strings.Contains(err.Error(), "larger") {
		t.Errorf("a file over the limit: %v", err)
	}
	// Many bad services: the report stops at 50 problems and says so.
	var b strings.Builder
	b.WriteString("version: 1\norganisations:\n  - id: org-a\n    name: A\n    services:\n")
	for range 80 {
		b.WriteString("      - {id: x, name: X, type: nope, national: true, ages: all, channels: {phone: \"116\"}}\n")
	}
	_, err := ParseFile([]byte(b.String()))
	var les LineErrors
	if !errors.As(err, &les) || len(les) != maxLineErrors+1 || !strings.Contains(les[len(les)-1].Problem, "too many") {
		t.Errorf("got %d problems: %v", len(les), err)
	}
}

func TestChanges(t *testing.T) {
	stored := []Org{{ID: "org-a", Name: "Org A"}, {ID: "org-b", Name: "Org B"}, {ID: "org-c", Name: "Org C"}}
	mk := func(id, org string) Service {
		return Service{ID: id, OrgID: org, Name: id, Type: TypeShelter, Counties: []string{"nairobi"}, Ages: AgesAll,
			Channels: Channels{Phone: "0700 000 001"}}
	}
	current := []Service{mk("a.same", "org-a"), mk("a.edit", "org-a"), mk("a.gone", "org-a"), mk("b.move", "org-b"),
		mk("b.stay", "org-b"), mk("c.other", "org-c")}

	edited := mk("a.edit", "org-a")
	edited.Name, edited.Counties = "Edited", []string{"kisumu"}
	moved := mk("b.move", "org-a")
	file, err := MarshalFile(stored[:2], []Service{mk("a.same", "org-a"), edited, mk("a.new", "org-a"), moved, mk("b.stay", "org-b")})
	if err != nil {
		t.Fatal(err)
	}
	f, err := ParseFile(file)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := f.Changes(stored, current)
	if err != nil {
		t.Fatal(err)
	}
	if len(ch.Orgs) != 2 {
		t.Fatalf("%d organisations changed, want 2 (org-c is not in the file)", len(ch.Orgs))
	}
	a, b := ch.Orgs[0], ch.Orgs[1]
	ids := func(ss []Service) []string {
		var out []string
		for _, s := range ss {
			out = append(out, s.ID)
		}
		return out
	}
	if got := ids(a.Added); !slices.Equal(got, []string{"a.new"}) {
		t.Errorf("added %v", got)
	}
	if len(a.Changed) != 2 || a.Changed[0].New.ID != "a.edit" || !slices.Equal(a.Changed[0].Fields, []string{"name", "counties"}) ||
		a.Changed[1].New.ID != "b.move" || !slices.Equal(a.Changed[1].Fields, []string{"org"}) {
		t.Errorf("changed %+v", a.Changed)
	}
	if got := ids(a.Removed); !slices.Equal(got, []string{"a.gone"}) {
		t.Errorf("removed %v", got)
	}
	if a.Unchanged != 1 || b.Unchanged != 1 || b.Count() != 0 {
		t.Errorf("unchanged a=%d b=%d, b changes %d", a.Unchanged, b.Unchanged, b.Count())
	}
	if ch.Count() != 4 || !slices.Equal(ch.Remove(), []string{"a.gone"}) || len(ch.Put()) != 3 {
		t.Errorf("count %d, remove %v, put %d", ch.Count(), ch.Remove(), len(ch.Put()))
	}
	var out strings.Builder
	ch.Format(&out)
	for _, want := range []string{"Org A (org-a): 1 added, 2 changed, 1 removed, 1 unchanged", "  + a.new", "  ~ a.edit  name, counties", "  - a.gone", "Org B (org-b): 0 added"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("diff lacks %q:\n%s", want, out.String())
		}
	}

	// What the stored directory refuses, each with its line.
	for _, tc := range []struct {
		name, file string
		line       int
		text       string
	}{
		{"unknown organisation", strings.Replace(goodFile, "org-a", "org-z", 1), 3, `no organisation "org-z"`},
		{"name differs", strings.Replace(goodFile, "Org A", "Org B", 1), 4, `called "Org A"`},
		{"id of an organisation not listed", strings.Replace(goodFile, "a.counselling", "c.other", 1), 6, "belongs to \"Org C\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := ParseFile([]byte(tc.file))
			if err != nil {
				t.Fatal(err)
			}
			_, err = f.Changes(stored, current)
			var les LineErrors
			if !errors.As(err, &les) || len(les) != 1 || les[0].Line != tc.line || !strings.Contains(les[0].Problem, tc.text) {
				t.Errorf("got %v, want line %d: …%s…", err, tc.line, tc.text)
			}
		})
	}
}

// FuzzImport: whatever a directory file holds, ParseFile does not panic;
// every error carries a line within the file; and a file it accepts holds
// only valid services and survives export → import unchanged.
func FuzzImport(f *testing.F) {
	orgs, svcs := demoFile()
	demo, err := MarshalFile(orgs, svcs)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(demo)
	f.Add([]byte(goodFile))
	f.Add([]byte("version: 1\norganisations: []\n"))
	f.Add([]byte("version: 1\norganisations:\n  - {id: o, name: O, services: [{id: s, name: S, type: shelter, national: true, ages: all, channels: {sms: '116'}}]}\n"))
	f.Add([]byte("a: &x [*x, *x]\n"))
	f.Add([]byte("version: 1\n---\nversion: 1\n"))
	f.Add([]byte("\xef\xbb\xbfversion: 1\norganisations:\n- id: o\n  name: \"\\u0007\"\n  services: ~\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := ParseFile(data)
		if err != nil {
			var les LineErrors
			if !errors.As(err, &les) || len(les) == 0 {
				t.Fatalf("error %v is not LineErrors", err)
			}
			lines := countLines(data)
			for _, e := range les {
				if e.Line < 1 || e.Line > lines {
					t.Fatalf("error on line %d of a %d-line file: %v", e.Line, lines, e)
				}
			}
			return
		}
		got := servicesOf(file)
		for _, s := range got {
			if err := s.Validate(); err != nil {
				t.Fatalf("accepted an invalid service: %v", err)
			}
		}
		out, err := MarshalFile(orgsOf(file), got)
		if err != nil {
			t.Fatalf("cannot export what was imported: %v", err)
		}
		again, err := ParseFile(out)
		if err != nil {
			t.Fatalf("cannot import own export: %v\n%s", err, out)
		}
		if !slices.Equal(orgsOf(again), orgsOf(file)) {
			t.Fatalf("organisations changed: %v → %v", orgsOf(file), orgsOf(again))
		}
		back := servicesOf(again)
		slices.SortStableFunc(got, func(a, b Service) int { return strings.Compare(a.OrgID+"\x00"+a.ID, b.OrgID+"\x00"+b.ID) })
		slices.SortStableFunc(back, func(a, b Service) int { return strings.Compare(a.OrgID+"\x00"+a.ID, b.OrgID+"\x00"+b.ID) })
		if len(back) != len(got) {
			t.Fatalf("%d services became %d", len(got), len(back))
		}
		for i := range got {
			if !sameService(got[i], back[i]) {
				t.Fatalf("service changed in export → import:\n%+v\n%+v", got[i], back[i])
			}
		}
		if out2, _ := MarshalFile(orgsOf(again), back); !bytes.Equal(out, out2) {
			t.Fatal("second export differs from the first")
		}
	})
}

// countLines counts lines as an editor does: \n, \r\n and a lone \r end one.
func countLines(data []byte) int {
	return bytes.Count(bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n")), []byte("\n")) + bytes.Count(data, []byte("\r")) -
		bytes.Count(data, []byte("\r\n")) + 1
}
