package token_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"testing"

	"github.com/salama-ke/salama/internal/token"
)

func TestSessionCookie(t *testing.T) {
	s, err := token.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	other, err := token.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(s.ID, other.ID) || bytes.Equal(s.Key.Bytes(), other.Key.Bytes()) {
		t.Fatal("two sessions share an id or a key")
	}
	cookie := s.Cookie()
	// The wire format the sessions from before this package used:
	// base64url(16-byte id ‖ 32-byte key), no padding.
	raw, err := base64.RawURLEncoding.DecodeString(cookie)
	if err != nil || len(raw) != 48 || !bytes.Equal(raw[:16], s.ID) || !bytes.Equal(raw[16:], s.Key.Bytes()) {
		t.Fatalf("cookie %q is not id ‖ key", cookie)
	}
	want := sha256.Sum256(s.ID)
	if !bytes.Equal(s.IDHash(), want[:]) || !bytes.Equal(token.IDHash(s.ID), want[:]) {
		t.Error("the stored id hash is not SHA-256 of the id")
	}

	got, err := token.ParseSession(cookie)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.ID, s.ID) || !bytes.Equal(got.Key.Bytes(), s.Key.Bytes()) || got.Cookie() != cookie {
		t.Error("a cookie does not read back as the session it came from")
	}

	// What the session key seals opens with the key read back from the
	// cookie, and with no other.
	sealed, err := s.Key.SealSecret("u1", "session", []byte("org key"))
	if err != nil {
		t.Fatal(err)
	}
	if b, err := got.Key.OpenSecret("u1", "session", sealed); err != nil || string(b) != "org key" {
		t.Errorf("the parsed key does not open what the session sealed: %q, %v", b, err)
	}

	got.Destroy()
	if got.Key != nil || !bytes.Equal(got.ID, s.ID) {
		t.Error("Destroy must forget the key and keep the id")
	}
	got.Destroy() // twice is fine
	var none *token.Session
	none.Destroy() // and on nil
}

func TestParseSessionRefuses(t *testing.T) {
	s, err := token.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	cookie := s.Cookie()
	raw, _ := base64.RawURLEncoding.DecodeString(cookie)
	for name, c := range map[string]string{
		"empty":      "",
		"not base64": "!!" + cookie[2:],
		"short":      base64.RawURLEncoding.EncodeToString(raw[:47]),
		"long":       base64.RawURLEncoding.EncodeToString(append(raw, 0)),
		"id only":    base64.RawURLEncoding.EncodeToString(raw[:16]),
		"key only":   base64.RawURLEncoding.EncodeToString(raw[16:]),
		"truncated":  cookie[:len(cookie)-1],
		"std base64": base64.RawStdEncoding.EncodeToString(bytes.Repeat([]byte{0xff}, 48)),
	} {
		if _, err := token.ParseSession(c); !errors.Is(err, token.ErrNoSession) {
			t.Errorf("%s: %v, want ErrNoSession", name, err)
		}
	}
}

// A cookie whose key part was damaged (tampered, or a browser that cut a
// byte) still names its session, so that Quick exit and log out end it;
// its key opens nothing the session sealed.
func TestSessionDamagedKey(t *testing.T) {
	s, err := token.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := s.Key.SealSecret("u1", "session", []byte("data key"))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.RawURLEncoding.DecodeString(s.Cookie())
	raw[16+5] ^= 1
	got, err := token.ParseSession(base64.RawURLEncoding.EncodeToString(raw))
	if err != nil {
		t.Fatalf("a damaged key part: %v", err)
	}
	if !bytes.Equal(got.IDHash(), s.IDHash()) {
		t.Error("a cookie with a damaged key part names another session")
	}
	if _, err := got.Key.OpenSecret("u1", "session", sealed); err == nil {
		t.Error("a damaged key opened the session's sealed key")
	}

	// A tampered id is another session (which the store does not have).
	raw[3] ^= 1
	raw[16+5] ^= 1
	got, err = token.ParseSession(base64.RawURLEncoding.EncodeToString(raw))
	if err != nil || bytes.Equal(got.IDHash(), s.IDHash()) {
		t.Errorf("a tampered id still names the session: %v", err)
	}
}
