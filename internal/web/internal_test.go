package web

import (
	"bytes"
	"hash/crc32"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/salama-ke/salama/internal/reporting"
)

// The CRC of a cached page is combined from its parts' CRCs; it must equal
// the CRC of the whole, for any cut.
func TestCRC32Combine(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for range 500 {
		whole := make([]byte, r.IntN(70_000))
		for i := range whole {
			whole[i] = byte(r.Uint32())
		}
		cut := 0
		if len(whole) > 0 {
			cut = r.IntN(len(whole) + 1)
		}
		a, b := whole[:cut], whole[cut:]
		got := crc32Combine(crc32.ChecksumIEEE(a), crc32.ChecksumIEEE(b), crc32Shift(len(b)))
		if want := crc32.ChecksumIEEE(whole); got != want {
			t.Fatalf("len %d cut %d: %08x, want %08x", len(whole), cut, got, want)
		}
	}
	if got := crc32Combine(0, crc32.ChecksumIEEE([]byte("x")), crc32Shift(1)); got != crc32.ChecksumIEEE([]byte("x")) {
		t.Fatal("combining with the empty prefix")
	}
}

func TestHoleSafe(t *testing.T) {
	for s, want := range map[string]bool{"AbZ09-_": true, "": true, "a b": false, `a"b`: false, "a<b": false, "a&b": false,
		strings.Repeat("a", 0x10000): false} {
		if holeSafe(s) != want {
			t.Errorf("holeSafe(%.20q) = %v", s, !want)
		}
	}
}

// net/http's error log names clients; every form of an address is taken
// out.
func TestRedactAddrs(t *testing.T) {
	for _, line := range []string{
		"http: TLS handshake error from 197.248.33.71:54321: EOF",
		"http: TLS handshake error from [2c0f:fe38:2000:1::9]:443: remote error: tls: bad certificate",
		"http: panic serving 197.248.33.71:1234: boom",
		"http: Accept error: accept tcp [::]:8080: too many open files; retrying in 5ms",
		"read tcp 10.0.0.5:8080->197.248.33.71:54321: i/o timeout",
		"http2: server: error reading preface from client 2c0f:fe38:2000:1::9: EOF",
		"from (197.248.33.71) and fe80::1%eth0 and ::ffff:197.248.33.71",
	} {
		got := redactAddrs(line)
		for _, addr := range []string{"197.248", "2c0f", "fe80", "::ffff", "10.0.0.5"} {
			if strings.Contains(got, addr) {
				t.Errorf("%q\n  → %q keeps %s", line, got, addr)
			}
		}
		if !strings.Contains(got, "[client]") {
			t.Errorf("%q → %q", line, got)
		}
	}
	if got := redactAddrs("http: superfluous response.WriteHeader call"); got != "http: superfluous response.WriteHeader call" {
		t.Errorf("a line without an address changed: %q", got)
	}
}

// Held screenshots end with their lifetime and within their byte bound,
// and open only for their own token.
func TestHeldFilesBounds(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	h := newHeldFiles(100)
	h.now = func() time.Time { return now }
	png := reporting.Upload{ContentType: "image/png", Data: bytes.Repeat([]byte{7}, 60)}
	a := h.hold("tok-a", []reporting.Upload{png})
	if a == "" {
		t.Fatal("no room for 60 of 100 bytes")
	}
	if b := h.hold("tok-b", []reporting.Upload{png}); b != "" {
		t.Error("120 bytes held within a bound of 100")
	}
	if _, ok := h.take(a, "tok-b"); ok {
		t.Error("screenshots opened with another form's token")
	}
	now = now.Add(heldLifetime + time.Second)
	if _, ok := h.take(a, "tok-a"); ok {
		t.Error("screenshots opened after their lifetime")
	}
	if h.count() != 0 || h.bytes != 0 {
		t.Errorf("after expiry %d entries, %d bytes held", h.count(), h.bytes)
	}
	c := h.hold("tok-c", []reporting.Upload{png})
	got, ok := h.take(c, "tok-c")
	if !ok || len(got) != 1 || !bytes.Equal(got[0].Data, png.Data) || got[0].ContentType != "image/png" {
		t.Errorf("take: %v %v", ok, got)
	}
}
