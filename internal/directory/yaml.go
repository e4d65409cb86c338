package directory

// The directory file: the network's organisations and their services as one
// YAML file, written by `salama directory export` and read by `salama
// directory import`, so a coordinator can review or rebuild the directory in
// a text editor and keep it under version control.
//
// A directory file comes from outside: it is parsed into a yaml.Node tree and
// walked by hand rather than decoded into structs, so that every problem
// (unknown key, wrong kind of value, invalid service) is reported with the
// line to fix, every problem at once, and nothing in the file (anchors,
// aliases, tags, merge keys, a second document) can make it mean more than it
// says.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// FileVersion is the version of the directory file format, written as
// "version: 1" at the top of every file.
const FileVersion = 1

// MaxFileSize bounds a directory file. A national directory of a few hundred
// services is well under 1 MB.
const MaxFileSize = 4 << 20

// maxLineErrors bounds how many problems one import reports.
const maxLineErrors = 50

// Org is an organisation as a directory file names it. Organisations are
// created with their keys by `salama org create`; a file only refers to them.
type Org struct {
	ID   string
	Name string
}

// File is a parsed, validated directory file.
type File struct {
	Orgs []FileOrg
}

// FileOrg is one organisation of a file with every service listed under it
// (each with OrgID set to the organisation's ID).
type FileOrg struct {
	Org
	Services []Service

	idLine, nameLine int
	services         []servicePos
}

// servicePos remembers where a service's fields are in the file.
type servicePos struct {
	line   int            // the service's first line
	fields map[string]int // "name", "counties[2]", "channels.walk_in.en" → line
}

// lineOf returns the line of a field as FieldError names it, or of the
// nearest enclosing field the file has, or the service's first line (for a
// field the file leaves out).
func (p servicePos) lineOf(field string) int {
	for f := field; f != ""; f = parentField(f) {
		if l, ok := p.fields[f]; ok {
			return l
		}
	}
	return p.line
}

func parentField(f string) string {
	if i := strings.LastIndexAny(f, ".["); i >= 0 {
		return f[:i]
	}
	return ""
}

// LineError is one problem in a directory file, with the line to fix.
// Line is always 1 or more.
type LineError struct {
	Line    int
	Service string // the service's ID, when the problem is in a service
	Field   string // as FieldError names it ("channels.phone"), or a key
	Problem string // short, English, safe to show
}

func (e *LineError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "line %d: ", e.Line)
	if e.Service != "" {
		fmt.Fprintf(&b, "service %q: ", e.Service)
	}
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.Problem)
	return b.String()
}

// LineErrors are every problem found in a file, in file order (at most 50).
type LineErrors []*LineError

func (es LineErrors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Keys of a directory file, in the order export writes them.
var (
	topKeys     = []string{"version", "organisations"}
	orgKeys     = []string{"id", "name", "services"}
	serviceKeys = []string{"id", "name", "type", "description", "national", "counties", "ages",
		"genders", "languages", "hours", "channels", "cost", "free", "child_protection"}
	channelKeys = []string{"phone", "sms", "whatsapp", "walk_in", "website"}
	textKeys    = []string{"en", "sw"}
)

// ParseFile reads a directory file and validates every service in it. On
// any problem it returns LineErrors naming the line of each. It checks
// nothing against the stored directory; File.Changes does.
func ParseFile(data []byte) (*File, error) {
	p := &fileParser{}
	f := p.parse(data)
	if len(p.errs) > 0 {
		// YAML may place a problem at the end of input one line past
		// the last: name the last line instead.
		last := bytes.Count(normaliseLineEnds(data), []byte("\n")) + 1
		for _, e := range p.errs {
			e.Line = min(e.Line, last)
		}
		return nil, p.errs
	}
	return f, nil
}

type fileParser struct {
	errs LineErrors
}

func (p *fileParser) fail(line int, service, field, format string, args ...any) {
	switch {
	case len(p.errs) < maxLineErrors:
		p.errs = append(p.errs, &LineError{Line: max(line, 1), Service: service, Field: field, Problem: fmt.Sprintf(format, args...)})
	case len(p.errs) == maxLineErrors:
		p.errs = append(p.errs, &LineError{Line: max(line, 1), Problem: "too many problems; fix these first"})
	}
}

func (p *fileParser) parse(data []byte) *File {
	if len(data) > MaxFileSize {
		p.fail(1, "", "", "the file is larger than %d MB", MaxFileSize>>20)
		return nil
	}
	// Line ends as any editor counts them, so that a line number is the
	// same in the file and in YAML's errors.
	data = normaliseLineEnds(data)
	if line, problem := checkBytes(data); problem != "" {
		p.fail(line, "", "", "%s", problem)
		return nil
	}
	doc, lerr := decodeYAML(data)
	if lerr != nil {
		p.errs = append(p.errs, lerr)
		return nil
	}
	if len(doc.Content) == 0 {
		p.fail(1, "", "", "the file is empty")
		return nil
	}
	root := doc.Content[0]
	f := &File{}
	var version, orgs *yaml.Node
	p.mapping(root, "", "", topKeys, func(key string, k, v *yaml.Node) {
		switch key {
		case "version":
			version = v
		case "organisations":
			orgs = v
		}
	})
	if root.Kind != yaml.MappingNode {
		return nil
	}
	switch {
	case version == nil:
		p.fail(root.Line, "", "version", "missing: start the file with \"version: %d\"", FileVersion)
	case version.Kind != yaml.ScalarNode || version.Value != strconv.Itoa(FileVersion):
		p.fail(version.Line, "", "version", "this Salama reads version %d files", FileVersion)
	}
	if orgs == nil {
		p.fail(root.Line, "", "organisations", "missing: list the organisations under \"organisations:\"")
		return f
	}
	orgLines := map[string]int{}
	serviceLines := map[string]int{}
	for _, n := range p.list(orgs, "", "organisations") {
		fo, ok := p.org(n)
		if !ok {
			continue
		}
		if l, dup := orgLines[fo.ID]; dup && fo.ID != "" {
			p.fail(fo.idLine, "", "id", "organisation %q is listed twice (also on line %d); list each organisation once", fo.ID, l)
			continue
		}
		orgLines[fo.ID] = fo.idLine
		for i, s := range fo.Services {
			pos := fo.services[i]
			idLine := pos.lineOf("id")
			if l, dup := serviceLines[s.ID]; dup && s.ID != "" {
				p.fail(idLine, s.ID, "id", "this id is also used on line %d; every service needs its own", l)
				continue
			}
			serviceLines[s.ID] = idLine
			if !validID(s.OrgID) {
				s.OrgID = "org" // the organisation's id is already reported
			}
			if err := s.Validate(); err != nil {
				var fe *FieldError
				if errors.As(err, &fe) {
					p.fail(pos.lineOf(fe.Field), s.ID, fe.Field, "%s", fe.Problem)
				} else {
					p.fail(pos.line, s.ID, "", "%s", err)
				}
			}
		}
		f.Orgs = append(f.Orgs, fo)
	}
	return f
}

func normaliseLineEnds(data []byte) []byte {
	if !bytes.Contains(data, []byte("\r")) {
		return data
	}
	return bytes.ReplaceAll(bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n")), []byte("\r"), []byte("\n"))
}

// checkBytes finds what YAML would refuse without saying where: bytes that
// are not UTF-8, and control characters.
func checkBytes(data []byte) (line int, problem string) {
	line = 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			return line, "is not UTF-8 text; save the file as UTF-8"
		case r == '\n':
			line++
		case r == '\t' || r == '\uFEFF' && i == 0:
		case r == '\u2028' || r == '\u2029':
			return line, "contains a line or paragraph separator (U+2028, U+2029); use a plain line break"
		case r < 0x20 || r >= 0x7f && r <= 0x9f:
			return line, "contains a control character; remove it"
		}
		i += size
	}
	return 0, ""
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// decodeYAML parses one YAML document. A YAML error names a line when the
// parser knows one; otherwise it is put on line 1. A panic in the YAML
// library (none is known) is a malformed file, not a crash.
func decodeYAML(data []byte) (doc *yaml.Node, lerr *LineError) {
	defer func() {
		if r := recover(); r != nil {
			doc, lerr = nil, &LineError{Line: 1, Problem: "the file could not be read as YAML"}
		}
	}()
	lines := bytes.Count(data, []byte("\n")) + 1
	asLineError := func(err error) *LineError {
		msg := err.Error()
		if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
			n, _ := strconv.Atoi(m[1])
			return &LineError{Line: min(max(n, 1), lines), Problem: "not valid YAML: " + m[2]}
		}
		return &LineError{Line: 1, Problem: "not valid YAML: " + strings.TrimPrefix(msg, "yaml: ")}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var d yaml.Node
	if err := dec.Decode(&d); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &LineError{Line: 1, Problem: "the file is empty"}
		}
		return nil, asLineError(err)
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		return nil, &LineError{Line: min(max(extra.Line, 1), lines), Problem: "a second YAML document (after ---): a directory file is one document"}
	case !errors.Is(err, io.EOF):
		return nil, asLineError(err)
	}
	return &d, nil
}

// mapping walks a mapping node: each key once, only the allowed keys, each
// value given to fn. prefix is the field path of the mapping ("channels.").
func (p *fileParser) mapping(n *yaml.Node, service, prefix string, allowed []string, fn func(key string, k, v *yaml.Node)) {
	if !p.plain(n, service, strings.TrimSuffix(prefix, ".")) {
		return
	}
	if n.Kind != yaml.MappingNode {
		what := strings.TrimSuffix(prefix, ".")
		if what == "" {
			p.fail(n.Line, service, "", "expected keys and values (%s)", strings.Join(allowed, ", "))
		} else {
			p.fail(n.Line, service, what, "expected keys and values (%s)", strings.Join(allowed, ", "))
		}
		return
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.Tag == "!!merge" {
			p.fail(k.Line, service, strings.TrimSuffix(prefix, "."), "a key must be a plain word (%s)", strings.Join(allowed, ", "))
			continue
		}
		field := prefix + k.Value
		if l, dup := seen[k.Value]; dup {
			p.fail(k.Line, service, field, "given twice (also on line %d)", l)
			continue
		}
		seen[k.Value] = k.Line
		if !slices.Contains(allowed, k.Value) {
			hint := "expected one of: " + strings.Join(allowed, ", ")
			switch {
			case k.Value == "org_id" && prefix == "":
				hint = "a service belongs to the organisation it is listed under; move it there instead"
			case prefix == "" && slices.Contains(channelKeys, k.Value):
				hint = "put it under channels:"
			}
			p.fail(k.Line, service, "", "unknown key %q: %s", k.Value, hint)
			continue
		}
		fn(k.Value, k, v)
	}
}

// plain refuses anchors, aliases and explicit tags, which a directory file
// has no use for and which would let one part of a file stand for another.
func (p *fileParser) plain(n *yaml.Node, service, field string) bool {
	switch {
	case n.Kind == yaml.AliasNode:
		p.fail(n.Line, service, field, "aliases (*name) are not supported; write the value out")
		return false
	case n.Anchor != "":
		p.fail(n.Line, service, field, "anchors (&name) are not supported; write the value out")
		return false
	case n.Style&yaml.TaggedStyle != 0:
		p.fail(n.Line, service, field, "tags (!name) are not supported")
		return false
	}
	return true
}

// list returns a sequence's items; null or an empty value is no items.
func (p *fileParser) list(n *yaml.Node, service, field string) []*yaml.Node {
	if !p.plain(n, service, field) || isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		p.fail(n.Line, service, field, "expected a list: one \"- item\" a line, or [a, b]")
		return nil
	}
	return n.Content
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// text reads a scalar as written (a phone number 0700000001 stays a string
// with its leading zero); null is "".
func (p *fileParser) text(n *yaml.Node, service, field string) (string, bool) {
	if !p.plain(n, service, field) {
		return "", false
	}
	if n.Kind != yaml.ScalarNode {
		p.fail(n.Line, service, field, "expected a single value, not a list or keys")
		return "", false
	}
	if isNull(n) {
		return "", true
	}
	return n.Value, true
}

func (p *fileParser) boolean(n *yaml.Node, service, field string) (bool, bool) {
	v, ok := p.text(n, service, field)
	if !ok {
		return false, false
	}
	switch v {
	case "", "false":
		return false, true
	case "true":
		return true, true
	}
	p.fail(n.Line, service, field, "expected true or false")
	return false, false
}

func (p *fileParser) textList(n *yaml.Node, service, field string, pos servicePos) ([]string, bool) {
	ok := p.plain(n, service, field)
	var out []string
	for i, item := range p.list(n, service, field) {
		f := fmt.Sprintf("%s[%d]", field, i)
		pos.fields[f] = item.Line
		v, good := p.text(item, service, f)
		ok = ok && good
		out = append(out, v)
	}
	return out, ok
}

func (p *fileParser) words(n *yaml.Node, service, field string, pos servicePos) (Text, bool) {
	var t Text
	ok := p.plain(n, service, field)
	if !ok || isNull(n) {
		return t, ok
	}
	errsBefore := len(p.errs)
	p.mapping(n, service, field+".", textKeys, func(key string, k, v *yaml.Node) {
		pos.fields[field+"."+key] = k.Line
		s, _ := p.text(v, service, field+"."+key)
		if key == "en" {
			t.EN = s
		} else {
			t.SW = s
		}
	})
	return t, len(p.errs) == errsBefore
}

// org reads one organisation and the services of it that are well formed;
// false when it is not even a mapping.
func (p *fileParser) org(n *yaml.Node) (FileOrg, bool) {
	var fo FileOrg
	var services *yaml.Node
	p.mapping(n, "", "", orgKeys, func(key string, k, v *yaml.Node) {
		switch key {
		case "id":
			fo.ID, _ = p.text(v, "", key)
			fo.idLine = k.Line
		case "name":
			fo.Name, _ = p.text(v, "", key)
			fo.nameLine = k.Line
		case "services":
			services = v
		}
	})
	if n.Kind != yaml.MappingNode {
		return fo, false
	}
	switch {
	case fo.idLine == 0:
		p.fail(n.Line, "", "id", "missing: give the organisation's id (salama org create printed it)")
	case !validID(fo.ID):
		p.fail(fo.idLine, "", "id", "%q is not an organisation id", fo.ID)
	}
	if fo.nameLine == 0 {
		p.fail(n.Line, "", "name", "missing: give the organisation's name, as the database has it")
	}
	if services == nil {
		p.fail(n.Line, "", "services", "missing: list the organisation's services, or write \"services: []\" to remove them all")
	} else {
		for _, sn := range p.list(services, "", "services") {
			s, pos, ok := p.service(sn)
			if ok {
				s.OrgID = fo.ID
				fo.Services = append(fo.Services, s)
				fo.services = append(fo.services, pos)
			}
		}
	}
	return fo, true
}

func (p *fileParser) service(n *yaml.Node) (Service, servicePos, bool) {
	var s Service
	pos := servicePos{line: n.Line, fields: map[string]int{}}
	if n.Kind == yaml.MappingNode {
		// Name the service in every error, whatever the order of its keys.
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k, v := n.Content[i], n.Content[i+1]; k.Value == "id" && v.Kind == yaml.ScalarNode {
				s.ID = v.Value
			}
		}
	}
	id := s.ID
	errsBefore := len(p.errs)
	str := func(v *yaml.Node, field string) string {
		t, _ := p.text(v, id, field)
		return t
	}
	p.mapping(n, id, "", serviceKeys, func(key string, k, v *yaml.Node) {
		pos.fields[key] = k.Line
		switch key {
		case "id":
			s.ID = str(v, key)
		case "name":
			s.Name = str(v, key)
		case "type":
			s.Type = ServiceType(str(v, key))
		case "description":
			s.Description, _ = p.words(v, id, key, pos)
		case "national":
			s.National, _ = p.boolean(v, id, key)
		case "counties":
			s.Counties, _ = p.textList(v, id, key, pos)
		case "ages":
			s.Ages = AgeGroup(str(v, key))
		case "genders":
			gs, _ := p.textList(v, id, key, pos)
			for _, g := range gs {
				s.Genders = append(s.Genders, Gender(g))
			}
		case "languages":
			s.Languages, _ = p.textList(v, id, key, pos)
		case "hours":
			s.Hours, _ = p.words(v, id, key, pos)
		case "channels":
			if isNull(v) {
				break // no channels: Validate says what to add
			}
			p.mapping(v, id, "channels.", channelKeys, func(key string, k, v *yaml.Node) {
				field := "channels." + key
				pos.fields[field] = k.Line
				switch key {
				case "phone":
					s.Channels.Phone = str(v, field)
				case "sms":
					s.Channels.SMS = str(v, field)
				case "whatsapp":
					s.Channels.WhatsApp = str(v, field)
				case "walk_in":
					s.Channels.WalkIn, _ = p.words(v, id, field, pos)
				case "website":
					s.Channels.Website = str(v, field)
				}
			})
		case "cost":
			s.Cost, _ = p.words(v, id, key, pos)
		case "free":
			s.Free, _ = p.boolean(v, id, key)
		case "child_protection":
			s.ChildProtection, _ = p.boolean(v, id, key)
		}
	})
	if n.Kind == yaml.MappingNode && pos.fields["id"] == 0 {
		p.fail(n.Line, "", "id", "missing: every service needs an id (a-z, 0-9, '.', '-', '_')")
	}
	return s, pos, len(p.errs) == errsBefore
}

// --- comparing a file with the stored directory ---------------------------

// Changes are what importing a file changes, organisation by organisation.
type Changes struct {
	Orgs []OrgChanges
}

// OrgChanges are the changes to one organisation's services. The file is
// the whole list of the organisation's services: a stored service that the
// file does not list is removed.
type OrgChanges struct {
	Org       Org
	Added     []Service
	Changed   []Change
	Removed   []Service
	Unchanged int
}

// Count is how many services the organisation's changes add, change or
// remove.
func (o OrgChanges) Count() int { return len(o.Added) + len(o.Changed) + len(o.Removed) }

// Change is one service that the file changes.
type Change struct {
	Old, New Service
	Fields   []string // what differs: "name", "counties", "channels", "org" …
}

// Changes compares the file with the stored directory: orgs are the
// organisations that exist, current every stored service. It fails, naming
// the line, for an organisation that does not exist or whose name differs
// from the stored one (a sign the services are under the wrong id), and for
// a service id that belongs to an organisation the file does not list
// (importing would silently take it from that organisation).
func (f *File) Changes(orgs []Org, current []Service) (*Changes, error) {
	p := &fileParser{}
	known := map[string]Org{}
	for _, o := range orgs {
		known[o.ID] = o
	}
	listed := map[string]bool{}
	inFile := map[string]bool{}
	for _, fo := range f.Orgs {
		listed[fo.ID] = true
		for _, s := range fo.Services {
			inFile[s.ID] = true
		}
	}
	stored := map[string]Service{}
	for _, s := range current {
		stored[s.ID] = s
	}
	plan := &Changes{}
	for _, fo := range f.Orgs {
		o, ok := known[fo.ID]
		if !ok {
			p.fail(fo.idLine, "", "id", "there is no organisation %q; create it first with salama org create", fo.ID)
			continue
		}
		if o.Name != fo.Name {
			p.fail(fo.nameLine, "", "name", "organisation %s is called %q, not %q: check that these services are under the right id", fo.ID, o.Name, fo.Name)
			continue
		}
		oc := OrgChanges{Org: o}
		for i, s := range fo.Services {
			old, exists := stored[s.ID]
			switch {
			case !exists:
				oc.Added = append(oc.Added, s)
			case old.OrgID != fo.ID && !listed[old.OrgID]:
				name := known[old.OrgID].Name
				p.fail(fo.services[i].lineOf("id"), s.ID, "id", "this id belongs to %q (%s), which this file does not list; choose another id, or list that organisation too", name, old.OrgID)
			case sameService(old, s):
				oc.Unchanged++
			default:
				oc.Changed = append(oc.Changed, Change{Old: old, New: s, Fields: changedFields(old, s)})
			}
		}
		for _, s := range current {
			if s.OrgID == fo.ID && !inFile[s.ID] {
				oc.Removed = append(oc.Removed, s)
			}
		}
		plan.Orgs = append(plan.Orgs, oc)
	}
	if len(p.errs) > 0 {
		return nil, p.errs
	}
	return plan, nil
}

// Put returns the services to create or replace.
func (p *Changes) Put() []Service {
	var out []Service
	for _, o := range p.Orgs {
		out = append(out, o.Added...)
		for _, c := range o.Changed {
			out = append(out, c.New)
		}
	}
	return out
}

// Remove returns the ids of the services to delete.
func (p *Changes) Remove() []string {
	var out []string
	for _, o := range p.Orgs {
		for _, s := range o.Removed {
			out = append(out, s.ID)
		}
	}
	return out
}

// Count is how many services the import adds, changes or removes.
func (p *Changes) Count() int {
	n := 0
	for _, o := range p.Orgs {
		n += o.Count()
	}
	return n
}

// Format writes the changes for a person: one block per organisation, a line
// per service added (+), changed (~, with the fields) or removed (-).
func (p *Changes) Format(w io.Writer) error {
	var b strings.Builder
	for _, o := range p.Orgs {
		fmt.Fprintf(&b, "%s (%s): %d added, %d changed, %d removed, %d unchanged\n",
			o.Org.Name, o.Org.ID, len(o.Added), len(o.Changed), len(o.Removed), o.Unchanged)
		for _, s := range o.Added {
			fmt.Fprintf(&b, "  + %s  %q\n", s.ID, s.Name)
		}
		for _, c := range o.Changed {
			fmt.Fprintf(&b, "  ~ %s  %s\n", c.New.ID, strings.Join(c.Fields, ", "))
		}
		for _, s := range o.Removed {
			fmt.Fprintf(&b, "  - %s  %q\n", s.ID, s.Name)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Equal reports whether two services are the same in every field.
func (s Service) Equal(o Service) bool { return sameService(s, o) }

// changedFields names the fields in which two versions of a service differ,
// in file order.
func changedFields(a, b Service) []string {
	var out []string
	add := func(name string, same bool) {
		if !same {
			out = append(out, name)
		}
	}
	add("org", a.OrgID == b.OrgID)
	add("name", a.Name == b.Name)
	add("type", a.Type == b.Type)
	add("description", a.Description == b.Description)
	add("national", a.National == b.National)
	add("counties", slices.Equal(a.Counties, b.Counties))
	add("ages", a.Ages == b.Ages)
	add("genders", slices.Equal(a.Genders, b.Genders))
	add("languages", slices.Equal(a.Languages, b.Languages))
	add("hours", a.Hours == b.Hours)
	add("channels", a.Channels == b.Channels)
	add("cost", a.Cost == b.Cost)
	add("free", a.Free == b.Free)
	add("child_protection", a.ChildProtection == b.ChildProtection)
	return out
}

// --- writing a file -------------------------------------------------------

// fileHeader opens every exported file. It is a comment: importing ignores
// it, and exporting writes it the same way each time.
var fileHeader = func() string {
	lines := []string{
		"Salama directory: the network's organisations and the services each offers.",
		"",
		"Check with:  salama directory import --dry-run FILE",
		"Import with: salama directory import FILE",
		"",
		"The file is the whole list of services of every organisation it names: a",
		"service of a listed organisation that is not in the file is removed when the",
		"file is imported, and an organisation with \"services: []\" loses them all.",
		"Organisations not named are left alone. Organisations are created (with their",
		"keys) by \"salama org create\", never here. The national lines 999, 112, 1195",
		"and 116 are built in and never listed.",
		"",
		"A service: id (a-z 0-9 . - _, never changes), name, type, description (en/sw),",
		"national (true: serves all of Kenya), counties, ages, genders (none: everyone),",
		"languages, hours (en/sw), channels (phone, sms, whatsapp, walk_in en/sw,",
		"website), cost (en/sw), free (true/false), child_protection (true: the network",
		"coordinator marks it as a child-protection service, the only kind the",
		"child-protection override may send a child's report to without consent).",
	}
	var vocab []string
	for _, t := range serviceTypes {
		vocab = append(vocab, string(t))
	}
	lines = append(lines, "")
	lines = append(lines, wrapList("type: ", vocab)...)
	lines = append(lines, "ages: children, adults, all")
	var gs []string
	for _, g := range genders {
		gs = append(gs, string(g))
	}
	lines = append(lines, wrapList("genders: ", gs)...)
	lines = append(lines, wrapList("languages: ", languages)...)
	lines = append(lines, wrapList("counties: ", counties[:])...)
	for i, l := range lines {
		lines[i] = strings.TrimRight("# "+l, " ")
	}
	return strings.Join(lines, "\n")
}()

// wrapList writes words after a label, wrapped at 78 columns.
func wrapList(label string, words []string) []string {
	var out []string
	line := label
	for i, w := range words {
		if i < len(words)-1 {
			w += ","
		}
		if len(line)+1+len(w) > 76 && line != label {
			out = append(out, line)
			line = strings.Repeat(" ", len(label)) + w
			continue
		}
		if line != label {
			line += " "
		}
		line += w
	}
	return append(out, line)
}

// MarshalFile writes a directory file: every organisation of orgs, in the
// order given, with its services from services, by id. An organisation
// without services is written with "services: []". It fails for a service
// whose organisation is not in orgs. The output is the same for the same
// directory, byte for byte, so an export can be compared with the last one.
func MarshalFile(orgs []Org, services []Service) ([]byte, error) {
	byOrg := map[string][]Service{}
	listed := map[string]bool{}
	for _, o := range orgs {
		listed[o.ID] = true
	}
	for _, s := range services {
		if !listed[s.OrgID] {
			return nil, fmt.Errorf("directory: service %q belongs to organisation %q, which is not being written", s.ID, s.OrgID)
		}
		byOrg[s.OrgID] = append(byOrg[s.OrgID], s)
	}
	orgList := &yaml.Node{Kind: yaml.SequenceNode}
	for _, o := range orgs {
		svcs := slices.Clone(byOrg[o.ID])
		slices.SortStableFunc(svcs, func(a, b Service) int { return strings.Compare(a.ID, b.ID) })
		list := &yaml.Node{Kind: yaml.SequenceNode}
		if len(svcs) == 0 {
			list.Style = yaml.FlowStyle
		}
		for _, s := range svcs {
			list.Content = append(list.Content, serviceNode(s))
		}
		orgList.Content = append(orgList.Content, mapNode("id", strNode(o.ID), "name", strNode(o.Name), "services", list))
	}
	root := mapNode("version", &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.Itoa(FileVersion)}, "organisations", orgList)
	doc := &yaml.Node{Kind: yaml.DocumentNode, HeadComment: fileHeader, Content: []*yaml.Node{root}}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("directory: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("directory: %w", err)
	}
	return buf.Bytes(), nil
}

func serviceNode(s Service) *yaml.Node {
	var kv []any
	add := func(key string, n *yaml.Node) {
		if n != nil {
			kv = append(kv, key, n)
		}
	}
	add("id", strNode(s.ID))
	add("name", strNode(s.Name))
	add("type", strNode(string(s.Type)))
	add("description", textNode(s.Description))
	if s.National {
		add("national", boolNode(true))
	}
	add("counties", listNode(s.Counties))
	add("ages", strNode(string(s.Ages)))
	var gs []string
	for _, g := range s.Genders {
		gs = append(gs, string(g))
	}
	add("genders", listNode(gs))
	add("languages", listNode(s.Languages))
	add("hours", textNode(s.Hours))
	c := s.Channels
	var ch []any
	for _, f := range []struct {
		key string
		n   *yaml.Node
	}{
		{"phone", optStr(c.Phone)}, {"sms", optStr(c.SMS)}, {"whatsapp", optStr(c.WhatsApp)},
		{"walk_in", textNode(c.WalkIn)}, {"website", optStr(c.Website)},
	} {
		if f.n != nil {
			ch = append(ch, f.key, f.n)
		}
	}
	if len(ch) > 0 {
		add("channels", mapNode(ch...))
	}
	add("cost", textNode(s.Cost))
	if s.Free {
		add("free", boolNode(true))
	}
	if s.ChildProtection {
		add("child_protection", boolNode(true))
	}
	return mapNode(kv...)
}

// mapNode builds a mapping from key, value, key, value … (keys are strings).
func mapNode(kv ...any) *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode}
	for i := 0; i+1 < len(kv); i += 2 {
		n.Content = append(n.Content, strNode(kv[i].(string)), kv[i+1].(*yaml.Node))
	}
	return n
}

// strNode is a string; the encoder quotes it when it would otherwise read
// as something else ("999", "true", "").
func strNode(v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v} }

func optStr(v string) *yaml.Node {
	if v == "" {
		return nil
	}
	return strNode(v)
}

func boolNode(v bool) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(v)}
}

// listNode is a one-line list, [a, b, c]; nil when empty.
func listNode(items []string) *yaml.Node {
	if len(items) == 0 {
		return nil
	}
	n := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
	for _, it := range items {
		n.Content = append(n.Content, strNode(it))
	}
	return n
}

// textNode is en/sw, each only when given; nil when both are empty.
func textNode(t Text) *yaml.Node {
	if t.IsZero() {
		return nil
	}
	var kv []any
	if t.EN != "" {
		kv = append(kv, "en", strNode(t.EN))
	}
	if t.SW != "" {
		kv = append(kv, "sw", strNode(t.SW))
	}
	return mapNode(kv...)
}
