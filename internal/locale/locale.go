// Package locale owns every word a person reads: the English and Kiswahili
// message catalogs, and the choice of language for a request.
//
// Catalogs are flat JSON files embedded in the binary, one per area and
// language (messages/<area>.<lang>.json), merged at start. A key missing in
// one language is a build-time defect: a test fails when the two languages do
// not have exactly the same keys. At run time a missing key renders as the key
// itself, so a defect is visible rather than silent.
package locale

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Lang is a language Salama speaks.
type Lang string

const (
	English   Lang = "en"
	Kiswahili Lang = "sw"
)

// Langs lists the supported languages in the order the switcher shows them.
var Langs = []Lang{Kiswahili, English}

// ParseLang returns the language for a URL prefix or form value.
func ParseLang(s string) (Lang, bool) {
	switch Lang(s) {
	case English, Kiswahili:
		return Lang(s), true
	}
	return "", false
}

// Name is the language's name in itself, for the switcher.
func (l Lang) Name() string {
	if l == Kiswahili {
		return "Kiswahili"
	}
	return "English"
}

//go:embed messages/*.json
var files embed.FS

// Catalog holds every message in every language.
type Catalog struct {
	msgs map[Lang]map[string]string
}

// Load returns the embedded catalogs, read once per process: every
// caller shares the one Catalog, which nothing changes once read.
func Load() (*Catalog, error) { return builtIn() }

var builtIn = sync.OnceValues(func() (*Catalog, error) { return load(files) })

// EnglishPrinter prints in English from the embedded catalogs: the words
// the staff's pages and documents (the console, the case export, the
// evidence bundle's account) share with the public pages, such as the
// form's questions and the counties.
func EnglishPrinter() *Printer { return MustLoad().Printer(English) }

func load(fsys fs.FS) (*Catalog, error) {
	c := &Catalog{msgs: map[Lang]map[string]string{}}
	for _, l := range Langs {
		c.msgs[l] = map[string]string{}
	}
	names, err := fs.Glob(fsys, "messages/*.json")
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		base := strings.TrimSuffix(path.Base(name), ".json")
		dot := strings.LastIndexByte(base, '.')
		if dot < 0 {
			return nil, fmt.Errorf("locale: %s: name must be <area>.<lang>.json", name)
		}
		lang, ok := ParseLang(base[dot+1:])
		if !ok {
			return nil, fmt.Errorf("locale: %s: unknown language", name)
		}
		raw, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		var m map[string]string
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, fmt.Errorf("locale: %s: %w", name, err)
		}
		for k, v := range m {
			if _, dup := c.msgs[lang][k]; dup {
				return nil, fmt.Errorf("locale: %s: key %q defined twice", name, k)
			}
			c.msgs[lang][k] = v
		}
	}
	return c, nil
}

// MustLoad is Load for program start, where a broken catalog is a build defect.
func MustLoad() *Catalog {
	c, err := Load()
	if err != nil {
		panic(err)
	}
	return c
}

// Keys returns the sorted keys of one language.
func (c *Catalog) Keys(l Lang) []string {
	keys := make([]string, 0, len(c.msgs[l]))
	for k := range c.msgs[l] {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Has reports whether key exists in language l.
func (c *Catalog) Has(l Lang, key string) bool {
	_, ok := c.msgs[l][key]
	return ok
}

// Printer renders messages in one language.
func (c *Catalog) Printer(l Lang) *Printer { return &Printer{Lang: l, c: c} }

// Printer is a catalog bound to one language; templates call its T method.
type Printer struct {
	Lang Lang
	c    *Catalog
}

// T returns the message for key with {0}, {1}, … replaced by args.
func (p *Printer) T(key string, args ...any) string {
	s, ok := p.c.msgs[p.Lang][key]
	if !ok {
		return key
	}
	if len(args) == 0 {
		return s
	}
	pairs := make([]string, 0, 2*len(args))
	for i, a := range args {
		pairs = append(pairs, "{"+strconv.Itoa(i)+"}", fmt.Sprint(a))
	}
	return strings.NewReplacer(pairs...).Replace(s)
}

// Has reports whether the printer's language has key.
func (p *Printer) Has(key string) bool { return p.c.Has(p.Lang, key) }

// Negotiate picks a language from an Accept-Language header: the first
// supported language by quality, English when none is supported.
func Negotiate(acceptLanguage string) Lang {
	best, bestQ := English, -1.0
	for _, part := range strings.Split(acceptLanguage, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		tag, params, _ := strings.Cut(part, ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f < 0 || f > 1 {
				continue
			}
			q = f
		}
		primary, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(tag)), "-")
		l, ok := ParseLang(primary)
		if !ok || q == 0 {
			continue
		}
		if q > bestQ {
			best, bestQ = l, q
		}
	}
	return best
}

// Number writes n with a comma between thousands, as Kenyans write it in
// English and in Kiswahili.
func Number(n int) string {
	s := strconv.Itoa(n)
	start := 0
	if n < 0 {
		start = 1
	}
	for i := len(s) - 3; i > start; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
