package seal

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// RFC 8032 §7.1, TEST 2; the base64 form was computed with Python's
// cryptography package.
const (
	rfcSeed   = "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb"
	rfcPublic = "salama-ed25519:PUAXw+hDiVqStwqnTRt+vJyYLM8uxJaMwM1V8Sr0Zgw="
	rfcMsg    = "72"
	rfcSig    = "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da" +
		"085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"
)

func TestVectorSigningKey(t *testing.T) {
	k, err := LoadOrCreateSigningKey("", rfcSeed)
	if err != nil {
		t.Fatal(err)
	}
	if got := k.Public().String(); got != rfcPublic {
		t.Errorf("public key = %s, want %s", got, rfcPublic)
	}
	msg := unhex(t, rfcMsg)
	sig := k.Sign(msg)
	if got := hex.EncodeToString(sig); got != rfcSig {
		t.Errorf("signature = %s, want %s", got, rfcSig)
	}
	pub, err := ParsePublicKey(rfcPublic)
	if err != nil {
		t.Fatal(err)
	}
	if !pub.Verify(msg, unhex(t, rfcSig)) {
		t.Error("the RFC signature does not verify under the parsed key")
	}
}

func TestSigningRoundTrip(t *testing.T) {
	k := NewSigningKeyForTest()
	msg := []byte("salama audit entry")
	sig := k.Sign(msg)
	pub := k.Public()
	if !pub.Verify(msg, sig) {
		t.Fatal("signature does not verify")
	}
	parsed, err := ParsePublicKey(pub.String())
	if err != nil || !parsed.Verify(msg, sig) {
		t.Fatalf("parsed key: %v", err)
	}

	tampered := bytes.Clone(msg)
	tampered[0] ^= 1
	badSig := bytes.Clone(sig)
	badSig[10] ^= 1
	other := NewSigningKeyForTest().Public()
	tests := []struct {
		name     string
		pub      PublicKey
		msg, sig []byte
	}{
		{"tampered message", pub, tampered, sig},
		{"tampered signature", pub, msg, badSig},
		{"short signature", pub, msg, sig[:63]},
		{"no signature", pub, msg, nil},
		{"wrong key", other, msg, sig},
		{"zero key", PublicKey{}, msg, sig},
	}
	for _, tt := range tests {
		if tt.pub.Verify(tt.msg, tt.sig) {
			t.Errorf("%s: verified", tt.name)
		}
	}
	if !(PublicKey{}).IsZero() || pub.IsZero() {
		t.Error("IsZero wrong")
	}
	if (PublicKey{}).String() != "" {
		t.Error("zero key has a text form")
	}
}

func TestParsePublicKeyRejects(t *testing.T) {
	good := strings.TrimPrefix(rfcPublic, publicKeyPrefix)
	for _, s := range []string{
		"",
		good,                                 // no prefix
		"salama-x25519:" + good,              // wrong prefix
		publicKeyPrefix,                      // no key
		publicKeyPrefix + good[:len(good)-4], // short
		publicKeyPrefix + good + "AAAA",      // long
		publicKeyPrefix + strings.TrimSuffix(good, "="), // unpadded
		publicKeyPrefix + good[:len(good)-2] + "x=",     // non-canonical trailing bits
		publicKeyPrefix + "!" + good[1:],                // not base64
	} {
		if _, err := ParsePublicKey(s); !errors.Is(err, ErrPublicKeyFormat) {
			t.Errorf("ParsePublicKey(%q) = %v, want ErrPublicKeyFormat", s, err)
		}
	}
	if _, err := ParsePublicKey("  " + rfcPublic + "\n"); err != nil {
		t.Errorf("surrounding space refused: %v", err)
	}
}

func TestSigningKeyFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "salama-data") // does not exist yet
	if _, err := LoadSigningKey(dir, ""); !errors.Is(err, ErrNoSigningKey) {
		t.Fatalf("LoadSigningKey without a file: %v, want ErrNoSigningKey", err)
	}
	k1, err := LoadOrCreateSigningKey(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	path := checkOnlySecretFile(t, dir, SigningKeyFile)
	raw, _ := os.ReadFile(path)
	if len(raw) != 65 || raw[64] != '\n' {
		t.Fatalf("file holds %d bytes, want 64 hex digits and a newline", len(raw))
	}

	msg := []byte("m")
	for name, load := range map[string]func() (*SigningKey, error){
		"LoadOrCreate": func() (*SigningKey, error) { return LoadOrCreateSigningKey(dir, "") },
		"Load":         func() (*SigningKey, error) { return LoadSigningKey(dir, "") },
		"environment":  func() (*SigningKey, error) { return LoadSigningKey(t.TempDir(), string(raw)) },
	} {
		k2, err := load()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if k1.Public().String() != k2.Public().String() || !bytes.Equal(k1.Sign(msg), k2.Sign(msg)) {
			t.Fatalf("%s: reloaded key differs", name)
		}
	}

	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o660} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		_, err := LoadOrCreateSigningKey(dir, "")
		if !errors.Is(err, ErrSigningKey) {
			t.Fatalf("mode %04o: err = %v, want ErrSigningKey", mode, err)
		}
		if errors.Is(err, ErrNetworkSecret) || strings.Contains(err.Error(), "network secret") {
			t.Errorf("mode %04o: error %q speaks of the network secret", mode, err)
		}
		if !strings.Contains(err.Error(), SigningKeyFile) || !strings.Contains(err.Error(), "chmod 600") {
			t.Errorf("mode %04o: error %q does not say which file or what to do", mode, err)
		}
	}
	if err := os.Chmod(path, 0o400); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateSigningKey(dir, ""); err != nil {
		t.Fatalf("read-only owner file refused: %v", err)
	}

	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("abcd\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateSigningKey(dir, ""); !errors.Is(err, ErrSigningKey) {
		t.Errorf("short file: %v, want ErrSigningKey", err)
	}
}

func TestSigningKeyFileIsNotADirectory(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, SigningKeyFile), 0o700); err != nil {
		t.Fatal(err)
	}
	_, err := LoadOrCreateSigningKey(dir, "")
	if err == nil || strings.Contains(err.Error(), "network secret") {
		t.Fatalf("directory in place of the key: %v", err)
	}
}

func TestSigningKeyEnvironment(t *testing.T) {
	for _, v := range []string{"abcd", strings.Repeat("zz", 32), strings.Repeat("ab", 33)} {
		if _, err := LoadOrCreateSigningKey(t.TempDir(), v); !errors.Is(err, ErrSigningKey) {
			t.Errorf("environment %q: %v, want ErrSigningKey", v, err)
		}
	}
	dir := t.TempDir()
	if _, err := LoadOrCreateSigningKey(dir, " "+rfcSeed+"\n"); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Error("a key from the environment touched the data directory")
	}
	if _, err := LoadOrCreateSigningKey("", ""); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("no data directory: %v", err)
	}
}

// TestSigningKeyCreateRace starts several processes' worth of first starts at
// once: all must end up with the one key that reached the disk.
func TestSigningKeyCreateRace(t *testing.T) {
	dir := t.TempDir()
	const n = 8
	keys := make([]*SigningKey, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { keys[i], errs[i] = LoadOrCreateSigningKey(dir, "") })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if keys[i].Public().String() != keys[0].Public().String() {
			t.Fatal("two first starts got different keys")
		}
	}
}

func TestSigningKeyRedacted(t *testing.T) {
	k, err := LoadOrCreateSigningKey("", rfcSeed)
	if err != nil {
		t.Fatal(err)
	}
	seedPrefix := rfcSeed[:8]
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "key", k, "keyval", *k)
	for _, s := range []string{
		fmt.Sprintf("%v %+v %#v %s %x %q", k, k, k, k, k, k),
		fmt.Sprintf("%v %+v %#v %s %x %q", *k, *k, *k, *k, *k, *k),
		buf.String(),
	} {
		if strings.Contains(s, seedPrefix) || strings.Contains(strings.ToLower(s), "4ccd") || strings.Contains(s, "\\x4c") {
			t.Errorf("key material formatted: %s", s)
		}
		if !strings.Contains(s, "redacted") {
			t.Errorf("not redacted: %s", s)
		}
	}
}
