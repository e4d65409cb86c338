package seal

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path/filepath"
	"strings"
)

// SigningKeyFile is the name of the deployment's Ed25519 signing key in the
// data directory.
const SigningKeyFile = "signing.key"

// publicKeyPrefix starts the text form of a PublicKey.
const publicKeyPrefix = "salama-ed25519:"

var (
	// ErrSigningKey means the signing key could not be loaded: bad
	// environment value, or a file with the wrong length or permissions.
	ErrSigningKey = errors.New("seal: unusable signing key")

	// ErrNoSigningKey means LoadSigningKey found no key: neither an
	// environment value nor a signing.key file.
	ErrNoSigningKey = errors.New("seal: no signing key")

	// ErrPublicKeyFormat means a signing public key does not parse.
	ErrPublicKeyFormat = errors.New("seal: malformed signing public key")
)

// SigningKey is the deployment's Ed25519 key (RFC 8032, pure Ed25519). It
// signs the audit log and evidence bundle manifests, so that an edit made
// with access to the database alone, or a forged bundle, fails verification
// with the public key.
//
// Like the network secret it is never stored in the database: it lives in
// dataDir/signing.key (the 32-byte seed as 64 hex digits and a newline,
// mode 0600) or in SALAMA_SIGNING_KEY. Someone who can write the database
// and also read this key can rewrite the audit log undetectably; keep the
// key off database hosts and out of database backups.
type SigningKey struct {
	priv ed25519.PrivateKey
}

// LoadOrCreateSigningKey returns the signing key.
//
// If fromEnv is not empty it is the seed, as 64 hex digits, and the data
// directory is not touched. Otherwise the seed is read from
// dataDir/signing.key, which is created at first start with mode 0600 in the
// same way as the network secret (see LoadOrCreateNetworkSecret): atomically,
// and a file readable or writable by group or others, or of the wrong
// length, is refused rather than repaired.
func LoadOrCreateSigningKey(dataDir, fromEnv string) (*SigningKey, error) {
	return loadSigningKey(dataDir, fromEnv, true)
}

// LoadSigningKey is LoadOrCreateSigningKey for commands that must not create
// a key (verifying with a fresh key would only report that every entry is
// forged). With neither fromEnv nor the file it returns ErrNoSigningKey.
func LoadSigningKey(dataDir, fromEnv string) (*SigningKey, error) {
	return loadSigningKey(dataDir, fromEnv, false)
}

func loadSigningKey(dataDir, fromEnv string, create bool) (*SigningKey, error) {
	if fromEnv != "" {
		seed, err := decodeNetworkSecret(strings.TrimSpace(fromEnv))
		if err != nil {
			return nil, fmt.Errorf("%w: the environment value must be %d hex digits", ErrSigningKey, 2*ed25519.SeedSize)
		}
		return newSigningKey(seed), nil
	}
	if dataDir == "" {
		return nil, fmt.Errorf("%w: no data directory", ErrInvalidInput)
	}
	// The seed is, like the network secret, 32 random bytes kept as hex in
	// a 0600 file, so the network secret's file helpers serve as they are.
	path := filepath.Join(dataDir, SigningKeyFile)
	seed, err := readNetworkSecretFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if !create {
			return nil, fmt.Errorf("%w: %s does not exist", ErrNoSigningKey, path)
		}
		seed, err = createNetworkSecretFile(dataDir, path)
		if errors.Is(err, fs.ErrExist) { // lost a race with another process
			seed, err = readNetworkSecretFile(path)
		}
	}
	if err != nil {
		return nil, signingKeyFileError(err)
	}
	return newSigningKey(seed), nil
}

// signingKeyFileError rewords an error from the network secret's file
// helpers so that it names the signing key, not the network secret.
func signingKeyFileError(err error) error {
	if errors.Is(err, ErrNetworkSecret) {
		// "<ErrNetworkSecret>: <path> is accessible to group or others …"
		detail := strings.TrimPrefix(err.Error(), ErrNetworkSecret.Error()+": ")
		return fmt.Errorf("%w: %s", ErrSigningKey, detail)
	}
	// "seal: network secret: %w" around an *fs.PathError, which names the
	// file.
	if inner := errors.Unwrap(err); inner != nil {
		err = inner
	}
	return fmt.Errorf("seal: signing key: %w", err)
}

// GenerateSigningKey returns a new random signing key, for a rotation.
func GenerateSigningKey() (*SigningKey, error) {
	seed := make([]byte, ed25519.SeedSize)
	defer clear(seed)
	if _, err := rand.Read(seed); err != nil {
		return nil, fmt.Errorf("seal: reading randomness: %w", err)
	}
	return newSigningKey(seed), nil
}

// ReadSigningKeyFile reads a key from any file of the signing.key format
// (a rotation's signing.key.next).
func ReadSigningKeyFile(path string) (*SigningKey, error) {
	seed, err := readNetworkSecretFile(path)
	if err != nil {
		return nil, signingKeyFileError(err)
	}
	defer clear(seed)
	return newSigningKey(seed), nil
}

// WriteFile writes the key to path in the signing.key format, mode 0600,
// replacing it atomically (see NetworkSecret.WriteFile).
func (k *SigningKey) WriteFile(path string) error {
	k.mustLive()
	return replaceSecretFile(path, k.priv.Seed())
}

// Hex returns the seed as SALAMA_SIGNING_KEY takes it, for an operator
// who must copy a new key into a deployment's environment.
func (k *SigningKey) Hex() string {
	k.mustLive()
	return hex.EncodeToString(k.priv.Seed())
}

// NewSigningKeyForTest returns a random in-memory key, for tests.
func NewSigningKeyForTest() *SigningKey {
	seed := make([]byte, ed25519.SeedSize)
	if _, err := rand.Read(seed); err != nil {
		panic("seal: reading randomness: " + err.Error())
	}
	return newSigningKey(seed)
}

func newSigningKey(seed []byte) *SigningKey {
	return &SigningKey{priv: ed25519.NewKeyFromSeed(seed)}
}

func (k *SigningKey) mustLive() {
	if k == nil || k.priv == nil {
		panic("seal: SigningKey used before LoadOrCreateSigningKey")
	}
}

// Sign returns the 64-byte Ed25519 signature of msg. Ed25519 is
// deterministic: the same key and message always give the same signature.
func (k *SigningKey) Sign(msg []byte) []byte {
	k.mustLive()
	return ed25519.Sign(k.priv, msg)
}

// Public returns the key's public half, which verifies its signatures.
func (k *SigningKey) Public() PublicKey {
	k.mustLive()
	return PublicKey{k: k.priv.Public().(ed25519.PublicKey)}
}

// Format redacts the key in any fmt verb.
func (k SigningKey) Format(f fmt.State, verb rune) {
	_, _ = f.Write([]byte("seal.SigningKey(redacted)"))
}

// LogValue redacts the key in log/slog.
func (k SigningKey) LogValue() slog.Value { return slog.StringValue("redacted") }

// PublicKey is an Ed25519 public key. Its zero value verifies nothing.
type PublicKey struct {
	k ed25519.PublicKey
}

// ParsePublicKey parses the String form of a public key:
// "salama-ed25519:" followed by the 32 key bytes in padded standard base64.
func ParsePublicKey(s string) (PublicKey, error) {
	b64, ok := strings.CutPrefix(strings.TrimSpace(s), publicKeyPrefix)
	if !ok {
		return PublicKey{}, ErrPublicKeyFormat
	}
	b, err := base64.StdEncoding.Strict().DecodeString(b64)
	if err != nil || len(b) != ed25519.PublicKeySize {
		return PublicKey{}, ErrPublicKeyFormat
	}
	return PublicKey{k: ed25519.PublicKey(b)}, nil
}

// String returns "salama-ed25519:" and the key in base64, the form an
// operator records and ParsePublicKey reads. The zero key gives "".
func (p PublicKey) String() string {
	if len(p.k) != ed25519.PublicKeySize {
		return ""
	}
	return publicKeyPrefix + base64.StdEncoding.EncodeToString(p.k)
}

// Verify reports whether sig is a valid signature of msg by p.
func (p PublicKey) Verify(msg, sig []byte) bool {
	if len(p.k) != ed25519.PublicKeySize {
		return false
	}
	return ed25519.Verify(p.k, msg, sig)
}

// Hex returns the key's 32 bytes in hex: the form audit entries name keys
// in (their values may not hold base64's '=').
func (p PublicKey) Hex() string { return hex.EncodeToString(p.k) }

// ParsePublicKeyHex parses the Hex form.
func ParsePublicKeyHex(s string) (PublicKey, error) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != ed25519.PublicKeySize {
		return PublicKey{}, ErrPublicKeyFormat
	}
	return PublicKey{k: ed25519.PublicKey(b)}, nil
}

// Equal reports whether p and q are the same key.
func (p PublicKey) Equal(q PublicKey) bool {
	return len(p.k) == ed25519.PublicKeySize && p.k.Equal(q.k)
}

// IsZero reports whether p is the zero value (no key).
func (p PublicKey) IsZero() bool { return len(p.k) == 0 }

// The network secret's file helpers read and write exactly networkSecretSize
// bytes; this fails to compile if that ever stops being an Ed25519 seed.
var _ = [1]struct{}{}[networkSecretSize-ed25519.SeedSize]
