package token

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"

	"github.com/salama-ke/salama/internal/seal"
)

// ErrNoSession means a cookie value is not a session cookie: not base64url,
// or not an id and a key long.
var ErrNoSession = errors.New("token: not a session cookie")

// sessionIDLen is the length of a session's random id.
const sessionIDLen = 16

// Session is a login's cookie, the survivor's receipt login and the
// console's alike: a random id and a fresh session key, sent as
// base64url(id ‖ key). The database keeps only the id's hash (IDHash) and
// what the login opened wrapped under the key, each side in its own table:
// a database dump alone, or a cookie alone, opens nothing.
type Session struct {
	ID  []byte    // 16 random bytes
	Key *seal.Key // nil once destroyed
}

// NewSession draws a new id and session key.
func NewSession() (*Session, error) {
	id := make([]byte, sessionIDLen)
	if _, err := rand.Read(id); err != nil {
		return nil, err
	}
	k, err := seal.NewKey()
	if err != nil {
		return nil, err
	}
	return &Session{ID: id, Key: k}, nil
}

// ParseSession reads a cookie value. Only its shape is checked: whether the
// id names a live session, and whether the key opens what it sealed, is the
// caller's to find out. A cookie whose key part was damaged still gives the
// id, so that ending a session (Quick exit, logging out) needs only the id.
func ParseSession(cookie string) (*Session, error) {
	b, err := base64.RawURLEncoding.DecodeString(cookie)
	if err != nil || len(b) != sessionIDLen+seal.KeySize {
		return nil, ErrNoSession
	}
	k, err := seal.KeyFromBytes(b[sessionIDLen:])
	clear(b[sessionIDLen:])
	if err != nil {
		return nil, ErrNoSession
	}
	return &Session{ID: b[:sessionIDLen:sessionIDLen], Key: k}, nil
}

// Cookie is the cookie value: base64url(id ‖ key).
func (s *Session) Cookie() string {
	k := s.Key.Bytes()
	defer clear(k)
	return base64.RawURLEncoding.EncodeToString(append(append(make([]byte, 0, sessionIDLen+seal.KeySize), s.ID...), k...))
}

// IDHash is what the database keeps of the id: SHA-256(id).
func (s *Session) IDHash() []byte { return IDHash(s.ID) }

// IDHash is SHA-256 of a session id, for holders that kept only the id.
func IDHash(id []byte) []byte {
	h := sha256.Sum256(id)
	return h[:]
}

// Destroy forgets the session key; the id stays, for the CSRF token and for
// ending the session.
func (s *Session) Destroy() {
	if s == nil {
		return
	}
	s.Key.Destroy()
	s.Key = nil
}
