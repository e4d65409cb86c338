// Package keys owns the deployment's two long-lived keys as a running
// Salama sees them: the network secret (blind index of identifiers, form
// and CSRF tokens) and the signing key (audit log, evidence bundles). Both
// live beside the database, never in it (seal owns them as keys); this
// package makes sure the ones a server starts with are the ones the
// database was built with, and replaces them when the operator asks.
//
// Why: a lost network.secret used to be replaced silently at the next
// start, so the same trafficker's number got another blind index and
// matching across the restart broke without a word; a new signing.key made
// every old audit entry look forged. So the database keeps a fingerprint of
// each (the secret's seal.NetworkSecret.Fingerprint, which reveals nothing
// about it; the signing key's public key) and Open refuses to start with a
// key that is missing or differs, saying which, and how to get it back.
//
// A deliberate change is a rotation (Rotate…, `salama keys rotate`), made
// with every server stopped and the old key at hand: the blind index is
// re-keyed, the fingerprints replaced and an entry signed into the audit
// log, in one transaction; then the key file is replaced. See
// docs/operating.md for the procedure and docs/security.md for why it is
// built this way.
//
// What this package must never do: create a key for a database that
// already depends on one, print or log a key, or change a key outside one
// transaction with its audit entry.
package keys

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/salama-ke/salama/internal/audit"
	"github.com/salama-ke/salama/internal/seal"
	"github.com/salama-ke/salama/internal/store"
)

// Settings the database keeps about the keys.
const (
	settingNetworkFingerprint = "network_secret_fingerprint"
	settingNetworkPrevious    = "network_secret_previous" // earlier generations, sealed (seal.NetworkSecret.SealPrevious)
	settingSigningPublic      = "signing_public_key"
)

// Files a rotation writes before the database changes, renamed over the
// key files after: a rotation interrupted in between is finished by the
// next Open (or the next rotate), never lost.
const (
	NextNetworkSecretFile = seal.NetworkSecretFile + ".next"
	NextSigningKeyFile    = seal.SigningKeyFile + ".next"
)

// ErrMissing means a key the database depends on is not there (no file in
// the data directory, nothing in the environment). ErrMismatch means the
// key given is not the one the database was built with. Their messages say
// which key, where it was looked for, and how to restore it.
var (
	ErrMissing  = errors.New("a key this database depends on is missing")
	ErrMismatch = errors.New("a key is not the one this database was set up with")
)

// Options say where the keys are.
type Options struct {
	// DataDir holds network.secret and signing.key.
	DataDir string
	// NetworkEnv and SigningEnv are SALAMA_NETWORK_SECRET and
	// SALAMA_SIGNING_KEY, which take the place of the files.
	NetworkEnv, SigningEnv string
	Logger                 *slog.Logger
}

// Keys are the deployment's keys, checked against the database.
type Keys struct {
	Network *seal.NetworkSecret
	Signing *seal.SigningKey
}

// Open loads both keys and checks them against the fingerprints in the
// database. A key is created only for a database that does not depend on
// one yet: no fingerprint stored and, for the network secret, no report
// ever stored, for the signing key, an empty audit log. The first start
// stores the fingerprints; so does the first start of a database made by
// an older Salama, which kept none (the signing key must then sign the
// newest audit entry).
func Open(ctx context.Context, st *store.Store, o Options) (*Keys, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	cleanTemporaryFiles(o.DataDir)
	ns, err := openNetworkSecret(ctx, st, o)
	if err != nil {
		return nil, err
	}
	sk, err := openSigningKey(ctx, st, o)
	if err != nil {
		return nil, err
	}
	return &Keys{Network: ns, Signing: sk}, nil
}

func openNetworkSecret(ctx context.Context, st *store.Store, o Options) (*seal.NetworkSecret, error) {
	stored, have, err := st.Setting(ctx, settingNetworkFingerprint)
	if err != nil {
		return nil, err
	}
	where := describe(o.DataDir, seal.NetworkSecretFile, o.NetworkEnv, "SALAMA_NETWORK_SECRET")
	if have && o.NetworkEnv == "" {
		if err := finishRotation(o, NextNetworkSecretFile, seal.NetworkSecretFile, string(stored), func(p string) (string, error) {
			s, err := seal.ReadNetworkSecretFile(p)
			if err != nil {
				return "", err
			}
			return s.Fingerprint(), nil
		}); err != nil {
			return nil, err
		}
	}
	s, err := seal.LoadNetworkSecret(o.DataDir, o.NetworkEnv)
	switch {
	case errors.Is(err, seal.ErrNoNetworkSecret) && have:
		return nil, fmt.Errorf("%w: the network secret is missing: %s.\n"+
			"This database was set up with one (fingerprint %s). Without it, identifier matching against earlier reports\n"+
			"breaks and receipts may no longer open. Restore it: copy network.secret from your backup of the data directory\n"+
			"(mode 0600), or from a backup made with --include-secrets: salama restore --secrets-only --from FILE --identity KEYFILE --data %s;\n"+
			"with several instances, copy it from another instance. If it is lost for good, see \"Lost keys\" in docs/operating.md",
			ErrMissing, where, short(string(stored)), dataDirArg(o.DataDir))
	case errors.Is(err, seal.ErrNoNetworkSecret):
		reports, err := st.HasReports(ctx)
		if err != nil {
			return nil, err
		}
		if reports {
			return nil, fmt.Errorf("%w: the network secret is missing: %s, and this database already holds reports whose\n"+
				"blind index it keyed (the database was made by a Salama that kept no fingerprint). Restore network.secret\n"+
				"from your backup of the data directory, or with salama restore --secrets-only; if it is lost for good, see\n"+
				"\"Lost keys\" in docs/operating.md", ErrMissing, where)
		}
		if s, err = seal.LoadOrCreateNetworkSecret(o.DataDir, ""); err != nil {
			return nil, err
		}
		o.Logger.Info("keys: created the network secret", "file", filepath.Join(o.DataDir, seal.NetworkSecretFile), "fingerprint", short(s.Fingerprint()))
	case err != nil:
		return nil, err
	}
	fp := s.Fingerprint()
	if !have {
		got, err := st.EnsureSetting(ctx, settingNetworkFingerprint, func() ([]byte, error) { return []byte(fp), nil })
		if err != nil {
			return nil, err
		}
		stored = got
	}
	if string(stored) != fp {
		return nil, fmt.Errorf("%w: the network secret in %s (fingerprint %s) is not the one this database was set up with\n"+
			"(fingerprint %s). With it, identifier matching would silently miss every earlier report. Put the right\n"+
			"network.secret back (from your backup, or from another instance of this deployment). If the secret was\n"+
			"rotated, every instance needs the new one. To replace it on purpose: salama keys rotate --network-secret",
			ErrMismatch, where, short(fp), short(string(stored)))
	}
	if prev, ok, err := st.Setting(ctx, settingNetworkPrevious); err != nil {
		return nil, err
	} else if ok {
		if err := s.OpenPrevious(prev); err != nil {
			return nil, fmt.Errorf("keys: the network secret's earlier generations do not open with it (%w): the database's %s was altered", err, settingNetworkPrevious)
		}
	}
	return s, nil
}

func openSigningKey(ctx context.Context, st *store.Store, o Options) (*seal.SigningKey, error) {
	stored, have, err := st.Setting(ctx, settingSigningPublic)
	if err != nil {
		return nil, err
	}
	where := describe(o.DataDir, seal.SigningKeyFile, o.SigningEnv, "SALAMA_SIGNING_KEY")
	if have && o.SigningEnv == "" {
		if err := finishRotation(o, NextSigningKeyFile, seal.SigningKeyFile, string(stored), func(p string) (string, error) {
			k, err := seal.ReadSigningKeyFile(p)
			if err != nil {
				return "", err
			}
			return k.Public().String(), nil
		}); err != nil {
			return nil, err
		}
	}
	k, err := seal.LoadSigningKey(o.DataDir, o.SigningEnv)
	switch {
	case errors.Is(err, seal.ErrNoSigningKey) && have:
		return nil, fmt.Errorf("%w: the signing key is missing: %s.\n"+
			"This database's audit log is signed with %s. Without it the log cannot be continued verifiably and\n"+
			"evidence bundles would carry another key. Restore signing.key from your backup of the data directory\n"+
			"(mode 0600), or from a backup made with --include-secrets: salama restore --secrets-only --from FILE --identity KEYFILE --data %s;\n"+
			"with several instances, copy it from another instance. If it is lost for good, see \"Lost keys\" in docs/operating.md",
			ErrMissing, where, stored, dataDirArg(o.DataDir))
	case errors.Is(err, seal.ErrNoSigningKey):
		head, err := st.AuditHead(ctx)
		if err != nil {
			return nil, err
		}
		if head != nil {
			return nil, fmt.Errorf("%w: the signing key is missing: %s, and this database's audit log already has %d entries\n"+
				"signed with it (the database was made by a Salama that kept no fingerprint). Restore signing.key from your\n"+
				"backup of the data directory, or with salama restore --secrets-only; if it is lost for good, see \"Lost keys\"\n"+
				"in docs/operating.md", ErrMissing, where, head.Seq)
		}
		if k, err = seal.LoadOrCreateSigningKey(o.DataDir, ""); err != nil {
			return nil, err
		}
		o.Logger.Info("keys: created the signing key", "file", filepath.Join(o.DataDir, seal.SigningKeyFile), "public_key", k.Public().String())
	case err != nil:
		return nil, err
	}
	pub := k.Public().String()
	if !have {
		// A database from before fingerprints: adopt the key only if it
		// signs the newest entry.
		head, err := st.AuditHead(ctx)
		if err != nil {
			return nil, err
		}
		if head != nil && audit.CheckEntry(*head, k.Public()) != nil {
			return nil, fmt.Errorf("%w: the signing key in %s (%s) did not sign this database's newest audit entry (#%d).\n"+
				"Put back the signing.key this deployment used (from your backup, or another instance)",
				ErrMismatch, where, pub, head.Seq)
		}
		got, err := st.EnsureSetting(ctx, settingSigningPublic, func() ([]byte, error) { return []byte(pub), nil })
		if err != nil {
			return nil, err
		}
		stored = got
	}
	if string(stored) != pub {
		return nil, fmt.Errorf("%w: the signing key in %s (%s) is not the one this database's audit log is signed with\n"+
			"(%s). With it, new audit entries and evidence bundles would not verify. Put the right signing.key back\n"+
			"(from your backup, or from another instance of this deployment). If the key was rotated, every instance\n"+
			"needs the new one. To replace it on purpose: salama keys rotate --signing-key",
			ErrMismatch, where, pub, stored)
	}
	return k, nil
}

// finishRotation completes a rotation whose database transaction committed
// but whose key file was not yet replaced: if name.next holds the key the
// database now names, it becomes name.
func finishRotation(o Options, next, name, stored string, fingerprint func(string) (string, error)) error {
	if o.DataDir == "" {
		return nil
	}
	nextPath := filepath.Join(o.DataDir, next)
	fp, err := fingerprint(nextPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("keys: %s: %w", nextPath, err)
	}
	if fp != stored {
		// A rotation that never committed: its new key was never used.
		os.Remove(nextPath)
		o.Logger.Warn("keys: removed the new key of a rotation that did not complete", "file", nextPath)
		return nil
	}
	if err := os.Rename(nextPath, filepath.Join(o.DataDir, name)); err != nil {
		return fmt.Errorf("keys: finishing a rotation: %w", err)
	}
	syncDir(o.DataDir)
	o.Logger.Warn("keys: finished an interrupted rotation", "file", filepath.Join(o.DataDir, name))
	return nil
}

// cleanTemporaryFiles removes what an interrupted key file write left: the
// hidden temporary files seal writes and links or renames into place, which
// may hold a key. A write in progress takes milliseconds; these are from a
// process that died.
func cleanTemporaryFiles(dataDir string) {
	if dataDir == "" {
		return
	}
	entries, err := os.ReadDir(dataDir)
	if err != nil {
		return
	}
	for _, e := range entries {
		name := e.Name()
		for _, f := range []string{seal.NetworkSecretFile, seal.SigningKeyFile, NextNetworkSecretFile, NextSigningKeyFile, audit.CheckpointFile} {
			if strings.HasPrefix(name, "."+f+".") && e.Type().IsRegular() {
				if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > time.Minute {
					os.Remove(filepath.Join(dataDir, name))
				}
			}
		}
	}
}

// describe says where a key was looked for.
func describe(dataDir, file, env, envName string) string {
	if env != "" {
		return envName
	}
	return filepath.Join(dataDir, file) + " (or " + envName + ")"
}

func dataDirArg(dataDir string) string {
	if dataDir == "" {
		return "DIR"
	}
	return dataDir
}

// short abbreviates a fingerprint for messages.
func short(fp string) string {
	if len(fp) > 16 {
		return fp[:16]
	}
	return fp
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }
