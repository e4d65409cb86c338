package seal

import (
	"bytes"
	"errors"
	"testing"
)

func TestUserSecret(t *testing.T) {
	k, _ := NewKey()
	other, _ := NewKey()
	secret := []byte("JBSWY3DPEHPK3PXP-totp-secret")
	sealed, err := k.SealSecret("user-1", "totp", secret)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, secret) {
		t.Fatal("secret visible in sealed form")
	}
	got, err := k.OpenSecret("user-1", "totp", sealed)
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("round trip: %v", err)
	}
	for name, open := range map[string]func() ([]byte, error){
		"other user": func() ([]byte, error) { return k.OpenSecret("user-2", "totp", sealed) },
		"other name": func() ([]byte, error) { return k.OpenSecret("user-1", "recovery", sealed) },
		"other key":  func() ([]byte, error) { return other.OpenSecret("user-1", "totp", sealed) },
		// A sealed secret is not a wrapped data key under the same binding.
		"other domain": func() ([]byte, error) { _, err := k.UnwrapDataKey("user-1", "totp", sealed); return nil, err },
	} {
		if _, err := open(); !errors.Is(err, ErrOpen) {
			t.Errorf("%s: %v, want ErrOpen", name, err)
		}
	}
	tampered := bytes.Clone(sealed)
	tampered[len(tampered)-1] ^= 1
	if _, err := k.OpenSecret("user-1", "totp", tampered); !errors.Is(err, ErrOpen) {
		t.Errorf("tampered: %v", err)
	}
}
