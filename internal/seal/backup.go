package seal

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"filippo.io/age"
)

// Backups (`salama backup`, `salama restore`) are age files: the whole
// snapshot is stream-encrypted to one or more age recipients that the
// operator holds offline, so a stolen backup is as useless as a stolen
// database and, unlike the database, also hides the clear metadata (case
// references, counties, timestamps).

var (
	// ErrBackupRecipient means a backup recipient does not parse, or the
	// recipients cannot be combined.
	ErrBackupRecipient = errors.New("seal: unusable backup recipient")

	// ErrBackupIdentity means no age identity could be read to open a
	// backup, or none of them opens it.
	ErrBackupIdentity = errors.New("seal: cannot open the backup with the identity given")

	// ErrSecretsConflict means a data directory already holds a network
	// secret or signing key other than the one being restored.
	ErrSecretsConflict = errors.New("seal: the data directory holds a different key")
)

// BackupRecipients are the age public keys a backup is encrypted to: X25519
// ("age1…", as age-keygen makes) or hybrid post-quantum ML-KEM-768 + X25519
// ("age1pq1…", age-keygen -pq), which SPEC §6 prefers for data that must
// stay secret for decades.
type BackupRecipients struct {
	rs   []age.Recipient
	keys []string
	pq   bool
}

// ParseBackupRecipients parses one or more recipients. age refuses to mix
// post-quantum and classic recipients in one file (a classic one would be
// the weak link), so the list must be all of one kind; duplicates are
// dropped. Errors never repeat the input: someone may paste a private key.
func ParseBackupRecipients(keys []string) (*BackupRecipients, error) {
	out := &BackupRecipients{}
	seen := map[string]bool{}
	for i, k := range keys {
		k = strings.TrimSpace(k)
		if k == "" || seen[k] {
			continue
		}
		seen[k] = true
		var r age.Recipient
		var err error
		pq := strings.HasPrefix(k, "age1pq1")
		switch {
		case strings.HasPrefix(strings.ToUpper(k), "AGE-SECRET-KEY-"):
			return nil, fmt.Errorf("%w: recipient %d is a private key (AGE-SECRET-KEY-…); give its public key (age1…), and keep the private key offline", ErrBackupRecipient, i+1)
		case pq:
			r, err = age.ParseHybridRecipient(k)
		case strings.HasPrefix(k, "age1"):
			r, err = age.ParseX25519Recipient(k)
		default:
			err = errors.New("unknown type")
		}
		if err != nil {
			return nil, fmt.Errorf("%w: recipient %d is not an age X25519 (age1…) or hybrid post-quantum (age1pq1…) public key", ErrBackupRecipient, i+1)
		}
		if len(out.rs) > 0 && pq != out.pq {
			return nil, fmt.Errorf("%w: age cannot mix post-quantum (age1pq1…) and classic (age1…) recipients in one file; use one kind", ErrBackupRecipient)
		}
		out.pq = pq
		out.rs = append(out.rs, r)
		out.keys = append(out.keys, k)
	}
	if len(out.rs) == 0 {
		return nil, fmt.Errorf("%w: none given", ErrBackupRecipient)
	}
	return out, nil
}

// PostQuantum reports whether the recipients are hybrid post-quantum keys.
func (r *BackupRecipients) PostQuantum() bool { return r.pq }

// Keys returns the recipients' public keys, for the operator to check.
func (r *BackupRecipients) Keys() []string { return append([]string(nil), r.keys...) }

// Encrypt returns a writer that encrypts to dst as a binary age file. The
// caller must Close it to write the final chunk; a file without it does not
// decrypt (age authenticates the end, so truncation is detected).
func (r *BackupRecipients) Encrypt(dst io.Writer) (io.WriteCloser, error) {
	w, err := age.Encrypt(dst, r.rs...)
	if err != nil {
		return nil, fmt.Errorf("seal: age: %w", err)
	}
	return w, nil
}

// NewBackupIdentity makes a new age identity for backups: hybrid
// post-quantum unless classic is set. It returns the identity file's text,
// as age-keygen writes it (a comment with the creation time and the public
// key, then the private key), and the public key to give salama backup.
func NewBackupIdentity(classic bool, created time.Time) (file []byte, recipient string, err error) {
	var secret string
	if classic {
		id, err := age.GenerateX25519Identity()
		if err != nil {
			return nil, "", fmt.Errorf("seal: age: %w", err)
		}
		secret, recipient = id.String(), id.Recipient().String()
	} else {
		id, err := age.GenerateHybridIdentity()
		if err != nil {
			return nil, "", fmt.Errorf("seal: age: %w", err)
		}
		secret, recipient = id.String(), id.Recipient().String()
	}
	file = fmt.Appendf(nil, "# created: %s\n# public key: %s\n%s\n", created.UTC().Format(time.RFC3339), recipient, secret)
	return file, recipient, nil
}

// BackupIdentities are the age private keys that open a backup.
type BackupIdentities struct {
	ids []age.Identity
}

// maxIdentityFile bounds what ParseBackupIdentities reads.
const maxIdentityFile = 1 << 20

// ParseBackupIdentities reads an age identity file (as age-keygen writes:
// lines of AGE-SECRET-KEY-1… or AGE-SECRET-KEY-PQ-1…, comments allowed).
// Errors never quote the file.
func ParseBackupIdentities(r io.Reader) (*BackupIdentities, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxIdentityFile+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBackupIdentity, err)
	}
	defer clear(b)
	if len(b) > maxIdentityFile {
		return nil, fmt.Errorf("%w: the identity file is too large", ErrBackupIdentity)
	}
	ids, err := age.ParseIdentities(bytes.NewReader(b))
	if err != nil {
		// age's parse errors name a line number and a kind of problem,
		// never the key itself.
		return nil, fmt.Errorf("%w: not an age identity file (%v)", ErrBackupIdentity, err)
	}
	return &BackupIdentities{ids: ids}, nil
}

// Decrypt returns the plaintext of the age file in src. The reader returns
// an error, never wrong plaintext, if the file was altered, and at the end
// if it was cut short.
func (i *BackupIdentities) Decrypt(src io.Reader) (io.Reader, error) {
	r, err := age.Decrypt(src, i.ids...)
	if err != nil {
		var noMatch *age.NoIdentityMatchError
		if errors.As(err, &noMatch) {
			return nil, fmt.Errorf("%w: it was encrypted to another key", ErrBackupIdentity)
		}
		return nil, fmt.Errorf("%w: not an age file, or damaged (%v)", ErrBackupIdentity, err)
	}
	return r, nil
}

// Format redacts the private keys in any fmt verb.
func (i BackupIdentities) Format(f fmt.State, verb rune) {
	_, _ = f.Write([]byte("seal.BackupIdentities(redacted)"))
}

// LogValue redacts the private keys in log/slog.
func (i BackupIdentities) LogValue() slog.Value { return slog.StringValue("redacted") }

// DeploymentSecrets are the two keys that live beside the database, never
// in it: the network secret (blind index of identifiers, CSRF and form
// tokens) and the signing key (audit log, evidence bundles). A backup holds
// them only if the operator asks (salama backup --include-secrets), because
// whoever can open such a backup can then also test phone numbers against
// the blind index and sign audit entries.
type DeploymentSecrets struct {
	network [networkSecretSize]byte
	signing [ed25519.SeedSize]byte
}

// LoadDeploymentSecrets reads both keys from the environment values or the
// data directory, as the server does, but never creates one: it returns an
// error naming what is missing.
func LoadDeploymentSecrets(dataDir, networkEnv, signingEnv string) (*DeploymentSecrets, error) {
	d := &DeploymentSecrets{}
	nb, err := loadSecretHex(dataDir, NetworkSecretFile, networkEnv)
	if err != nil {
		return nil, fmt.Errorf("%w (network secret)", err)
	}
	defer clear(nb)
	sb, err := loadSecretHex(dataDir, SigningKeyFile, signingEnv)
	if err != nil {
		return nil, fmt.Errorf("%w (signing key)", err)
	}
	defer clear(sb)
	copy(d.network[:], nb)
	copy(d.signing[:], sb)
	return d, nil
}

func loadSecretHex(dataDir, name, env string) ([]byte, error) {
	if env = strings.TrimSpace(env); env != "" {
		return decodeNetworkSecret(env)
	}
	if dataDir == "" {
		return nil, fmt.Errorf("%w: no data directory", ErrInvalidInput)
	}
	return readNetworkSecretFile(filepath.Join(dataDir, name))
}

// SigningPublic returns the public half of the signing key, which verifies
// the audit log.
func (d *DeploymentSecrets) SigningPublic() PublicKey {
	return newSigningKey(d.signing[:]).Public()
}

// MarshalText encodes both keys for the inside of an encrypted backup.
func (d *DeploymentSecrets) MarshalText() ([]byte, error) {
	return []byte("network=" + hex.EncodeToString(d.network[:]) + " signing=" + hex.EncodeToString(d.signing[:])), nil
}

// UnmarshalText reverses MarshalText. Errors never quote the input.
func (d *DeploymentSecrets) UnmarshalText(b []byte) error {
	bad := fmt.Errorf("%w: malformed deployment secrets", ErrInvalidInput)
	fields := strings.Fields(string(b))
	if len(fields) != 2 {
		return bad
	}
	for _, f := range fields {
		k, v, _ := strings.Cut(f, "=")
		raw, err := decodeNetworkSecret(v)
		if err != nil {
			return bad
		}
		switch k {
		case "network":
			copy(d.network[:], raw)
		case "signing":
			copy(d.signing[:], raw)
		default:
			return bad
		}
		clear(raw)
	}
	return nil
}

// Format redacts the keys in any fmt verb.
func (d DeploymentSecrets) Format(f fmt.State, verb rune) {
	_, _ = f.Write([]byte("seal.DeploymentSecrets(redacted)"))
}

// LogValue redacts the keys in log/slog.
func (d DeploymentSecrets) LogValue() slog.Value { return slog.StringValue("redacted") }

// CheckInstall reports whether Install into dataDir would succeed: each key
// file must be absent or already hold the same key. It writes nothing.
func (d *DeploymentSecrets) CheckInstall(dataDir string) error {
	for _, f := range d.files() {
		if _, err := d.existing(dataDir, f.name, f.b); err != nil {
			return err
		}
	}
	return nil
}

// Install writes the network secret and signing key into dataDir (0600,
// atomically, as at first start). A file that already holds the same key is
// left alone; one that holds another key is ErrSecretsConflict, and nothing
// is overwritten. It returns the paths it wrote.
func (d *DeploymentSecrets) Install(dataDir string) ([]string, error) {
	var wrote []string
	for _, f := range d.files() {
		same, err := d.existing(dataDir, f.name, f.b)
		if err != nil {
			return wrote, err
		}
		if same {
			continue
		}
		path := filepath.Join(dataDir, f.name)
		if err := writeSecretFile(dataDir, path, f.b); err != nil {
			return wrote, err
		}
		wrote = append(wrote, path)
	}
	return wrote, nil
}

type secretFile struct {
	name string
	b    []byte
}

func (d *DeploymentSecrets) files() []secretFile {
	return []secretFile{{NetworkSecretFile, d.network[:]}, {SigningKeyFile, d.signing[:]}}
}

// existing reports whether dataDir/name holds exactly want; it returns
// false, nil when there is no such file.
func (d *DeploymentSecrets) existing(dataDir, name string, want []byte) (bool, error) {
	have, err := readNetworkSecretFile(filepath.Join(dataDir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer clear(have)
	if !bytes.Equal(have, want) {
		return false, fmt.Errorf("%w: %s", ErrSecretsConflict, filepath.Join(dataDir, name))
	}
	return true, nil
}

// replaceSecretFile writes b as hex to path through a synced temporary
// file renamed over path (a rotation replaces the old key file).
func replaceSecretFile(path string, b []byte) error {
	return putSecretFile(path, b, os.Rename)
}

// writeSecretFile writes b as hex to path, in dataDir, through a synced
// temporary file and a hard link, which fails if path appeared meanwhile.
func writeSecretFile(dataDir, path string, b []byte) error {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return fmt.Errorf("seal: %w", err)
	}
	return putSecretFile(path, b, os.Link)
}

// putSecretFile writes b as hex to a temporary file beside path, syncs it,
// has place put it at path (os.Rename or os.Link) and syncs the folder.
func putSecretFile(path string, b []byte, place func(tmp, path string) error) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("seal: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, werr := tmp.WriteString(hex.EncodeToString(b) + "\n")
	serr := tmp.Sync()
	cerr := tmp.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		return fmt.Errorf("seal: %w", err)
	}
	if err := place(tmp.Name(), path); err != nil {
		return fmt.Errorf("seal: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}
