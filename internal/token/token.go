// Package token makes and checks the tokens Salama's forms and logins
// carry, for the survivor pages and the console alike:
//
//   - a form token proves that a form was one of ours and is fresh, where
//     there is no session to bind it to (the report and tip forms, the
//     receipt login, the console's login and enrolment): version ‖ issued
//     time ‖ 16 random bytes ‖ MAC;
//   - a CSRF token binds every form of a logged-in session to that
//     session: MAC(session id);
//   - a session cookie (Session) names a login and carries the key that
//     opens what the login unlocked: base64url(16-byte id ‖ 32-byte key).
//
// Form and CSRF tokens are MACs under the network secret
// (seal.NetworkSecret.MAC), with a purpose per form, so a token of one form
// is never accepted by another, and any instance of a deployment checks
// what another made. Nothing is stored for them. Their wire format is the
// survivor side's first one (version 1): a report form open in a
// survivor's browser across an upgrade still sends. The session cookie's
// format is the one both sides used before it was shared here, so logins
// open across an upgrade go on.
package token

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"time"

	"crypto/rand"

	"github.com/salama-ke/salama/internal/seal"
)

// ErrExpired means a form token is not ours, not for this purpose, or no
// longer fresh. The three are not told apart.
var ErrExpired = errors.New("token: not valid or expired")

const (
	version  = 1
	timeLen  = 8
	randLen  = 16
	macLen   = 32
	bodyLen  = 1 + timeLen + randLen
	totalLen = bodyLen + macLen
)

// Maker makes and checks tokens with a deployment's network secret.
type Maker struct {
	Secret *seal.NetworkSecret
	Now    func() time.Time
}

// Form returns a fresh form token for purpose.
func (m Maker) Form(purpose string) string {
	b := make([]byte, bodyLen, totalLen)
	b[0] = version
	binary.BigEndian.PutUint64(b[1:1+timeLen], uint64(m.now().Unix()))
	if _, err := rand.Read(b[1+timeLen:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	b = append(b, m.Secret.MAC(purpose, b)...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// CheckForm returns the token's random part (what tells one form from
// another: the report form keys its spent tokens on it) if tok is a form
// token of purpose issued within lifetime, and ErrExpired otherwise. A
// token from more than a minute in the future (clocks of two instances
// disagreeing a little is fine) is refused.
func (m Maker) CheckForm(purpose, tok string, lifetime time.Duration) ([]byte, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) != totalLen || b[0] != version {
		return nil, ErrExpired
	}
	if !m.Secret.VerifyMAC(purpose, b[:bodyLen], b[bodyLen:]) {
		return nil, ErrExpired
	}
	issued := time.Unix(int64(binary.BigEndian.Uint64(b[1:1+timeLen])), 0)
	now := m.now()
	if now.Sub(issued) > lifetime || issued.After(now.Add(time.Minute)) {
		return nil, ErrExpired
	}
	return b[1+timeLen : bodyLen], nil
}

// CSRF is the token every form of the session with id session carries.
func (m Maker) CSRF(purpose string, session []byte) string {
	return base64.RawURLEncoding.EncodeToString(m.Secret.MAC(purpose, session))
}

// VerifyCSRF checks a form's CSRF token against its session.
func (m Maker) VerifyCSRF(purpose string, session []byte, tok string) bool {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	return err == nil && len(session) > 0 && m.Secret.VerifyMAC(purpose, session, b)
}

func (m Maker) now() time.Time {
	if m.Now == nil {
		return time.Now()
	}
	return m.Now()
}
