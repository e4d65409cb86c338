package seal

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
)

// NetworkSecretFile is the name of the network secret in the data directory.
const NetworkSecretFile = "network.secret"

const networkSecretSize = 32

// NetworkSecret is the deployment's 32-byte secret. It keys the blind index
// of identifiers, every receipt's lookup and wrap keys ([Receipts]), CSRF
// tokens and other MACs, and is never stored in the database: a database
// dump alone cannot test a phone number against the blind index, nor a
// receipt against the receipts table.
//
// Subkeys are derived with HKDF-Expand (SHA-256, RFC 5869) using the secret
// directly as the pseudorandom key, which it is (32 uniformly random bytes):
//
//	blind index key  = HKDF-Expand(secret, "salama/blind-index", 32)
//	MAC key(purpose) = HKDF-Expand(secret, "salama/mac/" + purpose, 32)
//	receipt keys     = HKDF-Expand(secret, "salama/receipt/v2/lookup" or "…/wrap", 32)
//
// so that no two uses share a key.
type NetworkSecret struct {
	b          [networkSecretSize]byte
	blindIndex []byte
	live       bool
}

func newNetworkSecret(b []byte) *NetworkSecret {
	s := &NetworkSecret{live: true}
	copy(s.b[:], b)
	s.blindIndex = s.subkey("salama/blind-index")
	return s
}

// LoadOrCreateNetworkSecret returns the network secret.
//
// If fromEnv is not empty it is the secret, as 64 hex digits, and the data
// directory is not touched (a deployment that keeps the secret outside the
// disk keeps it so). Otherwise the secret is read from dataDir/network.secret
// (64 hex digits and a newline), which is created at first start with mode
// 0600. A file readable or writable by group or others, or of the wrong
// length, is refused rather than repaired: the operator must look.
//
// Creation is atomic: the secret is written and synced to a temporary file,
// then hard-linked into place, which fails if another process got there
// first (then its secret is read). A crash never leaves a half-written
// network.secret.
func LoadOrCreateNetworkSecret(dataDir, fromEnv string) (*NetworkSecret, error) {
	if fromEnv != "" {
		b, err := decodeNetworkSecret(strings.TrimSpace(fromEnv))
		if err != nil {
			return nil, fmt.Errorf("%w: the environment value must be %d hex digits", ErrNetworkSecret, 2*networkSecretSize)
		}
		return newNetworkSecret(b), nil
	}
	if dataDir == "" {
		return nil, fmt.Errorf("%w: no data directory", ErrInvalidInput)
	}
	path := filepath.Join(dataDir, NetworkSecretFile)
	b, err := readNetworkSecretFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		b, err = createNetworkSecretFile(dataDir, path)
		if errors.Is(err, fs.ErrExist) { // lost a race with another process
			b, err = readNetworkSecretFile(path)
		}
	}
	if err != nil {
		return nil, err
	}
	return newNetworkSecret(b), nil
}

// NewNetworkSecretForTest returns a random in-memory secret, for tests.
func NewNetworkSecretForTest() *NetworkSecret {
	var b [networkSecretSize]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("seal: reading randomness: " + err.Error())
	}
	return newNetworkSecret(b[:])
}

func decodeNetworkSecret(s string) ([]byte, error) {
	if len(s) != 2*networkSecretSize {
		return nil, ErrNetworkSecret
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, ErrNetworkSecret
	}
	return b, nil
}

func readNetworkSecretFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("seal: network secret: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("seal: network secret: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s is not a regular file", ErrNetworkSecret, path)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s is accessible to group or others (mode %04o); run chmod 600 on it", ErrNetworkSecret, path, fi.Mode().Perm())
	}
	buf, err := io.ReadAll(io.LimitReader(f, 4*networkSecretSize))
	if err != nil {
		return nil, fmt.Errorf("seal: network secret: %w", err)
	}
	b, err := decodeNetworkSecret(strings.TrimSuffix(string(buf), "\n"))
	if err != nil {
		return nil, fmt.Errorf("%w: %s must hold exactly %d hex digits", ErrNetworkSecret, path, 2*networkSecretSize)
	}
	return b, nil
}

func createNetworkSecretFile(dataDir, path string) ([]byte, error) {
	b := make([]byte, networkSecretSize)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("seal: reading randomness: %w", err)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("seal: network secret: %w", err)
	}
	// CreateTemp opens with O_EXCL and mode 0600.
	tmp, err := os.CreateTemp(dataDir, "."+NetworkSecretFile+".*")
	if err != nil {
		return nil, fmt.Errorf("seal: network secret: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, werr := tmp.WriteString(hex.EncodeToString(b) + "\n")
	serr := tmp.Sync()
	cerr := tmp.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		return nil, fmt.Errorf("seal: network secret: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		return nil, fmt.Errorf("seal: network secret: %w", err)
	}
	if d, err := os.Open(dataDir); err == nil {
		_ = d.Sync() // make the new name durable; not every platform supports it
		_ = d.Close()
	}
	return b, nil
}

func (s *NetworkSecret) subkey(info string) []byte {
	k, err := hkdf.Expand(sha256.New, s.b[:], info, 32)
	if err != nil {
		panic("seal: hkdf: " + err.Error()) // unreachable: 32 bytes is always allowed
	}
	return k
}

func (s *NetworkSecret) mustLive() {
	if s == nil || !s.live {
		panic("seal: NetworkSecret used before LoadOrCreateNetworkSecret")
	}
}

// BlindIndex returns HMAC-SHA-256 of a normalised identifier of the given
// kind ("phone", "handle:telegram", …), under the blind-index subkey. The
// kind is length-prefixed, so (kind, value) pairs cannot collide. The caller
// normalises; this function does not.
func (s *NetworkSecret) BlindIndex(kind, normalised string) []byte {
	s.mustLive()
	m := hmac.New(sha256.New, s.blindIndex)
	var l [4]byte
	binary.BigEndian.PutUint32(l[:], uint32(len(kind)))
	m.Write(l[:])
	m.Write([]byte(kind))
	m.Write([]byte(normalised))
	return m.Sum(nil)
}

// MAC returns HMAC-SHA-256 of msg under the subkey for purpose ("csrf",
// "ussd-session", …).
func (s *NetworkSecret) MAC(purpose string, msg []byte) []byte {
	s.mustLive()
	key := s.subkey("salama/mac/" + purpose)
	defer clear(key)
	m := hmac.New(sha256.New, key)
	m.Write(msg)
	return m.Sum(nil)
}

// VerifyMAC reports in constant time whether mac is MAC(purpose, msg).
func (s *NetworkSecret) VerifyMAC(purpose string, msg, mac []byte) bool {
	if s == nil || !s.live {
		return false
	}
	return hmac.Equal(s.MAC(purpose, msg), mac)
}

// Format redacts the secret in any fmt verb.
func (s NetworkSecret) Format(f fmt.State, verb rune) {
	_, _ = f.Write([]byte("seal.NetworkSecret(redacted)"))
}

// LogValue redacts the secret in log/slog.
func (s NetworkSecret) LogValue() slog.Value { return slog.StringValue("redacted") }
