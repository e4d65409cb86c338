package totp

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1" // RFC 6238's default; the only algorithm every authenticator app implements.
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"
	"unicode"
)

const (
	// Digits is the length of a code.
	Digits = 6
	// Period is the length of a time step.
	Period = 30 * time.Second

	// SecretSize is the size of a secret in bytes: 160 bits, the length
	// RFC 4226 §4 recommends and the size of an HMAC-SHA-1 output.
	SecretSize = 20

	// skewSteps is how many steps either side of now a code is accepted
	// for: enough for a phone clock a little off and a slow typist, no more.
	skewSteps = 1
)

// ErrMalformedSecret is returned by [ParseSecret] for anything but the
// base32 encoding of exactly [SecretSize] bytes.
var ErrMalformedSecret = errors.New("totp: malformed secret")

// b32 is RFC 4648 base32 without padding, as authenticator apps expect.
var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// Secret is a user's TOTP secret: [SecretSize] random bytes. It is a
// credential: store it sealed. It redacts itself when formatted with fmt or
// logged with log/slog; use [Secret.Base32] to get the text deliberately.
type Secret []byte

// NewSecret returns a fresh secret from crypto/rand.
func NewSecret() (Secret, error) {
	s := make(Secret, SecretSize)
	if _, err := rand.Read(s); err != nil {
		return nil, fmt.Errorf("totp: reading randomness: %w", err)
	}
	return s, nil
}

// ParseSecret decodes a secret as written by [Secret.Base32] or
// [Secret.Grouped], tolerating lower case, white space and "=" padding.
func ParseSecret(text string) (Secret, error) {
	t := strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return unicode.ToUpper(r)
	}, text)
	t = strings.TrimRight(t, "=")
	// The length check comes first: base32 decoding silently drops the
	// trailing bits of a 33-character input, which would accept a typo.
	if len(t) != b32.EncodedLen(SecretSize) {
		return nil, ErrMalformedSecret
	}
	b, err := b32.DecodeString(t)
	if err != nil || len(b) != SecretSize {
		// The cause is not wrapped: base32's error quotes the input.
		return nil, ErrMalformedSecret
	}
	return Secret(b), nil
}

// Base32 returns the secret in RFC 4648 base32 without padding.
func (s Secret) Base32() string { return b32.EncodeToString(s) }

// Grouped returns [Secret.Base32] in space-separated groups of four, for
// typing by hand into an authenticator app that cannot scan the QR code.
func (s Secret) Grouped() string {
	t := s.Base32()
	var g strings.Builder
	for i := 0; i < len(t); i += 4 {
		if i > 0 {
			g.WriteByte(' ')
		}
		g.WriteString(t[i:min(i+4, len(t))])
	}
	return g.String()
}

// String redacts the secret.
func (s Secret) String() string { return "totp.Secret(redacted)" }

// Format redacts the secret under every fmt verb, %d and %#v included.
func (s Secret) Format(f fmt.State, _ rune) { io.WriteString(f, s.String()) }

// LogValue redacts the secret in log/slog.
func (s Secret) LogValue() slog.Value { return slog.StringValue("redacted") }

// Step returns the RFC 6238 time step of t: floor(unix seconds / 30).
func Step(t time.Time) int64 {
	u, p := t.Unix(), int64(Period/time.Second)
	q := u / p
	if u%p < 0 {
		q-- // floor, not truncation, for instants before 1970
	}
	return q
}

// Code returns the six-digit code of s at time t, zero-padded.
func Code(s Secret, t time.Time) string { return hotp(s, uint64(Step(t)), Digits) }

// Verify reports whether code is the code of s at the step of t, or one step
// either side (clock skew), and that step is later than lastStep, the step
// of the user's last accepted code (0 for a user who never logged in): each
// step is accepted once, so an observed code cannot be replayed, not even
// within its own 90 seconds. On success it returns the step to store as the
// user's new lastStep, with a conditional update (see the package comment).
//
// White space in code is ignored; anything but exactly six ASCII digits is
// refused. The comparison is constant-time over the whole code, and all
// three candidate steps are always computed.
//
// If the code matches more than one step (two steps share a code about once
// in a million), the latest is returned, so the same digits cannot be
// accepted a second time at the later step.
func Verify(s Secret, code string, t time.Time, lastStep int64) (step int64, ok bool) {
	typed, valid := normaliseCode(code)
	if !valid || len(s) != SecretSize {
		return 0, false
	}
	now := Step(t)
	for st := now - skewSteps; st <= now+skewSteps; st++ {
		want := hotp(s, uint64(st), Digits)
		match := subtle.ConstantTimeCompare([]byte(want), typed) == 1
		if match && st > lastStep {
			step, ok = st, true
		}
	}
	return step, ok
}

// normaliseCode drops white space and returns the code as bytes if what is
// left is exactly [Digits] ASCII digits.
func normaliseCode(code string) ([]byte, bool) {
	if len(code) > 64 {
		return nil, false // do not copy an arbitrarily long input
	}
	out := make([]byte, 0, Digits)
	for _, r := range code {
		switch {
		case unicode.IsSpace(r):
		case r >= '0' && r <= '9' && len(out) < Digits:
			out = append(out, byte(r))
		default:
			return nil, false // another character, or a seventh digit
		}
	}
	return out, len(out) == Digits
}

// hotp is RFC 4226 HOTP: HMAC-SHA-1 of the big-endian counter, dynamic
// truncation (§5.3), reduced to digits (at most 9) decimal digits,
// zero-padded.
func hotp(key []byte, counter uint64, digits int) string {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], counter)
	mac := hmac.New(sha1.New, key)
	mac.Write(msg[:])
	sum := mac.Sum(nil)
	offset := sum[len(sum)-1] & 0x0f
	bin := binary.BigEndian.Uint32(sum[offset:offset+4]) & 0x7fffffff
	mod := uint32(1)
	for range digits {
		mod *= 10
	}
	return fmt.Sprintf("%0*d", digits, bin%mod)
}
