package web

import (
	"crypto/rand"
	"encoding/base64"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/salama-ke/salama/internal/reporting"
	"github.com/salama-ke/salama/internal/seal"
)

// heldFiles keeps the screenshots of a report or tip form that came back
// instead of being stored ("Add another", a language switch, a problem
// to fix), so that a survivor on 2G does not send them again, or lose them.
//
// They are held in memory only, like every upload (nothing of a screenshot
// is written to disk before the report is sealed), sealed under a fresh
// random key that exists only in the page sent back (the hidden field
// "held": id.key) and bound, as associated data, to the form token of that
// page. The server alone cannot open them; a page alone finds nothing
// after the lifetime, a restart, or its one use. What is held is bounded in
// bytes (a form that finds no room comes back asking for its screenshots
// again, as before) and in time (heldLifetime); expired entries are
// dropped whenever another is added or taken.
type heldFiles struct {
	mu      sync.Mutex
	entries map[string]*heldEntry
	bytes   int64
	max     int64
	now     func() time.Time
}

// heldLifetime is how long a page may keep screenshots for its survivor:
// an hour covers adding rows and rereading; a form left longer is sent
// with its screenshots chosen again.
const heldLifetime = time.Hour

type heldEntry struct {
	token   string
	types   []string
	sealed  [][]byte
	size    int64
	expires time.Time
}

func newHeldFiles(max int64) *heldFiles {
	return &heldFiles{entries: map[string]*heldEntry{}, max: max, now: time.Now}
}

func heldAD(token string) string { return "held-screenshots:" + token }

// hold seals files for the form page with this token and returns the value
// of the page's "held" field, or "" when there is no room (or sealing
// failed): the page then asks for the screenshots again.
func (h *heldFiles) hold(token string, files []reporting.Upload) string {
	var size int64
	for _, f := range files {
		size += int64(len(f.Data))
	}
	h.mu.Lock()
	h.sweep()
	room := h.bytes+size <= h.max
	if room {
		h.bytes += size // reserved now, so that two forms cannot both take the last room
	}
	h.mu.Unlock()
	if !room || len(files) == 0 {
		return ""
	}
	release := func() {
		h.mu.Lock()
		h.bytes -= size
		h.mu.Unlock()
	}
	key, err := seal.NewKey()
	if err != nil {
		release()
		return ""
	}
	defer key.Destroy()
	id := rand.Text()
	e := &heldEntry{token: token, size: size, expires: h.now().Add(heldLifetime)}
	for i, f := range files {
		s, err := key.SealSecret(heldAD(token), id+":"+strconv.Itoa(i)+":"+f.ContentType, f.Data)
		if err != nil {
			release()
			return ""
		}
		e.types = append(e.types, f.ContentType)
		e.sealed = append(e.sealed, s)
	}
	h.mu.Lock()
	h.entries[id] = e
	h.mu.Unlock()
	return id + "." + base64.RawURLEncoding.EncodeToString(key.Bytes())
}

// take returns the screenshots held for ref and forgets them (one use).
// ok is false when ref names nothing held for this token: expired,
// already used, the server restarted, or a forged or moved field.
func (h *heldFiles) take(ref, token string) (files []reporting.Upload, ok bool) {
	id, k, found := strings.Cut(ref, ".")
	if !found {
		return nil, false
	}
	h.mu.Lock()
	h.sweep()
	e := h.entries[id]
	if e != nil && e.token == token {
		delete(h.entries, id)
		h.bytes -= e.size
	} else {
		e = nil
	}
	h.mu.Unlock()
	if e == nil {
		return nil, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(k)
	if err != nil {
		return nil, false
	}
	key, err := seal.KeyFromBytes(raw)
	if err != nil {
		return nil, false
	}
	defer key.Destroy()
	for i, s := range e.sealed {
		data, err := key.OpenSecret(heldAD(token), id+":"+strconv.Itoa(i)+":"+e.types[i], s)
		if err != nil {
			return nil, false
		}
		files = append(files, reporting.Upload{ContentType: e.types[i], Data: data})
	}
	return files, true
}

// sweep drops expired entries; h.mu is held.
func (h *heldFiles) sweep() {
	now := h.now()
	for id, e := range h.entries {
		if now.After(e.expires) {
			delete(h.entries, id)
			h.bytes -= e.size
		}
	}
}

// count is how many forms' screenshots are held, for tests.
func (h *heldFiles) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.sweep()
	return len(h.entries)
}
