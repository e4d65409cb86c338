package web

import (
	"bytes"
	"compress/flate"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"hash/crc32"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/salama-ke/salama/internal/locale"
)

// Most requests are for pages that are the same for every visitor: the
// landing page, the help directory, the report and tip forms but for their
// form token. Rendering and compressing them per request cost most of the
// server's time (template execution and gzip at its best level, about 2 ms
// a form). So they are rendered once, with markers where the per-request
// values go (holes), cut at the markers, and each part compressed once at
// the best level. A request fills the holes in:
//
//   - gzipped, the parts are joined into one valid gzip stream: each part
//     is a run of deflate blocks ending byte-aligned (a sync flush) that
//     refers to nothing before it, a hole is a stored block, an empty
//     final block ends the stream, and the CRC-32 of the whole is combined
//     from the parts' (crc32Combine) without reading them again;
//   - plain, the parts and the holes are written one after the other.
//
// A page is kept until what it was built from changes (its key says
// what that is); the cache holds at most maxCachedPages.

const maxCachedPages = 64

type pageCache struct {
	mark string // random, so that no typed text can look like a marker

	mu    sync.Mutex
	pages map[string]*cachedPage
}

func newPageCache() *pageCache {
	var b [12]byte
	rand.Read(b[:])
	return &pageCache{mark: "zq" + hex.EncodeToString(b[:]) + "h", pages: map[string]*cachedPage{}}
}

// cachedPage is a rendered page cut at its holes.
type cachedPage struct {
	status int
	lang   locale.Lang
	plain  [][]byte // len(holes)+1 parts
	zparts [][]byte // each part deflated on its own, sync-flushed
	crcs   []uint32 // CRC-32 of each part
	shifts []uint32 // x^(8·len(part)) mod P, for crc32Combine
	size   int      // plain length without the holes
	zsize  int
	// from is what the page was built from, when that is a value the
	// handler compares (the directory's services): holding it here also
	// keeps its address from being reused by another.
	from any
}

// marks are the markers for n holes.
func (c *pageCache) marks(n int) []string {
	m := make([]string, n)
	for i := range m {
		m[i] = c.mark + strconv.Itoa(i) + "x"
	}
	return m
}

// holeSafe is what a hole may hold: characters that need no escaping in
// any HTML context a marker can sit in (form tokens are base64url).
func holeSafe(s string) bool {
	if len(s) > 0xffff {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// renderShared writes a page that is the same for every visitor but for
// holes. key names everything the page depends on besides the holes;
// from, when not nil, must be == to the value the cached page was built
// from, else it is built again (a comparable value: a pointer). build renders the page's view with marks
// in the holes.
func (s *Server) renderShared(w http.ResponseWriter, r *http.Request, key string, from any, holes []string,
	build func(marks []string) (status int, name string, v *view)) {
	for _, h := range holes {
		if !holeSafe(h) {
			status, name, v := build(holes)
			s.render(w, status, name, v)
			return
		}
	}
	c := s.cache
	c.mu.Lock()
	p := c.pages[key]
	c.mu.Unlock()
	if p == nil || p.from != from {
		var ok bool
		if p, ok = s.buildShared(len(holes), build); !ok {
			status, name, v := build(holes)
			s.render(w, status, name, v)
			return
		}
		p.from = from
		c.mu.Lock()
		if len(c.pages) >= maxCachedPages {
			clear(c.pages)
		}
		c.pages[key] = p
		c.mu.Unlock()
	}
	p.write(w, r, holes)
}

// buildShared renders the page with markers and cuts it; it reports false
// when the markers do not come out once each, in order (a template that
// escapes or repeats them), and then the page is not cached.
func (s *Server) buildShared(n int, build func(marks []string) (int, string, *view)) (*cachedPage, bool) {
	marks := s.cache.marks(n)
	status, name, v := build(marks)
	var buf bytes.Buffer
	if err := s.pages[name].t.ExecuteTemplate(&buf, "layout", v); err != nil {
		return nil, false
	}
	if bytes.Contains(buf.Bytes(), []byte(s.cache.mark+strconv.Itoa(n)+"x")) {
		return nil, false
	}
	p := &cachedPage{status: status, lang: v.Lang}
	rest := buf.Bytes()
	for _, m := range marks {
		before, after, ok := bytes.Cut(rest, []byte(m))
		if !ok || bytes.Contains(after, []byte(m)) {
			return nil, false
		}
		p.plain = append(p.plain, before)
		rest = after
	}
	p.plain = append(p.plain, rest)
	fw, _ := flate.NewWriter(nil, flate.BestCompression)
	for _, part := range p.plain {
		var z bytes.Buffer
		fw.Reset(&z)
		fw.Write(part)
		fw.Flush() // ends on a byte boundary, not final: the next part follows
		p.zparts = append(p.zparts, z.Bytes())
		p.crcs = append(p.crcs, crc32.ChecksumIEEE(part))
		p.shifts = append(p.shifts, crc32Shift(len(part)))
		p.size += len(part)
		p.zsize += z.Len()
	}
	return p, true
}

// gzipHeader is a gzip member header: deflate, no name, no time, unknown OS.
var gzipHeader = []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}

// finalBlock is an empty stored deflate block with BFINAL set.
var finalBlock = []byte{1, 0, 0, 0xff, 0xff}

func (p *cachedPage) write(w http.ResponseWriter, r *http.Request, holes []string) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Language", string(p.lang))
	holeLen := 0
	for _, x := range holes {
		holeLen += len(x)
	}
	out := getBuf()
	defer putBuf(out)
	if !acceptsGzip(r.Header.Get("Accept-Encoding")) {
		out.Grow(p.size + holeLen)
		for i, part := range p.plain {
			out.Write(part)
			if i < len(holes) {
				out.WriteString(holes[i])
			}
		}
	} else {
		out.Grow(len(gzipHeader) + p.zsize + 5*len(holes) + holeLen + len(finalBlock) + 8)
		out.Write(gzipHeader)
		var crc uint32
		for i, z := range p.zparts {
			out.Write(z)
			crc = crc32Combine(crc, p.crcs[i], p.shifts[i])
			if i < len(holes) {
				x := holes[i]
				// A stored block: BFINAL 0, BTYPE 00 on a byte boundary,
				// then LEN and its complement, little-endian.
				n := uint16(len(x))
				out.Write([]byte{0, byte(n), byte(n >> 8), ^byte(n), ^byte(n >> 8)})
				out.WriteString(x)
				crc = crc32Combine(crc, crc32.ChecksumIEEE([]byte(x)), crc32Shift(len(x)))
			}
		}
		out.Write(finalBlock)
		var tail [8]byte
		binary.LittleEndian.PutUint32(tail[:4], crc)
		binary.LittleEndian.PutUint32(tail[4:], uint32(p.size+holeLen))
		out.Write(tail[:])
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("Content-Length", strconv.Itoa(out.Len()))
	w.WriteHeader(p.status)
	w.Write(out.Bytes())
}

// crc32Combine returns the CRC-32 (IEEE) of A‖B from crcA, crcB and shift =
// crc32Shift(len(B)), as zlib's crc32_combine does: appending n bytes
// multiplies A's remainder by x^(8n) modulo the polynomial, and the rest is
// B's own CRC.
func crc32Combine(crcA, crcB, shift uint32) uint32 {
	return multModP(shift, crcA) ^ crcB
}

// crc32Shift is x^(8n) modulo the CRC-32 polynomial, in the reflected bit
// order crc32 uses.
func crc32Shift(n int) uint32 {
	p := uint32(1) << 31 // x^0
	k := 3               // x^(8n) = x^(n·2^3)
	for n > 0 {
		if n&1 != 0 {
			p = multModP(x2n[k&31], p)
		}
		n >>= 1
		k++
	}
	return p
}

// x2n[k] is x^(2^k) modulo the polynomial.
var x2n = func() (t [32]uint32) {
	p := uint32(1) << 30 // x^1
	t[0] = p
	for k := 1; k < 32; k++ {
		p = multModP(p, p)
		t[k] = p
	}
	return t
}()

// multModP multiplies a and b modulo the CRC-32 polynomial (reflected).
func multModP(a, b uint32) uint32 {
	m := uint32(1) << 31
	var p uint32
	for a != 0 && m != 0 {
		if a&m != 0 {
			p ^= b
			a &^= m
		}
		m >>= 1
		if b&1 != 0 {
			b = b>>1 ^ crc32.IEEE
		} else {
			b >>= 1
		}
	}
	return p
}

// sharedKey joins the parts of a cache key.
func sharedKey(parts ...string) string { return strings.Join(parts, "\x00") }
