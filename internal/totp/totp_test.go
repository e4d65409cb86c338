package totp

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// rfcSecret is the SHA-1 seed of RFC 4226 appendix D and RFC 6238
// appendix B: the ASCII string "12345678901234567890".
var rfcSecret = Secret("12345678901234567890")

// RFC 4226 appendix D: HOTP values for counters 0..9.
func TestHOTPVectorsRFC4226(t *testing.T) {
	want := []string{
		"755224", "287082", "359152", "969429", "338314",
		"254676", "287922", "162583", "399871", "520489",
	}
	for counter, w := range want {
		if got := hotp(rfcSecret, uint64(counter), 6); got != w {
			t.Errorf("HOTP(counter %d) = %s, want %s", counter, got, w)
		}
	}
}

// RFC 6238 appendix B, SHA-1 rows: the published 8-digit values pin the
// truncation; Code must give their last six digits.
func TestTOTPVectorsRFC6238(t *testing.T) {
	tests := []struct {
		unix  int64
		step  int64
		eight string
	}{
		{59, 0x1, "94287082"},
		{1111111109, 0x23523EC, "07081804"},
		{1111111111, 0x23523ED, "14050471"},
		{1234567890, 0x273EF07, "89005924"},
		{2000000000, 0x3F940AA, "69279037"},
		{20000000000, 0x27BC86AA, "65353130"},
	}
	for _, tc := range tests {
		at := time.Unix(tc.unix, 0).UTC()
		if got := Step(at); got != tc.step {
			t.Errorf("Step(%d) = %#x, want %#x", tc.unix, got, tc.step)
		}
		if got := hotp(rfcSecret, uint64(Step(at)), 8); got != tc.eight {
			t.Errorf("8-digit TOTP at %d = %s, want %s", tc.unix, got, tc.eight)
		}
		if got, want := Code(rfcSecret, at), tc.eight[2:]; got != want {
			t.Errorf("Code at %d = %s, want %s", tc.unix, got, want)
		}
	}
}

func TestStep(t *testing.T) {
	tests := []struct {
		unix int64
		want int64
	}{
		{0, 0}, {29, 0}, {30, 1}, {59, 1}, {60, 2},
		{-1, -1}, {-30, -1}, {-31, -2}, // floor before 1970, not truncation
	}
	for _, tc := range tests {
		if got := Step(time.Unix(tc.unix, 0)); got != tc.want {
			t.Errorf("Step(%d) = %d, want %d", tc.unix, got, tc.want)
		}
	}
	// Sub-second precision does not move the step.
	if got := Step(time.Unix(59, 999_999_999)); got != 1 {
		t.Errorf("Step(59.999999999) = %d, want 1", got)
	}
}

func TestCodeZeroPadded(t *testing.T) {
	// RFC 6238 row at 1111111109 is "07081804": six digits "081804".
	// Search a few steps for a code with a leading zero as well.
	found := false
	for c := uint64(0); c < 200; c++ {
		code := hotp(rfcSecret, c, 6)
		if len(code) != 6 {
			t.Fatalf("HOTP(%d) = %q: not 6 digits", c, code)
		}
		found = found || code[0] == '0'
	}
	if !found {
		t.Error("no zero-padded code in 200 counters: padding untested")
	}
}

func TestVerifyWindow(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	st := Step(now)
	at := func(d int64) string { return hotp(rfcSecret, uint64(st+d), Digits) }
	tests := []struct {
		name     string
		code     string
		lastStep int64
		wantStep int64
		wantOK   bool
	}{
		{"now", at(0), 0, st, true},
		{"previous step", at(-1), 0, st - 1, true},
		{"next step", at(+1), 0, st + 1, true},
		{"two steps back", at(-2), 0, 0, false},
		{"two steps ahead", at(+2), 0, 0, false},
		{"with spaces", at(0)[:3] + " " + at(0)[3:], 0, st, true},
		{"surrounding space", "  " + at(0) + "\t", 0, st, true},
		{"replay of the same step", at(0), st, 0, false},
		{"older than last", at(-1), st, 0, false},
		{"after last", at(+1), st, st + 1, true},
		{"last is in the future", at(+1), st + 1, 0, false},
		{"lastStep just below", at(-1), st - 2, st - 1, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			step, ok := Verify(rfcSecret, tc.code, now, tc.lastStep)
			if ok != tc.wantOK || step != tc.wantStep {
				t.Errorf("Verify(%q, last %d) = %d, %v; want %d, %v",
					tc.code, tc.lastStep, step, ok, tc.wantStep, tc.wantOK)
			}
		})
	}
}

// The login flow as the console will run it: a code is accepted once, the
// step is stored, and the same code is refused on every later try.
func TestVerifyReplay(t *testing.T) {
	now := time.Unix(1_700_000_015, 0)
	code := Code(rfcSecret, now)
	var last int64
	step, ok := Verify(rfcSecret, code, now, last)
	if !ok {
		t.Fatal("fresh code refused")
	}
	last = step
	for _, later := range []time.Duration{0, time.Second, Period, 2 * Period} {
		if _, ok := Verify(rfcSecret, code, now.Add(later), last); ok {
			t.Errorf("replayed code accepted %v later", later)
		}
	}
	// The next step's code still works once.
	next := now.Add(Period)
	step, ok = Verify(rfcSecret, Code(rfcSecret, next), next, last)
	if !ok || step != last+1 {
		t.Errorf("next step's code: got %d, %v; want %d, true", step, ok, last+1)
	}
}

// When the typed digits are the code of two steps in the window, Verify must
// return the later one; returning the earlier would let the same digits be
// accepted again at the later step. The collision below was found by search:
// with the RFC secret, steps 37353814 and 37353816 share the code 137227.
func TestVerifyCollisionTakesLatestStep(t *testing.T) {
	const mid = 37353815
	if a, b := hotp(rfcSecret, mid-1, 6), hotp(rfcSecret, mid+1, 6); a != b || a != "137227" {
		t.Fatalf("fixture broken: codes %s and %s", a, b)
	}
	now := time.Unix(mid*30+7, 0)
	step, ok := Verify(rfcSecret, "137227", now, 0)
	if !ok || step != mid+1 {
		t.Fatalf("Verify = %d, %v; want %d, true", step, ok, mid+1)
	}
	if _, ok := Verify(rfcSecret, "137227", now, step); ok {
		t.Error("the same digits were accepted twice")
	}
}

func TestVerifyMalformed(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	good := Code(rfcSecret, now)
	for _, code := range []string{
		"", " ", "12345", "1234567", "12a456", "12-456", "+12345", "-12345",
		"١٢٣٤٥٦",                       // Arabic-Indic digits
		"１２３４５６",                       // full-width digits
		good + "0",                     // a seventh digit
		"0" + good,                     // a leading extra digit
		good[:5],                       // a prefix
		good + "\x00",                  // a NUL
		good[:3] + "\u200b" + good[3:], // zero-width space is not white space
		strings.Repeat(" ", 100) + good,
	} {
		if _, ok := Verify(rfcSecret, code, now, 0); ok {
			t.Errorf("Verify(%q) accepted a malformed code", code)
		}
	}
}

// Every digit counts: changing any single position of a valid code, to any
// other digit, is refused.
func TestVerifyComparesWholeCode(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	st := Step(now)
	valid := map[string]bool{}
	for d := int64(-1); d <= 1; d++ {
		valid[hotp(rfcSecret, uint64(st+d), Digits)] = true
	}
	good := Code(rfcSecret, now)
	for i := range Digits {
		for c := byte('0'); c <= '9'; c++ {
			if c == good[i] {
				continue
			}
			mutated := good[:i] + string(c) + good[i+1:]
			if valid[mutated] {
				continue // happens to be the code of a neighbouring step
			}
			if _, ok := Verify(rfcSecret, mutated, now, 0); ok {
				t.Errorf("Verify accepted %s for %s (position %d)", mutated, good, i)
			}
		}
	}
}

func TestVerifyRefusesBadSecret(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	for _, s := range []Secret{nil, {}, rfcSecret[:16], append(Secret{}, append(rfcSecret, 0)...)} {
		if _, ok := Verify(s, Code(s, now), now, 0); ok {
			t.Errorf("Verify accepted a %d-byte secret", len(s))
		}
	}
}

func TestNewSecret(t *testing.T) {
	a, err := NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != SecretSize || len(b) != SecretSize {
		t.Fatalf("sizes %d, %d; want %d", len(a), len(b), SecretSize)
	}
	if bytes.Equal(a, b) {
		t.Fatal("two secrets are equal")
	}
	if bytes.Equal(a, make([]byte, SecretSize)) {
		t.Fatal("secret is all zeros")
	}
}

func TestBase32(t *testing.T) {
	const want = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
	if got := rfcSecret.Base32(); got != want {
		t.Fatalf("Base32 = %s, want %s", got, want)
	}
	if got, want := rfcSecret.Grouped(), "GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ"; got != want {
		t.Fatalf("Grouped = %q, want %q", got, want)
	}
	for range 50 {
		s, err := NewSecret()
		if err != nil {
			t.Fatal(err)
		}
		for _, text := range []string{s.Base32(), s.Grouped()} {
			if strings.ContainsRune(text, '=') {
				t.Fatalf("%q has padding", text)
			}
			back, err := ParseSecret(text)
			if err != nil || !bytes.Equal(back, s) {
				t.Fatalf("ParseSecret(%q) = %x, %v; want %x", text, back, err, []byte(s))
			}
		}
	}
}

func TestParseSecretTolerance(t *testing.T) {
	for _, text := range []string{
		"GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
		"gezdgnbvgy3tqojqgezdgnbvgy3tqojq",
		"gezd gnbv gy3t qojq GEZD GNBV GY3T QOJQ",
		"  GEZDGNBVGY3TQOJQ\tGEZDGNBVGY3TQOJQ\n",
		"GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ====",
		"gezd gnbv gy3t qojq gezd gnbv gy3t qojq ==",
	} {
		s, err := ParseSecret(text)
		if err != nil || !bytes.Equal(s, rfcSecret) {
			t.Errorf("ParseSecret(%q) = %x, %v", text, []byte(s), err)
		}
	}
}

func TestParseSecretRefuses(t *testing.T) {
	for _, text := range []string{
		"",
		"====",
		"GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJ",      // 31 characters
		"GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQA",    // 33 characters
		"GEZDGNBVGY3TQOJQGEZDGNBVGY3TQ",        // a group lost while typing
		"GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZD", // 22.5 bytes
		"GEZDGNBVGY3TQOJQ",                     // 10 bytes
		"GEZDGNBVGY3TQOJ1GEZDGNBVGY3TQOJQ",     // '1' is not base32
		"GEZDGNBVGY3TQOJ0GEZDGNBVGY3TQOJQ",     // nor '0'
		"GEZD-GNBV-GY3T-QOJQ-GEZD-GNBV-GY3T-QOJQ",
		"GEZDGNBVGY3TQOJQ=GEZDGNBVGY3TQOJQ",
	} {
		s, err := ParseSecret(text)
		if err != ErrMalformedSecret || s != nil {
			t.Errorf("ParseSecret(%q) = %x, %v; want ErrMalformedSecret", text, []byte(s), err)
		}
	}
	// The error never quotes the input.
	_, err := ParseSecret("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJ!")
	if err == nil || strings.Contains(err.Error(), "GEZD") {
		t.Errorf("error %v", err)
	}
}

func TestSecretRedacted(t *testing.T) {
	s := rfcSecret
	leaks := []string{s.Base32(), string(s), "3132333435", "49 50 51"}
	var out bytes.Buffer
	fmt.Fprintf(&out, "%v %s %+v %#v %q %x %d %v\n", s, s, s, s, s, s, s, []Secret{s})
	slog.New(slog.NewTextHandler(&out, nil)).Info("t", "secret", s)
	slog.New(slog.NewJSONHandler(&out, nil)).Info("t", "secret", s)
	for _, leak := range append(leaks, "MTIzNDU2Nzg5MDEyMzQ1Njc4OTA") { // base64, as JSON would write []byte
		if strings.Contains(out.String(), leak) {
			t.Errorf("output leaks %q:\n%s", leak, out.String())
		}
	}
	if !strings.Contains(out.String(), "redacted") {
		t.Errorf("no redaction marker:\n%s", out.String())
	}
}
