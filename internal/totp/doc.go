// Package totp owns the caseworker console's second factor: time-based
// one-time passwords (RFC 6238 over the HOTP of RFC 4226, HMAC-SHA-1, six
// digits, 30-second steps), the secret they are derived from, and the
// enrolment material shown once on first login (the secret as text, an
// otpauth:// URI, and that URI as an inline SVG QR code). SPEC §4.4 makes the
// factor mandatory; SPEC §6 says each time step is accepted once per user.
//
// Why it is built here rather than imported: RFC 6238 is forty lines on top
// of the standard library's crypto/hmac and crypto/sha1, fixed by published
// test vectors (see the tests), whereas TOTP libraries bring options we must
// not offer (SHA-256 or 8-digit variants authenticator apps silently
// ignore, wide skew windows) and leave replay protection to the caller.
// Nothing else in this
// package is cryptography: secrets come from crypto/rand, codes are compared
// with crypto/subtle.
//
// Threats it answers, and what it leaves to its caller:
//
//   - A phished or shoulder-surfed code is useful once only: [Verify] accepts
//     a step only if it is later than the last one the user spent, and
//     returns the step to store. The caller MUST store it with a conditional
//     update (… SET totp_last_step = $new WHERE id = $id AND totp_last_step <
//     $new) and treat "no row updated" as failure; otherwise two concurrent
//     logins with the same code both pass.
//   - Guessing: a guess hits one of three codes with probability 3·10⁻⁶.
//     Lockout and back-off on failures (SPEC §4.4) are the caller's job.
//   - The secret is a credential: store it sealed, never log it. [Secret]
//     redacts itself in fmt and log/slog. Pages carrying it (the text, the
//     URI, the QR code) must be sent with Cache-Control: no-store.
//
// What it must never do: log, touch the database or the network, put a
// secret or a typed code in an error message, or accept a code over anything
// but the whole six digits.
//
// QR encoding uses github.com/skip2/go-qrcode (pure Go, no dependencies of
// its own). It was preferred to rsc.io/qr, which the proxy also serves,
// because rsc.io/qr always applies mask pattern 0 (its source says "TODO:
// pick appropriate mask") instead of choosing the mask with the lowest
// penalty as ISO/IEC 18004 requires, which can leave finder-like patterns in
// the data that make phone cameras struggle; it also encodes the whole text
// in a single mode and carries a cgo test package. go-qrcode does mask
// selection and mixed-mode segmentation. It is unmaintained since 2020 and
// panics (log.Panic) on internal invariant violations, never reached by
// valid input; we use only New, DisableBorder and Bitmap, and draw the SVG
// ourselves. The tests check the symbol's structure (finders, timing, BCH
// format bits, level M, smallest version) independently of the library, and
// decode it with zbarimg where that is installed.
package totp
