package totp

import (
	"bytes"
	"strings"
	"testing"
	"time"
	"unicode"
)

// FuzzVerify: Verify never panics, and accepts only the whole code of an
// allowed step: within one step of now, later than lastStep, and the latest
// such step whose code matches.
func FuzzVerify(f *testing.F) {
	now := int64(1_700_000_000)
	st := Step(time.Unix(now, 0))
	for d := int64(-2); d <= 2; d++ {
		code := hotp(rfcSecret, uint64(st+d), Digits)
		f.Add([]byte(rfcSecret), code, now, int64(0))
		f.Add([]byte(rfcSecret), code[:3]+" "+code[3:], now, st-1)
		f.Add([]byte(rfcSecret), code, now, st)
	}
	f.Add([]byte(rfcSecret), "137227", int64(37353815*30), int64(0))
	f.Add([]byte(rfcSecret), "١٢٣٤٥٦", now, int64(0))
	f.Add([]byte{}, "000000", int64(-1), int64(-1<<63))
	f.Add([]byte(rfcSecret), "000000", int64(1<<62), int64(1<<63-1))

	f.Fuzz(func(t *testing.T, key []byte, code string, unix, lastStep int64) {
		s := Secret(key)
		at := time.Unix(unix, 0)
		step, ok := Verify(s, code, at, lastStep)
		if !ok {
			if step != 0 {
				t.Fatalf("refused with step %d", step)
			}
			return
		}
		if len(s) != SecretSize {
			t.Fatalf("accepted a %d-byte secret", len(s))
		}
		now := Step(at)
		if step < now-1 || step > now+1 || step <= lastStep {
			t.Fatalf("accepted step %d (now %d, last %d)", step, now, lastStep)
		}
		typed := strings.Map(func(r rune) rune {
			if unicode.IsSpace(r) {
				return -1
			}
			return r
		}, code)
		if typed != hotp(s, uint64(step), Digits) {
			t.Fatalf("accepted %q for step %d whose code is %s", code, step, hotp(s, uint64(step), Digits))
		}
		for later := step + 1; later <= now+1; later++ {
			if later > lastStep && hotp(s, uint64(later), Digits) == typed {
				t.Fatalf("returned step %d, but %d also matches", step, later)
			}
		}
	})
}

// FuzzParseSecret: ParseSecret never panics, and what it accepts is a
// SecretSize secret that round-trips through both of its text forms.
func FuzzParseSecret(f *testing.F) {
	f.Add(rfcSecret.Base32())
	f.Add(rfcSecret.Grouped())
	f.Add(strings.ToLower(rfcSecret.Grouped()) + "====")
	f.Add(rfcSecret.Base32() + "A")
	f.Add("")
	f.Fuzz(func(t *testing.T, text string) {
		s, err := ParseSecret(text)
		if err != nil {
			if err != ErrMalformedSecret || s != nil {
				t.Fatalf("got %x, %v", []byte(s), err)
			}
			return
		}
		if len(s) != SecretSize {
			t.Fatalf("accepted %d bytes", len(s))
		}
		for _, form := range []string{s.Base32(), s.Grouped()} {
			back, err := ParseSecret(form)
			if err != nil || !bytes.Equal(back, s) {
				t.Fatalf("%q does not round-trip", form)
			}
		}
	})
}
