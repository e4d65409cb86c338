package directory

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/salama-ke/salama/internal/report"
)

// readCatalog reads one flat catalog and refuses a key defined twice (which
// encoding/json would silently let the last one win).
func readCatalog(t *testing.T, lang string) map[string]string {
	t.Helper()
	path := filepath.Join("..", "locale", "messages", "directory."+lang+".json")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := json.NewDecoder(f)
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("%s: not a JSON object (%v)", path, err)
	}
	m := map[string]string{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		key := tok.(string)
		var v string
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("%s: %s: %v", path, key, err)
		}
		if _, dup := m[key]; dup {
			t.Errorf("%s: key %q twice", path, key)
		}
		m[key] = v
	}
	if _, err := dec.Token(); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		t.Fatalf("%s: data after the object", path)
	}
	return m
}

// requiredKeys lists every key the package's vocabulary promises.
func requiredKeys() []string {
	keys := []string{CountyKey(CountyOutside), CountyKey(CountyNotSaid), report.AgeBandKey(report.AgeNotSaid),
		"helpnow.title", "helpnow.intro", "helpnow.services.none", "helpnow.services.in_county",
		"helpnow.footer", "helpnow.sms",
		"service.phone", "service.sms", "service.whatsapp", "service.walk_in", "service.website",
		"service.hours", "service.cost", "service.free", "service.national"}
	for _, c := range Counties() {
		keys = append(keys, c.Key())
	}
	for _, n := range report.Needs() {
		keys = append(keys, n.Key())
	}
	for _, st := range ServiceTypes() {
		keys = append(keys, st.Key())
	}
	for _, b := range report.AgeBands() {
		keys = append(keys, report.AgeBandKey(b))
	}
	for _, g := range AgeGroups() {
		keys = append(keys, g.Key())
	}
	for _, g := range Genders() {
		keys = append(keys, g.Key())
	}
	for _, l := range Languages() {
		keys = append(keys, LanguageKey(l))
	}
	for _, s := range Sections() {
		keys = append(keys, s.TitleKey(), s.BodyKey())
	}
	for _, s := range append(NationalLines(), OnlineImageTools()...) {
		k, _ := s.CatalogKey()
		keys = append(keys, k+".name", k+".desc", k+".hours")
	}
	return keys
}

func TestCatalogs(t *testing.T) {
	en, sw := readCatalog(t, "en"), readCatalog(t, "sw")
	for k := range en {
		if _, ok := sw[k]; !ok {
			t.Errorf("key %q is in English only", k)
		}
	}
	for k := range sw {
		if _, ok := en[k]; !ok {
			t.Errorf("key %q is in Kiswahili only", k)
		}
	}
	for _, k := range requiredKeys() {
		if en[k] == "" || sw[k] == "" {
			t.Errorf("key %q missing or empty", k)
		}
	}
	ph := regexp.MustCompile(`\{\d+\}`)
	prefixes := []string{"county.", "need.", "servicetype.", "ageband.", "agegroup.", "gender.",
		"language.", "service.", "helpnow.", "national."}
	for k, e := range en {
		s := sw[k]
		if !slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(k, p) }) {
			t.Errorf("key %q is outside the directory's prefixes", k)
		}
		pe, ps := ph.FindAllString(e, -1), ph.FindAllString(s, -1)
		slices.Sort(pe)
		slices.Sort(ps)
		if !slices.Equal(pe, ps) {
			t.Errorf("key %q: placeholders en=%v sw=%v", k, pe, ps)
		}
		if strings.ContainsAny(e+s, "<>") {
			t.Errorf("key %q contains markup", k)
		}
		if strings.Contains(e+s, "{{") {
			t.Errorf("key %q contains template syntax", k)
		}
		for _, url := range []string{"http://", "https://"} {
			if strings.Contains(e+s, url) {
				t.Errorf("key %q writes a scheme; web addresses are written bare", k)
			}
		}
	}
	// A section body is paragraphs split on a blank line; a single newline
	// would be lost in HTML.
	for k, v := range en {
		if strings.Contains(strings.ReplaceAll(v+sw[k], "\n\n", ""), "\n") {
			t.Errorf("key %q has a single newline", k)
		}
		if strings.Count(v, "\n\n") != strings.Count(sw[k], "\n\n") {
			t.Errorf("key %q: English and Kiswahili have different paragraph counts", k)
		}
	}
	// The one message with a value.
	if !strings.Contains(en["helpnow.services.in_county"], "{0}") {
		t.Error("helpnow.services.in_county lost its {0}")
	}
	// The SMS reply must fit one GSM-7 message: ASCII, 160 characters.
	for lang, m := range map[string]map[string]string{"en": en, "sw": sw} {
		msg := m["helpnow.sms"]
		if len(msg) > 160 {
			t.Errorf("%s helpnow.sms is %d characters", lang, len(msg))
		}
		for _, r := range msg {
			if r > 0x7e || strings.ContainsRune("[]{}^~|\\", r) {
				t.Errorf("%s helpnow.sms has %q, outside basic GSM-7", lang, r)
			}
		}
		// The numbers in help text must be the real ones.
		for key, nums := range map[string][]string{
			"helpnow.emergency.body":      {"999", "112"},
			"helpnow.post_rape_care.body": {"PEP", "72", "120", "1195"},
			"helpnow.child_line.body":     {"116"},
			"helpnow.image_removal.body":  {"Take It Down", "StopNCII", "18"},
			"helpnow.footer":              {"999", "112", "1195", "116"},
			"helpnow.sms":                 {"999", "112", "1195", "116"},
			"national.takeitdown.desc":    {"18"},
			"national.stopncii.desc":      {"18"},
			"helpnow.child_images.body":   {"IWF", "Take It Down", "18"},
			"national.iwf.desc":           {"Internet Watch Foundation", "DCI"},
		} {
			for _, n := range nums {
				if !strings.Contains(m[key], n) {
					t.Errorf("%s %s does not say %s", lang, key, n)
				}
			}
		}
	}
	// County names are mostly the same in both languages; a slip that puts
	// an English UI word into Kiswahili would show here.
	if sw["county.outside"] == en["county.outside"] || sw[report.AgeBandKey("")] == en[report.AgeBandKey("")] {
		t.Error("Kiswahili UI words copied from English")
	}
}
