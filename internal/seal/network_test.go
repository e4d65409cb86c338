package seal

import (
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// checkOnlySecretFile fails t unless dir holds name alone, readable and
// writable by its owner only, and returns its path.
func checkOnlySecretFile(t *testing.T, dir, name string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Fatalf("created with mode %04o, want 0600", perm)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("data dir holds %d entries, want only %s", len(entries), name)
	}
	return path
}

func TestNetworkSecretFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "salama-data") // does not exist yet
	s1, err := LoadOrCreateNetworkSecret(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	path := checkOnlySecretFile(t, dir, NetworkSecretFile)
	s2, err := LoadOrCreateNetworkSecret(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if s1.b != s2.b {
		t.Fatal("reloaded secret differs")
	}
	if !bytes.Equal(s1.BlindIndex("phone", "+254712345678"), s2.BlindIndex("phone", "+254712345678")) {
		t.Fatal("reloaded secret gives another blind index")
	}
	// The file is the same hex an operator may put in the environment.
	raw, _ := os.ReadFile(path)
	s3, err := LoadOrCreateNetworkSecret(t.TempDir(), string(raw))
	if err != nil {
		t.Fatal(err)
	}
	if s3.b != s1.b {
		t.Fatal("file content as environment value gives another secret")
	}

	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o660} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadOrCreateNetworkSecret(dir, ""); !errors.Is(err, ErrNetworkSecret) {
			t.Fatalf("mode %04o: err = %v, want ErrNetworkSecret", mode, err)
		}
	}
	if err := os.Chmod(path, 0o400); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateNetworkSecret(dir, ""); err != nil {
		t.Fatalf("read-only owner file refused: %v", err)
	}
}

func TestNetworkSecretFileRefusesBadContent(t *testing.T) {
	good := strings.Repeat("ab", 32)
	tests := []struct {
		name, content string
		ok            bool
	}{
		{"hex and newline", good + "\n", true},
		{"hex without newline", good, true},
		{"empty", "", false},
		{"short", good[:62] + "\n", false},
		{"long", good + "ab\n", false},
		{"raw bytes", string(bytes.Repeat([]byte{0xab}, 32)), false},
		{"two newlines", good + "\n\n", false},
		{"not hex", strings.Repeat("zz", 32), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, NetworkSecretFile), []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := LoadOrCreateNetworkSecret(dir, "")
			if tt.ok != (err == nil) {
				t.Fatalf("err = %v", err)
			}
			if !tt.ok && !errors.Is(err, ErrNetworkSecret) {
				t.Fatalf("err = %v, want ErrNetworkSecret", err)
			}
			if got, _ := os.ReadFile(filepath.Join(dir, NetworkSecretFile)); string(got) != tt.content {
				t.Fatal("an existing file was rewritten")
			}
		})
	}
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, NetworkSecretFile), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateNetworkSecret(dir, ""); err == nil {
		t.Fatal("a directory named network.secret was accepted")
	}
}

func TestNetworkSecretConcurrentFirstStart(t *testing.T) {
	dir := t.TempDir()
	var wg sync.WaitGroup
	secrets := make([]*NetworkSecret, 8)
	for i := range secrets {
		wg.Go(func() {
			s, err := LoadOrCreateNetworkSecret(dir, "")
			if err != nil {
				t.Error(err)
				return
			}
			secrets[i] = s
		})
	}
	wg.Wait()
	for _, s := range secrets[1:] {
		if s == nil || secrets[0] == nil || s.b != secrets[0].b {
			t.Fatal("concurrent first starts disagree on the secret")
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("temporary files left behind: %d entries", len(entries))
	}
}

func TestNetworkSecretFromEnv(t *testing.T) {
	key := strings.Repeat("0f", 32)
	tests := []struct {
		name, env string
		ok        bool
	}{
		{"lower hex", key, true},
		{"upper hex", strings.ToUpper(key), true},
		{"trailing newline", key + "\n", true},
		{"63 chars", key[:63], false},
		{"65 chars", key + "0", false},
		{"not hex", strings.Repeat("g0", 32), false},
		{"base64", "Dw8PDw8PDw8PDw8PDw8PDw8PDw8PDw8PDw8PDw8PDw8=", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			s, err := LoadOrCreateNetworkSecret(dir, tt.env)
			if !tt.ok {
				if !errors.Is(err, ErrNetworkSecret) {
					t.Fatalf("err = %v, want ErrNetworkSecret", err)
				}
				if strings.Contains(err.Error(), strings.TrimSpace(tt.env)) {
					t.Fatal("error text contains the secret")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if hex.EncodeToString(s.b[:]) != key {
				t.Fatal("wrong secret")
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Fatal("a secret from the environment was written to disk")
			}
		})
	}
	if _, err := LoadOrCreateNetworkSecret("", ""); !errors.Is(err, ErrInvalidInput) {
		t.Fatalf("no dir, no env: err = %v", err)
	}
}

func TestBlindIndexAndMAC(t *testing.T) {
	s := NewNetworkSecretForTest()
	other := NewNetworkSecretForTest()
	phone := s.BlindIndex("phone", "+254712345678")
	if len(phone) != 32 {
		t.Fatalf("blind index is %d bytes", len(phone))
	}
	distinct := map[string][]byte{
		"other value":                s.BlindIndex("phone", "+254712345679"),
		"other kind":                 s.BlindIndex("handle", "+254712345678"),
		"shifted boundary":           s.BlindIndex("phone+", "254712345678"),
		"other secret":               other.BlindIndex("phone", "+254712345678"),
		"MAC with same purpose name": s.MAC("blind-index", []byte("\x00\x00\x00\x05phone+254712345678")),
	}
	for name, v := range distinct {
		if bytes.Equal(v, phone) {
			t.Errorf("%s: same blind index", name)
		}
	}

	msg := []byte("session-123")
	mac := s.MAC("csrf", msg)
	tests := []struct {
		name    string
		secret  *NetworkSecret
		purpose string
		msg     []byte
		mac     []byte
		want    bool
	}{
		{"good", s, "csrf", msg, mac, true},
		{"other purpose", s, "ussd", msg, mac, false},
		{"other message", s, "csrf", []byte("session-124"), mac, false},
		{"other secret", other, "csrf", msg, mac, false},
		{"truncated mac", s, "csrf", msg, mac[:16], false},
		{"empty mac", s, "csrf", msg, nil, false},
		{"nil secret", nil, "csrf", msg, mac, false},
	}
	for _, tt := range tests {
		if got := tt.secret.VerifyMAC(tt.purpose, tt.msg, tt.mac); got != tt.want {
			t.Errorf("%s: VerifyMAC = %v", tt.name, got)
		}
	}
}

func TestZeroNetworkSecretPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("a zero NetworkSecret computed a blind index")
		}
	}()
	var s NetworkSecret
	s.BlindIndex("phone", "+254712345678")
}
