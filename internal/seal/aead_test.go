package seal

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"golang.org/x/crypto/chacha20poly1305"
)

func mustDataKey(t testing.TB) *DataKey {
	t.Helper()
	dk, err := NewDataKey()
	if err != nil {
		t.Fatal(err)
	}
	return dk
}

func mustKey(t testing.TB) *Key {
	t.Helper()
	k, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSealOpenRoundTrip(t *testing.T) {
	dk := mustDataKey(t)
	tests := []struct {
		name      string
		plaintext []byte
	}{
		{"empty", nil},
		{"one byte", []byte{0}},
		{"narrative", []byte("Alinitumia picha na kutishia kuzisambaza.")},
		{"10 KB", bytes.Repeat([]byte("x"), 10_000)},
		{"binary", []byte{0xff, 0x00, 0x01, 0xfe}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := dk.Seal("report-A", "narrative", tt.plaintext)
			if err != nil {
				t.Fatal(err)
			}
			if len(tt.plaintext) > 8 && bytes.Contains(s, tt.plaintext) {
				t.Fatal("plaintext visible in sealed output")
			}
			if got, want := len(s), SealedSize(len(tt.plaintext)); got != want {
				t.Errorf("sealed length = %d, want %d", got, want)
			}
			pt, err := dk.Open("report-A", "narrative", s)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(pt, tt.plaintext) {
				t.Fatalf("round trip changed the plaintext")
			}
		})
	}
}

func TestSealNoncesDiffer(t *testing.T) {
	dk := mustDataKey(t)
	a, _ := dk.Seal("r", "f", []byte("same"))
	b, _ := dk.Seal("r", "f", []byte("same"))
	if bytes.Equal(a, b) {
		t.Fatal("two seals of the same plaintext are identical")
	}
}

func TestOpenRefusesWrongBinding(t *testing.T) {
	dk := mustDataKey(t)
	s, err := dk.Seal("report-A", "narrative", []byte("secret words"))
	if err != nil {
		t.Fatal(err)
	}
	other := mustDataKey(t)
	tests := []struct {
		name          string
		key           *DataKey
		report, field string
	}{
		{"other report", dk, "report-B", "narrative"},
		{"other field", dk, "report-A", "contact"},
		{"boundary shift", dk, "report-An", "arrative"},
		{"empty report", dk, "", "narrative"},
		{"empty field", dk, "report-A", ""},
		{"wrong key", other, "report-A", "narrative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.key.Open(tt.report, tt.field, s); !errors.Is(err, ErrOpen) {
				t.Fatalf("err = %v, want ErrOpen", err)
			}
		})
	}
}

// tamperings returns every single-bit flip of b at every byte, plus
// truncations and an extension.
func tamperings(b []byte) map[string][]byte {
	out := map[string][]byte{}
	for i := range b {
		c := bytes.Clone(b)
		c[i] ^= 0x01
		out[fmt.Sprintf("flip byte %d", i)] = c
	}
	out["truncated by one"] = b[:len(b)-1]
	out["header only"] = b[:headerSize]
	out["empty"] = nil
	out["extended"] = append(bytes.Clone(b), 0)
	return out
}

func TestTamperingFails(t *testing.T) {
	dk := mustDataKey(t)
	k := mustKey(t)
	org, err := GenerateOrgIdentity()
	if err != nil {
		t.Fatal(err)
	}
	field, _ := dk.Seal("r1", "narrative", []byte("what happened"))
	wrapped, _ := k.WrapDataKey("r1", "receipt", dk)
	orgWrapped, _ := k.WrapOrgIdentity("org-1", "user:7", org)
	ageWrapped, err := org.Recipient().WrapDataKey(dk)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		blob []byte
		open func([]byte) error
	}{
		{"field", field, func(b []byte) error { _, err := dk.Open("r1", "narrative", b); return err }},
		{"data key wrap", wrapped, func(b []byte) error { _, err := k.UnwrapDataKey("r1", "receipt", b); return err }},
		{"org identity wrap", orgWrapped, func(b []byte) error { _, err := k.UnwrapOrgIdentity("org-1", "user:7", b); return err }},
		{"age wrap", ageWrapped, func(b []byte) error { _, err := org.UnwrapDataKey(b); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.open(tt.blob); err != nil {
				t.Fatalf("untampered blob: %v", err)
			}
			for name, b := range tamperings(tt.blob) {
				if err := tt.open(b); !errors.Is(err, ErrOpen) {
					t.Fatalf("%s: err = %v, want ErrOpen", name, err)
				}
			}
		})
	}
}

func TestWrapDataKeyRoundTripAndBinding(t *testing.T) {
	k := mustKey(t)
	dk := mustDataKey(t)
	w, err := k.WrapDataKey("report-A", "receipt", dk)
	if err != nil {
		t.Fatal(err)
	}
	got, err := k.UnwrapDataKey("report-A", "receipt", w)
	if err != nil {
		t.Fatal(err)
	}
	if got.b != dk.b {
		t.Fatal("unwrapped data key differs")
	}
	tests := []struct {
		name            string
		key             *Key
		report, purpose string
	}{
		{"other report", k, "report-B", "receipt"},
		{"other purpose", k, "report-A", "session"},
		{"wrong key", mustKey(t), "report-A", "receipt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.key.UnwrapDataKey(tt.report, tt.purpose, w); !errors.Is(err, ErrOpen) {
				t.Fatalf("err = %v, want ErrOpen", err)
			}
		})
	}
	// Domain separation: a data key wrap never opens as an org identity wrap
	// or as a field, under the same key bytes and the same binding.
	if _, err := k.UnwrapOrgIdentity("report-A", "receipt", w); !errors.Is(err, ErrOpen) {
		t.Errorf("data key wrap opened as org identity wrap: %v", err)
	}
	asDataKey := &DataKey{b: k.b, live: true}
	if _, err := asDataKey.Open("report-A", "receipt", w); !errors.Is(err, ErrOpen) {
		t.Errorf("data key wrap opened as a field: %v", err)
	}
}

func TestAdditionalDataUnambiguous(t *testing.T) {
	pairs := [][2]string{{"ab", "c"}, {"a", "bc"}, {"a\x00", "c"}, {"a", "\x00c"}}
	seen := map[string]bool{}
	for _, p := range pairs {
		ad, err := additionalData(domainField, p[0], p[1])
		if err != nil {
			t.Fatal(err)
		}
		if seen[string(ad)] {
			t.Fatalf("associated data collides for %q", p)
		}
		seen[string(ad)] = true
	}
}

func TestDestroyedAndZeroKeysRefuse(t *testing.T) {
	dk := mustDataKey(t)
	s, _ := dk.Seal("r", "f", []byte("x"))
	k := mustKey(t)
	w, _ := k.WrapDataKey("r", "p", dk)

	dead := mustDataKey(t)
	dead.Destroy()
	if dead.b != [KeySize]byte{} {
		t.Error("Destroy did not zero the data key")
	}
	deadKey := mustKey(t)
	deadKey.Destroy()
	if deadKey.b != [KeySize]byte{} {
		t.Error("Destroy did not zero the key")
	}
	var zeroDK DataKey
	var zeroKey Key
	var nilDK *DataKey
	var nilKey *Key
	tests := []struct {
		name string
		op   func() error
	}{
		{"destroyed Seal", func() error { _, err := dead.Seal("r", "f", nil); return err }},
		{"destroyed Open", func() error { _, err := dead.Open("r", "f", s); return err }},
		{"zero DataKey Seal", func() error { _, err := zeroDK.Seal("r", "f", nil); return err }},
		{"nil DataKey Seal", func() error { _, err := nilDK.Seal("r", "f", nil); return err }},
		{"destroyed Key wrap", func() error { _, err := deadKey.WrapDataKey("r", "p", dk); return err }},
		{"destroyed Key unwrap", func() error { _, err := deadKey.UnwrapDataKey("r", "p", w); return err }},
		{"wrap destroyed DataKey", func() error { _, err := k.WrapDataKey("r", "p", dead); return err }},
		{"zero Key wrap", func() error { _, err := zeroKey.WrapDataKey("r", "p", dk); return err }},
		{"nil Key unwrap", func() error { _, err := nilKey.UnwrapDataKey("r", "p", w); return err }},
		{"destroyed Key org wrap", func() error { _, err := deadKey.WrapOrgIdentity("o", "p", &OrgIdentity{}); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.op(); !errors.Is(err, ErrDestroyed) {
				t.Fatalf("err = %v, want ErrDestroyed", err)
			}
		})
	}
	if deadKey.Bytes() != nil {
		t.Error("Bytes of a destroyed key is not nil")
	}
	nilDK.Destroy() // must not panic
	nilKey.Destroy()
}

func TestSealRefusesEmptyBinding(t *testing.T) {
	dk := mustDataKey(t)
	for _, b := range [][2]string{{"", "narrative"}, {"r", ""}} {
		if _, err := dk.Seal(b[0], b[1], []byte("x")); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("Seal(%q, %q): err = %v, want ErrInvalidInput", b[0], b[1], err)
		}
	}
}

func TestKeyFromBytes(t *testing.T) {
	for _, n := range []int{0, 16, 31, 33, 64} {
		if _, err := KeyFromBytes(make([]byte, n)); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("KeyFromBytes(%d bytes): err = %v, want ErrInvalidInput", n, err)
		}
	}
	src := bytes.Repeat([]byte{7}, KeySize)
	k, err := KeyFromBytes(src)
	if err != nil {
		t.Fatal(err)
	}
	src[0] = 0
	b := k.Bytes()
	if b[0] != 7 {
		t.Fatal("KeyFromBytes did not copy its input")
	}
	b[1] = 0
	if k.b[1] != 7 {
		t.Fatal("Bytes did not return a copy")
	}
	// A session key survives a trip through a cookie.
	k2, err := KeyFromBytes(k.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	org, _ := GenerateOrgIdentity()
	w, _ := k.WrapOrgIdentity("org", "session", org)
	if _, err := k2.UnwrapOrgIdentity("org", "session", w); err != nil {
		t.Fatal(err)
	}
}

func TestKeysRedactWhenPrinted(t *testing.T) {
	dk := mustDataKey(t)
	k := mustKey(t)
	org, _ := GenerateOrgIdentity()
	ns := NewNetworkSecretForTest()
	r, _ := NewReceipt()
	for _, v := range []any{dk, *dk, k, *k, org, *org, ns, *ns} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%d"} {
			out := fmt.Sprintf(verb, v)
			if !strings.Contains(out, "redacted") {
				t.Errorf("Sprintf(%q, %T) = %q, not redacted", verb, v, out)
			}
		}
	}
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	log.Info("x", "dk", dk, "key", k, "org", org, "ns", ns, "receipt", r)
	if strings.Contains(buf.String(), r.Digits()) || strings.Contains(buf.String(), r.String()) {
		t.Errorf("receipt reached a log line: %s", buf.String())
	}
	if strings.Count(buf.String(), "redacted") != 5 {
		t.Errorf("log line not redacted: %s", buf.String())
	}
}

// Issue 12: exact ciphertext lengths revealed the length of a narrative.
func TestPaddingHidesLength(t *testing.T) {
	dk := mustDataKey(t)
	short, err := dk.Seal("r", "narrative", bytes.Repeat([]byte("a"), 10))
	if err != nil {
		t.Fatal(err)
	}
	long, err := dk.Seal("r", "narrative", bytes.Repeat([]byte("b"), 200))
	if err != nil {
		t.Fatal(err)
	}
	if len(short) != len(long) {
		t.Fatalf("narratives of 10 and 200 bytes seal to %d and %d bytes", len(short), len(long))
	}
	for _, tt := range []struct{ n, want int }{
		{0, 256}, {10, 256}, {255, 256}, {256, 512}, {511, 512}, {512, 1024}, {10_000, 16384},
		{64<<10 - 1, 64 << 10}, {64 << 10, 67584}, {300_000, 303104}, {5<<20 - 1, 5 << 20}, {5 << 20, 5<<20 + 131072},
	} {
		got := PaddedSize(tt.n)
		if got != tt.want {
			t.Errorf("PaddedSize(%d) = %d, want %d", tt.n, got, tt.want)
		}
		if got < tt.n+1 || (tt.n > padPowersUpTo && float64(got) > 1.12*float64(tt.n+1)) {
			t.Errorf("PaddedSize(%d) = %d: too small or more than 12%% over", tt.n, got)
		}
	}
	// Every size in a range round-trips and lands in its bucket.
	for _, n := range []int{0, 1, 254, 255, 256, 257, 1023, 1024, 70_000, 200_001} {
		pt := bytes.Repeat([]byte{0}, n) // zeros: the padding must not eat them
		if n > 0 {
			pt[0] = 0x80
		}
		s, err := dk.Seal("r", "f", pt)
		if err != nil {
			t.Fatal(err)
		}
		if len(s) != SealedSize(n) || s[0] != formatPadded {
			t.Fatalf("%d bytes sealed to %d (version %#x), want %d", n, len(s), s[0], SealedSize(n))
		}
		got, err := dk.Open("r", "f", s)
		if err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("%d bytes: round trip failed: %v", n, err)
		}
	}
}

// A field sealed before padding existed (format 0x01) still opens.
func TestUnpaddedFieldStillOpens(t *testing.T) {
	dk := mustDataKey(t)
	old, err := sealAEAD(&dk.b, domainField, "r", "narrative", []byte("written before padding"))
	if err != nil {
		t.Fatal(err)
	}
	if old[0] != formatVersion {
		t.Fatal("not a format 0x01 blob")
	}
	got, err := dk.Open("r", "narrative", old)
	if err != nil || string(got) != "written before padding" {
		t.Fatalf("old format: %q, %v", got, err)
	}
}

// A padded blob whose padding is malformed does not open, even though it
// authenticates: the sealer is the only one who could make one, but a
// wrong marker must never return padding as plaintext.
func TestMalformedPaddingRefused(t *testing.T) {
	dk := mustDataKey(t)
	ad, _ := versionedAD(formatPadded, domainField, "r", "f")
	aead, _ := chacha20poly1305.NewX(dk.b[:])
	for name, body := range map[string][]byte{
		"all zeros":  make([]byte, 256),
		"no marker":  append([]byte("text"), make([]byte, 252)...),
		"empty":      {},
		"wrong byte": append([]byte("text\x81"), make([]byte, 251)...),
	} {
		nonce := make([]byte, nonceSize)
		blob := append([]byte{formatPadded}, nonce...)
		blob = aead.Seal(blob, nonce, body, ad)
		if _, err := dk.Open("r", "f", blob); !errors.Is(err, ErrOpen) {
			t.Errorf("%s: %v, want ErrOpen", name, err)
		}
	}
}
