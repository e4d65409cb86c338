package formbody

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

var testLimits = Limits{Text: 4 << 10, Fields: 50, FileField: "files", File: 64 << 10, Files: 3}

// part is one field of a multipart body: text, or a file when file is set.
type part struct {
	name, value string
	file        []byte
	isFile      bool
}

func multipartBody(t testing.TB, parts ...part) (string, []byte) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for _, p := range parts {
		if p.isFile {
			fw, err := w.CreateFormFile(p.name, "shot.png")
			if err != nil {
				t.Fatal(err)
			}
			fw.Write(p.file)
			continue
		}
		w.WriteField(p.name, p.value)
	}
	w.Close()
	return w.FormDataContentType(), b.Bytes()
}

func parse(t testing.TB, ct string, body []byte, o Options) *Form {
	t.Helper()
	f, err := Parse(context.Background(), ct, bytes.NewReader(body), int64(len(body)), o)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return f
}

func TestURLEncoded(t *testing.T) {
	f := parse(t, "application/x-www-form-urlencoded",
		[]byte("narrative=Nilitumiwa+picha%21&what=a&what=b&&empty=&bad=%zz%4&plus=%2B"), Options{Limits: testLimits})
	want := url.Values{"narrative": {"Nilitumiwa picha!"}, "what": {"a", "b"}, "empty": {""}, "bad": {"%zz%4"}, "plus": {"+"}}
	if f.Cut || !equalValues(f.Values, want) {
		t.Errorf("got %v cut=%v, want %v", f.Values, f.Cut, want)
	}
}

// Text beyond the cap is not read: what arrived is kept (the last value in
// part) and the form is marked cut.
func TestTextCap(t *testing.T) {
	long := strings.Repeat("maneno ", 5000) // 35,000 bytes against a 4 KB cap
	for _, tc := range []struct {
		name string
		ct   string
		body []byte
	}{
		{"urlencoded", "application/x-www-form-urlencoded", []byte("token=t1&narrative=" + url.QueryEscape(long) + "&phone=0712")},
		{"multipart", "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.body == nil {
				tc.ct, tc.body = multipartBody(t, part{name: "token", value: "t1"}, part{name: "narrative", value: long}, part{name: "phone", value: "0712"})
			}
			f := parse(t, tc.ct, tc.body, Options{Limits: testLimits})
			if !f.Cut {
				t.Fatal("not cut")
			}
			n := f.Values.Get("narrative")
			if f.Values.Get("token") != "t1" || !strings.HasPrefix(long, n) || len(n) < 2<<10 {
				t.Errorf("what arrived is not kept: token %q, narrative %d bytes", f.Values.Get("token"), len(n))
			}
			if len(n) > int(testLimits.Text+readAhead) {
				t.Errorf("held %d bytes of text, cap %d", len(n), testLimits.Text)
			}
			if f.Values.Has("phone") {
				t.Error("a field after the cut arrived")
			}
		})
	}
}

func TestFieldsCap(t *testing.T) {
	body := strings.Repeat("id_value=a&", 200)
	f := parse(t, "application/x-www-form-urlencoded", []byte(body), Options{Limits: Limits{Text: 1 << 20, Fields: 20}})
	if !f.Cut || len(f.Values["id_value"]) != 20 {
		t.Errorf("cut %v, %d values", f.Cut, len(f.Values["id_value"]))
	}
	ct, mbody := multipartBody(t, slices.Repeat([]part{{name: "id_value", value: "a"}}, 200)...)
	f = parse(t, ct, mbody, Options{Limits: Limits{Text: 1 << 20, Fields: 20}})
	if !f.Cut || len(f.Values["id_value"]) != 20 {
		t.Errorf("multipart: cut %v, %d values", f.Cut, len(f.Values["id_value"]))
	}
}

// Files are kept whole up to their cap; a file over it, and files beyond
// the count, are dropped without losing the text around them.
func TestFiles(t *testing.T) {
	small, exact, big := bytes.Repeat([]byte{1}, 1000), bytes.Repeat([]byte{2}, 64<<10), bytes.Repeat([]byte{3}, 64<<10+1)
	ct, body := multipartBody(t,
		part{name: "narrative", value: "before"},
		part{name: "files", isFile: true}, // the empty input a browser sends
		part{name: "files", file: small, isFile: true},
		part{name: "files", file: big, isFile: true},
		part{name: "files", file: exact, isFile: true},
		part{name: "phone", value: "after"},
	)
	f := parse(t, ct, body, Options{Limits: testLimits})
	if f.Cut || !f.TooBig || f.TooMany || f.FilesSent != 3 || len(f.Files) != 2 {
		t.Fatalf("cut %v too big %v too many %v sent %d kept %d", f.Cut, f.TooBig, f.TooMany, f.FilesSent, len(f.Files))
	}
	if !bytes.Equal(f.Files[0], small) || !bytes.Equal(f.Files[1], exact) {
		t.Error("files not kept as sent")
	}
	if f.Values.Get("narrative") != "before" || f.Values.Get("phone") != "after" {
		t.Errorf("text lost: %v", f.Values)
	}
	// A kept file cannot grow into the next one.
	if cap(f.Files[0]) != len(f.Files[0]) {
		t.Error("a file's capacity reaches past its end")
	}

	parts := []part{}
	for i := range 5 {
		parts = append(parts, part{name: "files", file: []byte{byte(i + 1)}, isFile: true})
	}
	ct, body = multipartBody(t, parts...)
	f = parse(t, ct, body, Options{Limits: testLimits})
	if !f.TooMany || len(f.Files) != 3 || f.FilesSent != 5 {
		t.Errorf("too many: %v, kept %d of %d", f.TooMany, len(f.Files), f.FilesSent)
	}
}

// A body whose length is not declared (chunked) is read the same way.
func TestUnknownLength(t *testing.T) {
	data := bytes.Repeat([]byte("png!"), 10<<10)
	ct, body := multipartBody(t, part{name: "a", value: "b"}, part{name: "files", file: data, isFile: true})
	f, err := Parse(context.Background(), ct, io.MultiReader(bytes.NewReader(body)), -1, Options{Limits: testLimits})
	if err != nil || len(f.Files) != 1 || !bytes.Equal(f.Files[0], data) || f.Values.Get("a") != "b" {
		t.Fatalf("err %v, %d files", err, len(f.Files))
	}
}

// The whole body is capped too: a file far over every cap cuts the form,
// keeping the text that came before it.
func TestBodyCap(t *testing.T) {
	huge := bytes.Repeat([]byte{9}, int(testLimits.Body())+1)
	ct, body := multipartBody(t, part{name: "narrative", value: "maneno"}, part{name: "files", file: huge, isFile: true}, part{name: "phone", value: "x"})
	f := parse(t, ct, body, Options{Limits: testLimits})
	if !f.Cut || f.Values.Get("narrative") != "maneno" || len(f.Files) != 0 {
		t.Errorf("cut %v, values %v, %d files", f.Cut, f.Values, len(f.Files))
	}
}

func TestKeepFiles(t *testing.T) {
	ct, body := multipartBody(t, part{name: "add_row", value: "1"}, part{name: "files", file: []byte("x"), isFile: true})
	var asked url.Values
	f := parse(t, ct, body, Options{Limits: testLimits, KeepFiles: func(v url.Values) bool { asked = v; return v.Get("add_row") == "" }})
	if asked.Get("add_row") != "1" || len(f.Files) != 0 || f.FilesSent != 1 || f.Busy {
		t.Errorf("asked %v, kept %d, sent %d", asked, len(f.Files), f.FilesSent)
	}
}

// Files reserve their bytes before they are read; without room in time,
// they are dropped and the words kept.
func TestBudget(t *testing.T) {
	b := NewBudget(100<<10, 50*time.Millisecond)
	data := bytes.Repeat([]byte{7}, 60<<10)
	ct, body := multipartBody(t, part{name: "narrative", value: "maneno"}, part{name: "files", file: data, isFile: true})
	first := parse(t, ct, body, Options{Limits: testLimits, Memory: b})
	if len(first.Files) != 1 || first.Busy || b.Held() < int64(len(data)) {
		t.Fatalf("first: %d files, busy %v, held %d", len(first.Files), first.Busy, b.Held())
	}
	second := parse(t, ct, body, Options{Limits: testLimits, Memory: b})
	if !second.Busy || len(second.Files) != 0 || second.FilesSent != 1 || second.Values.Get("narrative") != "maneno" || b.Refused() != 1 {
		t.Fatalf("second: busy %v, %d files, values %v", second.Busy, len(second.Files), second.Values)
	}
	first.Release()
	first.Release() // twice is harmless
	if b.Held() != 0 {
		t.Fatalf("held %d after release", b.Held())
	}
	third := parse(t, ct, body, Options{Limits: testLimits, Memory: b})
	if len(third.Files) != 1 {
		t.Fatal("room given back was not reused")
	}
	third.Release()
	if b.Peak() > b.Size() {
		t.Errorf("peak %d over the budget %d", b.Peak(), b.Size())
	}
}

func TestNotAForm(t *testing.T) {
	for _, ct := range []string{"application/json", "multipart/form-data", "text/plain; charset=utf-8", ";;"} {
		if _, err := Parse(context.Background(), ct, strings.NewReader("{}"), 2, Options{Limits: testLimits}); err != ErrNotForm {
			t.Errorf("%q: err %v", ct, err)
		}
	}
	f, err := Parse(context.Background(), "", strings.NewReader(""), 0, Options{Limits: testLimits})
	if err != nil || len(f.Values) != 0 {
		t.Errorf("empty body: %v %v", f, err)
	}
}

// Nothing is ever written to disk: not even a file far over net/http's
// in-memory limit of ParseMultipartForm.
func TestNoTempFiles(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("TMPDIR", dir)
	data := bytes.Repeat([]byte("secret-screenshot-bytes"), 100<<10) // 2.3 MB
	ct, body := multipartBody(t, part{name: "files", file: data, isFile: true})
	f := parse(t, ct, body, Options{Limits: Limits{Text: 4 << 10, Fields: 10, FileField: "files", File: 5 << 20, Files: 5}})
	if len(f.Files) != 1 || !bytes.Equal(f.Files[0], data) {
		t.Fatal("file not kept")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("%d files in TMPDIR", len(entries))
	}
}

func equalValues(a, b url.Values) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !slices.Equal(v, b[k]) {
			return false
		}
	}
	return true
}

// FuzzURLEncoded: any body parses without panicking, within the caps, and
// where url.ParseQuery accepts a body that fits, both read the same fields.
func FuzzURLEncoded(f *testing.F) {
	f.Add("a=1&b=2&a=3")
	f.Add("narrative=a+b%20c&&=x&y&%zz=%4")
	f.Add("=&&=&a")
	f.Fuzz(func(t *testing.T, raw string) {
		lim := Limits{Text: 256, Fields: 16}
		got := parse(t, "application/x-www-form-urlencoded", []byte(raw), Options{Limits: lim})
		checkCaps(t, got, lim)
		want, err := url.ParseQuery(raw)
		if err != nil || len(raw) > int(lim.Text) || got.Cut {
			return
		}
		if !equalValues(got.Values, want) {
			t.Fatalf("%q: got %v, url.ParseQuery %v", raw, got.Values, want)
		}
	})
}

// FuzzMultipart: fields and files written by mime/multipart come back as
// written when they fit; a damaged body of any shape parses without
// panicking and within the caps.
func FuzzMultipart(f *testing.F) {
	f.Add([]byte("narrative\x00maneno\x00files\x00\x89PNG\x00phone\x000712"), 0)
	f.Add([]byte("files\x00a\x00files\x00b\x00files\x00c\x00files\x00d"), 7)
	f.Add([]byte("--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n--b--\r\n"), -1)
	f.Fuzz(func(t *testing.T, spec []byte, damage int) {
		lim := Limits{Text: 512, Fields: 8, FileField: "files", File: 64, Files: 2}
		fields := bytes.Split(spec, []byte{0})
		var parts []part
		for i := 0; i+1 < len(fields); i += 2 {
			name := string(fields[i])
			if name == "files" {
				parts = append(parts, part{name: name, file: fields[i+1], isFile: true})
			} else if name != "" {
				parts = append(parts, part{name: name, value: string(fields[i+1])})
			}
		}
		ct, body := multipartBody(t, parts...)
		if damage < 0 { // the spec is a raw body
			ct, body = "multipart/form-data; boundary=b", spec
		} else if damage > 0 && len(body) > 0 {
			body = body[:damage%len(body)]
		}
		got := parse(t, ct, body, Options{Limits: lim})
		checkCaps(t, got, lim)
		if damage != 0 || got.Cut || len(body) > int(lim.Text) {
			return
		}
		// Whole and within the caps: every field as written.
		want := url.Values{}
		var files [][]byte
		for _, p := range parts {
			if p.isFile {
				if len(p.file) > 0 {
					files = append(files, p.file)
				}
				continue
			}
			want.Add(p.name, p.value)
		}
		if len(parts) > lim.Fields {
			return
		}
		if !equalValues(got.Values, want) {
			t.Fatalf("values %v, want %v", got.Values, want)
		}
		if got.TooBig || got.TooMany {
			return
		}
		if !slices.EqualFunc(got.Files, files, bytes.Equal) {
			t.Fatalf("files %q, want %q", got.Files, files)
		}
	})
}

func checkCaps(t *testing.T, f *Form, lim Limits) {
	t.Helper()
	text := 0
	for k, vs := range f.Values {
		for _, v := range vs {
			text += len(k) + len(v)
		}
	}
	if int64(text) > lim.Text+readAhead {
		t.Fatalf("%d bytes of text held, cap %d", text, lim.Text)
	}
	if len(f.Files) > lim.Files {
		t.Fatalf("%d files kept, at most %d", len(f.Files), lim.Files)
	}
	for _, b := range f.Files {
		if int64(len(b)) > lim.File || len(b) == 0 {
			t.Fatalf("kept a file of %d bytes", len(b))
		}
	}
}
