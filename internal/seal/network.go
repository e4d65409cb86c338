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
//
// # Generations
//
// A secret can be rotated (internal/keys; `salama keys rotate`).
// The blind index cannot be recomputed from scratch then: the identifiers
// it covers are sealed in each report, which only the receiving
// organisation can open. So a rotation re-keys what is stored instead: each
// stored blind index b becomes HMAC(rekey(new), b), with
//
//	rekey(secret) = HKDF-Expand(secret, "salama/blind-index/rekey", 32)
//
// and from then on a new report's blind index is computed by the same
// chain: HMAC under the first generation's blind index key, then one
// re-keying HMAC for every later generation. The earlier generations are
// kept in the database, sealed under the current one (SealPrevious), so
// that only the current secret has to be kept beside the database. Someone
// who learns an earlier generation learns nothing about the re-keyed
// index: every stored value has passed through the current secret's HMAC.
// MACs (CSRF and form tokens, keyed hashes) use only the current
// generation.
type NetworkSecret struct {
	b          [networkSecretSize]byte
	blindIndex []byte   // the oldest generation's blind index key
	rekeys     [][]byte // rekey(g) of every later generation, oldest first
	previous   [][networkSecretSize]byte
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

// ErrNoNetworkSecret means LoadNetworkSecret found no secret: neither an
// environment value nor a network.secret file.
var ErrNoNetworkSecret = errors.New("seal: no network secret")

// LoadNetworkSecret is LoadOrCreateNetworkSecret without the creation: with
// neither fromEnv nor the file it returns ErrNoNetworkSecret (wrapped,
// naming the file).
func LoadNetworkSecret(dataDir, fromEnv string) (*NetworkSecret, error) {
	if fromEnv != "" {
		return LoadOrCreateNetworkSecret(dataDir, fromEnv)
	}
	if dataDir == "" {
		return nil, fmt.Errorf("%w: no data directory", ErrInvalidInput)
	}
	path := filepath.Join(dataDir, NetworkSecretFile)
	b, err := readNetworkSecretFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s does not exist", ErrNoNetworkSecret, path)
	}
	if err != nil {
		return nil, err
	}
	return newNetworkSecret(b), nil
}

// ReadNetworkSecretFile reads a network secret from any file of the
// network.secret format (a rotation's network.secret.next).
func ReadNetworkSecretFile(path string) (*NetworkSecret, error) {
	b, err := readNetworkSecretFile(path)
	if err != nil {
		return nil, err
	}
	return newNetworkSecret(b), nil
}

// WriteFile writes s (its current generation) to path in the
// network.secret format, mode 0600, through a synced temporary file in the
// same directory that is then renamed over path: a crash leaves either the
// old file or the new one. It is for rotations; first starts use
// LoadOrCreateNetworkSecret, which never replaces a file.
func (s *NetworkSecret) WriteFile(path string) error {
	s.mustLive()
	return replaceSecretFile(path, s.b[:])
}

// GenerateNetworkSecret returns a new random secret with no earlier
// generation, to replace one that is lost for good.
func GenerateNetworkSecret() (*NetworkSecret, error) {
	var b [networkSecretSize]byte
	defer clear(b[:])
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("seal: reading randomness: %w", err)
	}
	return newNetworkSecret(b[:]), nil
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
// kind ("phone", "handle:telegram", …), under the blind-index subkey, then
// re-keyed once for every later generation of the secret (see
// Generations). The kind is length-prefixed, so (kind, value) pairs cannot
// collide. The caller normalises; this function does not.
func (s *NetworkSecret) BlindIndex(kind, normalised string) []byte {
	s.mustLive()
	m := hmac.New(sha256.New, s.blindIndex)
	var l [4]byte
	binary.BigEndian.PutUint32(l[:], uint32(len(kind)))
	m.Write(l[:])
	m.Write([]byte(kind))
	m.Write([]byte(normalised))
	b := m.Sum(nil)
	for _, k := range s.rekeys {
		b = rekeyBlind(k, b)
	}
	return b
}

func rekeyBlind(key, b []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(b)
	return m.Sum(nil)
}

// Fingerprint names the secret without revealing anything about it: the
// hex of HMAC-SHA-256 under HKDF-Expand(secret, "salama/fingerprint", 32)
// of a fixed label. The database keeps it, so that a server started with a
// lost, replaced or mistyped secret refuses to start instead of quietly
// computing another blind index.
func (s *NetworkSecret) Fingerprint() string {
	s.mustLive()
	return fingerprintOf(s.b[:])
}

func fingerprintOf(secret []byte) string {
	k, err := hkdf.Expand(sha256.New, secret, "salama/fingerprint", 32)
	if err != nil {
		panic("seal: hkdf: " + err.Error())
	}
	defer clear(k)
	return hex.EncodeToString(rekeyBlind(k, []byte("salama network secret fingerprint v1")))
}

// Generations is how many secrets the blind index has been computed under:
// 1 until the first rotation.
func (s *NetworkSecret) Generations() int {
	s.mustLive()
	return 1 + len(s.previous)
}

// Rotate returns a new random secret that succeeds s: its earlier
// generations are s's and s itself. Store RekeyBlindIndex of every stored
// blind index, and the new secret's SealPrevious, together with its
// fingerprint, in one transaction; then replace the secret file.
func (s *NetworkSecret) Rotate() (*NetworkSecret, error) {
	s.mustLive()
	var b [networkSecretSize]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("seal: reading randomness: %w", err)
	}
	next := newNetworkSecret(b[:])
	clear(b[:])
	next.setPrevious(append(append([][networkSecretSize]byte(nil), s.previous...), s.b))
	return next, nil
}

// setPrevious installs earlier generations, oldest first, and derives the
// blind index chain from them.
func (s *NetworkSecret) setPrevious(prev [][networkSecretSize]byte) {
	s.previous = prev
	s.rekeys = nil
	if len(prev) == 0 {
		s.blindIndex = s.subkey("salama/blind-index")
		return
	}
	first := newNetworkSecret(prev[0][:])
	s.blindIndex = first.blindIndex
	for _, g := range prev[1:] {
		s.rekeys = append(s.rekeys, newNetworkSecret(g[:]).subkey("salama/blind-index/rekey"))
	}
	s.rekeys = append(s.rekeys, s.subkey("salama/blind-index/rekey"))
}

// RekeyBlindIndex turns a blind index stored under the previous generation
// into the one s computes: HMAC under s's re-keying key. Only a secret made
// by Rotate, or one that has opened its previous generations, may re-key.
func (s *NetworkSecret) RekeyBlindIndex(old []byte) []byte {
	s.mustLive()
	if len(s.previous) == 0 {
		panic("seal: RekeyBlindIndex on a secret with no previous generation")
	}
	return rekeyBlind(s.rekeys[len(s.rekeys)-1], old)
}

// domainKeyring seals the earlier generations of the network secret.
const domainKeyring = "salama/network-keyring"

// SealPrevious seals s's earlier generations (32 bytes each, oldest first)
// under a key derived from s, for the database: nil if there are none.
func (s *NetworkSecret) SealPrevious() ([]byte, error) {
	s.mustLive()
	if len(s.previous) == 0 {
		return nil, nil
	}
	pt := make([]byte, 0, len(s.previous)*networkSecretSize)
	for _, g := range s.previous {
		pt = append(pt, g[:]...)
	}
	defer clear(pt)
	k := s.subkey("salama/keyring")
	defer clear(k)
	return sealAEAD((*[KeySize]byte)(k), domainKeyring, "network-secret", "previous", pt)
}

// OpenPrevious opens what SealPrevious sealed with this same secret and
// installs the earlier generations, so that BlindIndex computes the
// rotated chain. Any failure is ErrOpen and changes nothing.
func (s *NetworkSecret) OpenPrevious(sealed []byte) error {
	s.mustLive()
	k := s.subkey("salama/keyring")
	defer clear(k)
	pt, err := openAEAD((*[KeySize]byte)(k), domainKeyring, "network-secret", "previous", sealed)
	if err != nil {
		return err
	}
	defer clear(pt)
	if len(pt) == 0 || len(pt)%networkSecretSize != 0 {
		return ErrOpen
	}
	prev := make([][networkSecretSize]byte, len(pt)/networkSecretSize)
	for i := range prev {
		copy(prev[i][:], pt[i*networkSecretSize:])
	}
	s.setPrevious(prev)
	return nil
}

// Previous returns the earlier generations, newest first, each as a
// secret of its own: for a derivation that cannot be re-keyed without what
// the survivor holds (a receipt's), which must try the generations in turn
// and upgrade to the current one when it can.
func (s *NetworkSecret) Previous() []*NetworkSecret {
	s.mustLive()
	out := make([]*NetworkSecret, 0, len(s.previous))
	for i := len(s.previous) - 1; i >= 0; i-- {
		out = append(out, newNetworkSecret(s.previous[i][:]))
	}
	return out
}

// Hex returns the secret as SALAMA_NETWORK_SECRET takes it, for the one
// moment an operator must copy a new secret into a deployment's
// environment (a rotation without a secret file).
func (s *NetworkSecret) Hex() string {
	s.mustLive()
	return hex.EncodeToString(s.b[:])
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
