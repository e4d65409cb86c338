package web

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
)

// On 2G every kilobyte is seconds, so pages are gzipped. But a gzip writer
// holds about 800 KB of tables, and with one per connection a thousand
// connections held a gigabyte. So:
//
//   - pages that are the same for everyone are compressed once, at their
//     best, and kept (pagecache.go);
//   - everything else is rendered into a buffer and compressed in one go
//     by one of a few writers, one per CPU, that are never held while a
//     slow client reads: the compressed bytes are written afterwards.

// dynamicLevel is the level of per-request compression: within a few per
// cent of the best on our pages, at a third of its CPU time.
const dynamicLevel = 6

// maxBuffered is the largest response compressed whole; a larger one (an
// evidence bundle, a big export) is sent as it comes, uncompressed.
const maxBuffered = 512 << 10

// minCompress is the smallest body worth compressing.
const minCompress = 512

// gzipWriters is both the pool and the bound: at most one writer per CPU
// exists, since compressing is all CPU and nothing else waits in it.
var gzipWriters = make(chan *gzip.Writer, runtime.GOMAXPROCS(0))

var gzipSlots = make(chan struct{}, runtime.GOMAXPROCS(0))

func compressInto(dst *bytes.Buffer, src []byte) {
	gzipSlots <- struct{}{}
	defer func() { <-gzipSlots }()
	var zw *gzip.Writer
	select {
	case zw = <-gzipWriters:
		zw.Reset(dst)
	default:
		zw, _ = gzip.NewWriterLevel(dst, dynamicLevel)
	}
	zw.Write(src)
	zw.Close()
	zw.Reset(nil)
	select {
	case gzipWriters <- zw:
	default:
	}
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func getBuf() *bytes.Buffer { return bufPool.Get().(*bytes.Buffer) }

func putBuf(b *bytes.Buffer) {
	if b.Cap() > 1<<20 {
		return // a rare big response does not stay in memory
	}
	b.Reset()
	bufPool.Put(b)
}

// compressed buffers each response and sends it with a Content-Length,
// gzipped for a client that takes gzip. A handler that sets
// Content-Encoding itself (a cached page) is passed through.
func compressed(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Vary", "Accept-Encoding")
		bw := &bufferedWriter{ResponseWriter: w, gzip: acceptsGzip(r.Header.Get("Accept-Encoding")), buf: getBuf()}
		defer func() {
			bw.finish()
			putBuf(bw.buf)
		}()
		next.ServeHTTP(bw, r)
	})
}

type bufferedWriter struct {
	http.ResponseWriter
	gzip    bool
	buf     *bytes.Buffer
	status  int
	through bool // the header is sent; writes go straight on
}

func (w *bufferedWriter) WriteHeader(code int) {
	if w.through {
		w.ResponseWriter.WriteHeader(code)
		return
	}
	if code < 200 {
		w.ResponseWriter.WriteHeader(code) // 1xx: informational, sent at once
		return
	}
	if w.status == 0 {
		w.status = code
	}
}

func (w *bufferedWriter) Write(b []byte) (int, error) {
	if w.through {
		return w.ResponseWriter.Write(b)
	}
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if w.Header().Get("Content-Encoding") != "" || w.buf.Len()+len(b) > maxBuffered {
		w.sendThrough()
		return w.ResponseWriter.Write(b)
	}
	return w.buf.Write(b)
}

// sendThrough sends the header and what is buffered as it is, and lets the
// rest of the response through.
func (w *bufferedWriter) sendThrough() {
	if w.through {
		return
	}
	w.through = true
	w.ResponseWriter.WriteHeader(w.status)
	if w.buf.Len() > 0 {
		w.ResponseWriter.Write(w.buf.Bytes())
		w.buf.Reset()
	}
}

func (w *bufferedWriter) Flush() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.sendThrough()
	http.NewResponseController(w.ResponseWriter).Flush()
}

func (w *bufferedWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *bufferedWriter) finish() {
	if w.through || w.status == 0 {
		return // sent already, or nothing written: net/http answers 200
	}
	h := w.Header()
	body := w.buf.Bytes()
	if len(body) > 0 && h.Get("Content-Type") == "" {
		h.Set("Content-Type", http.DetectContentType(body))
	}
	if w.gzip && len(body) >= minCompress && compressible(h.Get("Content-Type")) && bodyAllowed(w.status) {
		out := getBuf()
		defer putBuf(out)
		compressInto(out, body)
		body = out.Bytes()
		h.Set("Content-Encoding", "gzip")
	}
	if bodyAllowed(w.status) {
		h.Set("Content-Length", strconv.Itoa(len(body)))
	}
	w.ResponseWriter.WriteHeader(w.status)
	if len(body) > 0 {
		w.ResponseWriter.Write(body)
	}
}

func bodyAllowed(status int) bool {
	return status != http.StatusNoContent && status != http.StatusNotModified
}

// compressible says whether a content type gains from gzip: text does,
// PNG, zip and age files do not.
func compressible(ct string) bool {
	ct, _, _ = strings.Cut(ct, ";")
	ct = strings.TrimSpace(strings.ToLower(ct))
	return strings.HasPrefix(ct, "text/") || strings.HasSuffix(ct, "+xml") || strings.HasSuffix(ct, "/xml") ||
		strings.Contains(ct, "json") || strings.Contains(ct, "yaml") || ct == "application/javascript"
}

func acceptsGzip(h string) bool {
	for _, part := range strings.Split(h, ",") {
		enc, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(enc), "gzip") {
			return strings.ReplaceAll(strings.TrimSpace(params), " ", "") != "q=0"
		}
	}
	return false
}
