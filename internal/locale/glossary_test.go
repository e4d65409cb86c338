package locale

import (
	"regexp"
	"strings"
	"testing"

	"github.com/salama-ke/salama/internal/directory"
)

// The Kiswahili catalog keeps to the terms of docs/kiswahili.md where a
// program can check them: the words a survivor tripped over, or that name
// one thing two ways, never appear; and a message whose English names one of
// the glossary's things uses the one Kiswahili term for it.

// notKiswahili are the glossary's "not" column: each with why.
var notKiswahili = []struct {
	re  *regexp.Regexp
	why string
}{
	{regexp.MustCompile(`(?i)kidakuzi`), `a cookie is "cookie"`},
	{regexp.MustCompile(`(?i)aliajiriwa`), `"alirubuniwa kwa ahadi ya kazi": "aliajiriwa" says she was employed`},
	{regexp.MustCompile(`(?i)\bkushiriki\w*|\w*shirikiw\w*`), `a report is passed on: "kupeleka ripoti kwa …", never "kushiriki"`},
	{regexp.MustCompile(`(?i)kamwe si mtu mmoja`), `a calque of "never one person"`},
	{regexp.MustCompile(`(?i)\brisiti\b|stakabadhi|namba(ri)? ya siri`), `the receipt is "namba ya ripoti"`},
	{regexp.MustCompile(`(?i)\b(m|wa)saidizi\b`), `the helper is "mhudumu"`},
	{regexp.MustCompile(`(?i)\bridhaa\b|\bkibali\b`), `consent is "idhini"`},
	{regexp.MustCompile(`(?i)ulanguzi`), `trafficking is "usafirishaji haramu"`},
	{regexp.MustCompile(`(?i)\btaarifa\b`), `a report is "ripoti"`},
}

// bareToka finds "Toka" that is not "Toka haraka": beside Quick exit it
// confused survivors; the logout is "Funga ripoti yangu".
var bareToka = regexp.MustCompile(`\b(Toka|Umetoka)\b`)

// terms: a message whose English matches en says sw in Kiswahili.
var terms = []struct {
	en, sw *regexp.Regexp
	unless *regexp.Regexp // an English use that is not this thing
}{
	{en: regexp.MustCompile(`(?i)\breport code\b`), sw: regexp.MustCompile(`(?i)\bnamba (yangu |yako )?ya ripoti\b`)},
	{en: regexp.MustCompile(`(?i)\bcode\b`), sw: regexp.MustCompile(`(?i)\bnamba\b`),
		unless: regexp.MustCompile(`(?i)code from the (image|picture)`)}, // the image's hash, "msimbo"
	{en: regexp.MustCompile(`(?i)\bhelpers?\b|\bcaseworkers?\b`), sw: regexp.MustCompile(`(?i)\b(m|wa)hudumu\b`)},
	{en: regexp.MustCompile(`Quick exit`), sw: regexp.MustCompile(`Toka haraka`)},
	{en: regexp.MustCompile(`Close my report`), sw: regexp.MustCompile(`Funga ripoti yangu`)},
	{en: regexp.MustCompile(`(?i)traffick`), sw: regexp.MustCompile(`(?i)usafirishaji haramu`)},
	{en: regexp.MustCompile(`(?i)\bagree(d|ment)?\b|\bconsent`), sw: regexp.MustCompile(`(?i)idhini|kubali`)},
	{en: regexp.MustCompile(`(?i)\bcookie\b`), sw: regexp.MustCompile(`\bcookie\b`)},
	{en: regexp.MustCompile(`(?i)\bscreenshots?\b`), sw: regexp.MustCompile(`(?i)\bpicha( \w+)? (za|ya) skrini\b`)},
}

func TestKiswahiliGlossary(t *testing.T) {
	c := MustLoad()
	en, sw := c.msgs[English], c.msgs[Kiswahili]
	for _, k := range c.Keys(Kiswahili) {
		s := sw[k]
		for _, n := range notKiswahili {
			if m := n.re.FindString(s); m != "" {
				t.Errorf("%s says %q: %s\n  %s", k, m, n.why, s)
			}
		}
		if m := bareToka.FindString(strings.ReplaceAll(s, "Toka haraka", "")); m != "" {
			t.Errorf("%s says a bare %q: Quick exit is \"Toka haraka\", the logout \"Funga ripoti yangu\"\n  %s", k, m, s)
		}
		for _, term := range terms {
			e := en[k]
			if !term.en.MatchString(e) || (term.unless != nil && term.unless.MatchString(e)) {
				continue
			}
			if !term.sw.MatchString(s) {
				t.Errorf("%s: the English says %q, the Kiswahili lacks %s\n  en: %s\n  sw: %s",
					k, term.en.FindString(e), term.sw, e, s)
			}
		}
	}
}

// The checks can fail: each catches the slip it is there for.
func TestKiswahiliGlossaryCatches(t *testing.T) {
	for _, s := range []string{"Weka kidakuzi", "Mtu aliajiriwa", "kushiriki ripoti", "Kinachoshirikiwa:",
		"Hii ni risiti yako", "Mwandikie msaidizi", "bila ridhaa yako", "Ulanguzi wa binadamu"} {
		caught := false
		for _, n := range notKiswahili {
			caught = caught || n.re.MatchString(s)
		}
		if !caught {
			t.Errorf("%q is not caught", s)
		}
	}
	for _, s := range []string{"shirika la msaada", "inayoshirikiana na polisi", "Mhudumu wako"} {
		for _, n := range notKiswahili {
			if n.re.MatchString(s) {
				t.Errorf("%q is caught by %s", s, n.re)
			}
		}
	}
	if !bareToka.MatchString(strings.ReplaceAll("Toka haraka | Toka", "Toka haraka", "")) ||
		bareToka.MatchString(strings.ReplaceAll("Bonyeza Toka haraka juu", "Toka haraka", "")) {
		t.Error("bare Toka check")
	}
	if terms[0].sw.MatchString("Namba yako: 1234") || !terms[0].sw.MatchString("Hii ndiyo namba yako ya ripoti:") {
		t.Error("report code term check")
	}
}

// The demo network's Kiswahili is what a newcomer trying Salama reads on
// the help page: it keeps to the same terms.
func TestDemoDirectoryKeepsTheGlossary(t *testing.T) {
	n := 0
	for _, o := range directory.DemoNetwork() {
		for _, s := range o.Services {
			for what, text := range map[string]string{"description": s.Description.SW, "walk-in": s.Channels.WalkIn.SW,
				"hours": s.Hours.SW, "cost": s.Cost.SW} {
				if text == "" {
					continue
				}
				n++
				for _, bad := range notKiswahili {
					if m := bad.re.FindString(text); m != "" {
						t.Errorf("%s %s says %q: %s\n  %s", s.ID, what, m, bad.why, text)
					}
				}
				if m := bareToka.FindString(text); m != "" {
					t.Errorf("%s %s says a bare %q\n  %s", s.ID, what, m, text)
				}
			}
		}
	}
	if n < 10 {
		t.Fatalf("only %d Kiswahili texts in the demo network: the test reads the wrong fields", n)
	}
}
