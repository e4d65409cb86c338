// Package formbody reads HTML form submissions (URL-encoded or multipart)
// within byte caps fitted to each form, in memory only.
//
// It exists because net/http's own parsers do the wrong thing for Salama:
// ParseMultipartForm writes every file over its memory limit to a temporary
// file, in clear, where a crash leaves it; ParseForm reads a URL-encoded body
// whole (up to 10 MB) before a single field is looked at. Here the body is
// read as a stream: text is held up to a cap derived from the longest honest
// answer, files up to their own cap, after their bytes have been reserved
// from a memory budget shared by every request.
//
// It must never write anything to disk, never hold more than its caps, and
// never present a form that did not arrive whole as complete: a body cut off
// at a cap comes back as what arrived, marked Cut, so that a handler can show
// the words to the person who typed them without acting on them.
package formbody

import (
	"bufio"
	"context"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"
)

// Limits are what one form may send.
type Limits struct {
	// Text bounds everything in the body that is not a file's content, as
	// sent: names, values (percent-encoded or not), separators, multipart
	// boundaries and part headers. Derive it from the longest honest answer
	// the form can hold, with a margin.
	Text int64
	// Fields bounds how many fields (name=value pairs, or parts) arrive.
	Fields int
	// FileField names the one field whose multipart parts are files; ""
	// for a form without files, whose parts are all text.
	FileField string
	// File bounds one file's bytes; Files how many files are kept.
	File  int64
	Files int
}

// partSlack is what a file part adds to its content: boundary and part
// headers, as a browser writes them (about 150 bytes), with room to spare.
const partSlack = 1 << 10

// Body is the most a body within these limits can be: its text, and Files
// files of File bytes each. Files over File are read (and dropped) within
// this total, so a too-big screenshot does not cut off the text after it
// unless it alone is bigger than all the files allowed.
func (l Limits) Body() int64 {
	return l.Text + int64(l.Files)*(l.File+partSlack)
}

// Options are how one request is read.
type Options struct {
	Limits
	// Memory, when set, is the budget file bytes are reserved from before
	// they are read. Without a reservation within the budget's wait, the
	// files are read and dropped (Form.Busy) and the text is kept.
	Memory *Budget
	// KeepFiles, when set, is asked at the first file part, with the
	// values that arrived before it, whether the files are wanted at all
	// (not when a form is only being redrawn, or the request is refused
	// anyway). Files not wanted are read and dropped, never held.
	KeepFiles func(url.Values) bool
}

// Form is what arrived.
type Form struct {
	Values url.Values
	// Files are the contents of the non-empty file parts kept, in order.
	Files [][]byte

	// Cut: the body went past a cap (text, fields or the whole body), or
	// ended early. Values hold what arrived before the cut, the last one
	// perhaps only in part: show them, never act on them.
	Cut bool
	// FilesSent counts the non-empty file parts that arrived, kept or not.
	FilesSent int
	// TooBig: a file was over Limits.File. TooMany: more than
	// Limits.Files were sent. Busy: the memory budget had no room within
	// its wait. Neither too-big nor extra files are kept; busy keeps none.
	TooBig, TooMany, Busy bool

	release func()
}

// Release gives back the memory reserved for the files. Call it once the
// files are no longer needed (the report is stored or the page answered).
func (f *Form) Release() {
	if f.release != nil {
		f.release()
		f.release = nil
	}
}

// Errors of Read.
var (
	// ErrNotForm: the body is neither URL-encoded nor multipart/form-data.
	ErrNotForm = errors.New("formbody: not a form")
)

// Read reads r's body as a form within o. Only a body that is not a form at
// all is an error; a body cut off or broken part-way is returned as what
// arrived, with Cut set.
func Read(r *http.Request, o Options) (*Form, error) {
	return Parse(r.Context(), r.Header.Get("Content-Type"), r.Body, r.ContentLength, o)
}

// Parse is Read on a content type and a body of the declared length (-1
// when unknown).
func Parse(ctx context.Context, contentType string, body io.Reader, length int64, o Options) (*Form, error) {
	f := &Form{Values: url.Values{}}
	if body == nil || length == 0 {
		return f, nil
	}
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return nil, ErrNotForm
	}
	m := &meter{r: body, text: o.Text, body: o.Body()}
	switch mt {
	case "application/x-www-form-urlencoded":
		readURLEncoded(bufio.NewReaderSize(m, 4096), o, f)
	case "multipart/form-data":
		boundary := params["boundary"]
		if boundary == "" {
			return nil, ErrNotForm
		}
		rd := &multipartReader{ctx: ctx, o: o, f: f, m: m, length: length}
		rd.read(multipart.NewReader(m, boundary))
	default:
		return nil, ErrNotForm
	}
	if errors.Is(m.err, errCap) {
		f.Cut = true
	}
	return f, nil
}

// errCap stops reading at a cap.
var errCap = errors.New("formbody: over the cap")

// readAhead is how much text the multipart reader may have read from the
// body but not yet handed over: its buffer, with room to spare.
const readAhead = 8 << 10

// meter counts the body's bytes and stops at the caps: the whole body, and
// the bytes that are not file content. File content is counted by the
// reader as it hands it over (file), so what multipart's buffer read ahead
// blurs the split by at most readAhead.
type meter struct {
	r          io.Reader
	n, file    int64
	text, body int64
	err        error
}

func (m *meter) Read(p []byte) (int, error) {
	if m.err != nil {
		return 0, m.err
	}
	rest := min(m.body-m.n, m.text+readAhead-(m.n-m.file))
	if rest <= 0 {
		m.err = errCap
		return 0, m.err
	}
	if int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := m.r.Read(p)
	m.n += int64(n)
	if err != nil {
		m.err = err
	}
	return n, err
}

// readURLEncoded decodes name=value pairs as they stream in, the way
// url.ParseQuery does, but never refusing a body for a malformed escape:
// "%zz" is kept as typed rather than losing the field.
func readURLEncoded(br *bufio.Reader, o Options, f *Form) {
	var name, value []byte
	inValue, seen, fields := false, false, 0
	emit := func() bool {
		if seen { // "a&&b": the empty pair between is no field
			if fields++; fields > o.Fields {
				f.Cut = true
				return false
			}
			f.Values.Add(unescape(name), unescape(value))
		}
		name, value, inValue, seen = name[:0], value[:0], false, false
		return true
	}
	for {
		c, err := br.ReadByte()
		if err != nil {
			if err != io.EOF {
				f.Cut = true
			}
			emit()
			return
		}
		seen = seen || c != '&'
		switch {
		case c == '&':
			if !emit() {
				return
			}
		case c == '=' && !inValue:
			inValue = true
		case inValue:
			value = append(value, c)
		default:
			name = append(name, c)
		}
	}
}

// unescape decodes one percent-encoded component, '+' as a space; an escape
// that is not two hex digits is kept as it is.
func unescape(b []byte) string {
	var out strings.Builder // one allocation, no copy to make a string of it
	out.Grow(len(b))
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case c == '+':
			out.WriteByte(' ')
		case c == '%' && i+2 < len(b) && ishex(b[i+1]) && ishex(b[i+2]):
			out.WriteByte(unhex(b[i+1])<<4 | unhex(b[i+2]))
			i += 2
		default:
			out.WriteByte(c)
		}
	}
	return out.String()
}

func ishex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// multipartReader reads one multipart body.
type multipartReader struct {
	ctx    context.Context
	o      Options
	f      *Form
	m      *meter
	length int64 // declared body length, -1 when unknown

	decided, keep bool
	arena         []byte // holds the kept files, reserved in one piece
	buf           [4 << 10]byte
}

func (rd *multipartReader) read(mr *multipart.Reader) {
	fields := 0
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return
		}
		if err != nil {
			rd.f.Cut = true
			return
		}
		if fields++; fields > rd.o.Fields {
			rd.f.Cut = true
			return
		}
		name := p.FormName()
		if rd.o.FileField != "" && name == rd.o.FileField {
			if !rd.file(p) {
				return
			}
			continue
		}
		// Text, as far as the meter lets it come: a value cut off at the
		// cap is kept as far as it came, and the form is marked Cut.
		v, err := rd.text(p)
		if name != "" {
			rd.f.Values.Add(name, v)
		}
		if err != nil {
			rd.f.Cut = true
			return
		}
	}
}

// text reads a text part as far as it goes: all of it, or what came
// before the cap or a broken body (with the error).
func (rd *multipartReader) text(p *multipart.Part) (string, error) {
	var v strings.Builder
	for {
		n, err := p.Read(rd.buf[:])
		v.Write(rd.buf[:n])
		if err == io.EOF {
			return v.String(), nil
		}
		if err != nil {
			return v.String(), err
		}
	}
}

// file reads one file part; false stops the form (cut).
func (rd *multipartReader) file(p *multipart.Part) bool {
	f, o := rd.f, rd.o
	if !rd.decided {
		rd.decided = true
		rd.keep = o.KeepFiles == nil || o.KeepFiles(f.Values)
		if rd.keep {
			rd.keep = rd.reserve()
		}
	}
	start := len(rd.arena)
	keep := rd.keep && len(f.Files) < o.Files
	var n int64
	for {
		if keep && len(rd.arena) == cap(rd.arena) && n <= o.File {
			// No arena (length unknown) or it is full: grow, within the
			// file cap. Only a body without a declared length gets here.
			rd.grow(o.File + 1 - n)
		}
		var buf []byte
		if keep {
			buf = rd.arena[len(rd.arena):cap(rd.arena)]
			if rest := o.File + 1 - n; int64(len(buf)) > rest {
				buf = buf[:rest]
			}
		} else {
			buf = discard[:]
		}
		k, err := p.Read(buf)
		n += int64(k)
		rd.m.file += int64(k)
		if keep {
			rd.arena = rd.arena[:len(rd.arena)+k]
			if n > o.File {
				keep = false // too big: drop what was kept of it, read on
				rd.arena = rd.arena[:start]
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			rd.arena = rd.arena[:start]
			f.Cut = true
			return false
		}
	}
	if n == 0 {
		return true // the empty file input a browser sends
	}
	f.FilesSent++
	switch {
	case n > o.File:
		f.TooBig = true
	case f.FilesSent > o.Files:
		f.TooMany = true
	case keep:
		f.Files = append(f.Files, rd.arena[start:len(rd.arena):len(rd.arena)])
	}
	return true
}

var discard [32 << 10]byte

// reserve takes, from the memory budget, room for every file still to
// come: the rest of the declared body (files come last in Salama's forms),
// at most Files × File. The arena is allocated once, at that size, so that
// reading files makes no garbage; a body of unknown length grows per file.
func (rd *multipartReader) reserve() bool {
	o, f := rd.o, rd.f
	want := int64(o.Files) * (o.File + 1)
	if rd.length > 0 {
		want = min(want, rd.length-rd.m.n+readAhead)
	}
	if o.Memory != nil {
		release, ok := o.Memory.reserve(rd.ctx, want)
		if !ok {
			f.Busy = true
			return false
		}
		f.release = release
	}
	if rd.length > 0 {
		rd.arena = make([]byte, 0, want)
	}
	return true
}

// grow makes room for up to n more bytes of a file in a body without a
// declared length (or longer than it declared), doubling.
func (rd *multipartReader) grow(n int64) {
	next := make([]byte, len(rd.arena), int64(len(rd.arena))+min(n, max(int64(cap(rd.arena)), 64<<10)))
	copy(next, rd.arena)
	// Files kept so far keep pointing into the old arena: they are whole.
	rd.arena = next
}

// Budget bounds the file bytes held by all requests at once. A request
// reserves room for its files before reading them and gives it back when it
// is done (Form.Release); one that cannot get room within Wait has its
// files dropped (Form.Busy) rather than waiting without end.
type Budget struct {
	size int64
	wait time.Duration
	sem  *semaphore.Weighted

	mu         sync.Mutex
	held, peak int64
	refused    atomic.Int64
}

// NewBudget returns a budget of size bytes whose reservations wait at most
// wait.
func NewBudget(size int64, wait time.Duration) *Budget {
	return &Budget{size: size, wait: wait, sem: semaphore.NewWeighted(size)}
}

// Size is the budget's size in bytes.
func (b *Budget) Size() int64 { return b.size }

// Held is how many bytes are reserved now.
func (b *Budget) Held() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.held
}

// Peak is the most bytes ever reserved at once.
func (b *Budget) Peak() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.peak
}

// Refused counts reservations that found no room within the wait.
func (b *Budget) Refused() int64 { return b.refused.Load() }

func (b *Budget) reserve(ctx context.Context, n int64) (release func(), ok bool) {
	// One request never needs more than the whole budget; asking for more
	// would wait forever.
	n = min(n, b.size)
	ctx, cancel := context.WithTimeout(ctx, b.wait)
	defer cancel()
	err := b.sem.Acquire(ctx, n)
	if err != nil {
		b.refused.Add(1)
		return nil, false
	}
	b.mu.Lock()
	b.held += n
	b.peak = max(b.peak, b.held)
	b.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			b.mu.Lock()
			b.held -= n
			b.mu.Unlock()
			b.sem.Release(n)
		})
	}, true
}
