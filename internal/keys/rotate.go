package keys

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/salama-ke/salama/internal/audit"
	"github.com/salama-ke/salama/internal/seal"
	"github.com/salama-ke/salama/internal/store"
)

// Rotation.
//
// A rotation runs with every server of the deployment stopped (a running
// one would go on computing the old blind index and signing with the old
// key), from a machine holding the current key, in this order:
//
//  1. the current keys are loaded and checked as at start (Open); for the
//     signing key, the whole audit log and its checkpoint are verified
//     with the old key, since the rotation entry will vouch for them;
//  2. the new key is written to KEY.next in the data directory (or, when
//     the key comes from the environment, to the file Out names);
//  3. one transaction re-keys every stored blind index (network secret),
//     replaces the fingerprint, stores the earlier generations sealed
//     under the new secret, and appends the rotation's audit entry;
//  4. KEY.next is renamed over KEY.
//
// A crash between 3 and 4 is finished by the next Open (KEY.next then
// matches the database); a crash before 3 leaves the database as it was,
// and the stale KEY.next is removed by the next Open.

// RotateOptions are Options plus what a rotation needs.
type RotateOptions struct {
	Options
	// Out is where the new key goes when the current one comes from the
	// environment (SALAMA_NETWORK_SECRET, SALAMA_SIGNING_KEY): a file that
	// must not exist, written 0600. The operator then moves it into the
	// environment of every instance.
	Out string
	// Lost replaces a key that is lost for good, with no old key at hand
	// (see LostNetworkSecret, LostSigningKey in docs/operating.md).
	Lost bool
	// PreviousKey, for Lost with the signing key: the public key the
	// operator published ("salama-ed25519:…"); the audit log must verify
	// with it, and it must be the one the database names.
	PreviousKey string
	// PendingJobs are kinds of job that hold something only the current
	// network secret opens (a retired organisation key sealed for the
	// re-wrap job): the network secret is not rotated while one of them
	// has not finished.
	PendingJobs []string
	Now         func() time.Time
}

// Rotated says what a rotation did.
type Rotated struct {
	Previous, Current string // fingerprints (network secret) or public keys (signing key)
	Rekeyed           int    // blind index rows re-keyed
	Written           string // the file that now holds the new key
	Seq               int64  // the audit entry that records the rotation
}

// ErrNotLost means Lost was asked for while the key is there and right.
var ErrNotLost = errors.New("keys: the key is not lost")

// RotateNetworkSecret replaces the network secret and re-keys the blind
// index (see the top of this file). With Lost, nothing can be re-keyed:
// reports stored before keep their blind index, which no later report
// will ever match, and the rotation entry says reason=lost.
func RotateNetworkSecret(ctx context.Context, st *store.Store, o RotateOptions) (*Rotated, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = discard()
	}
	var cur *seal.NetworkSecret
	storedFP, have, err := st.Setting(ctx, settingNetworkFingerprint)
	if err != nil {
		return nil, err
	}
	sk, err := openSigningKey(ctx, st, o.Options)
	if err != nil {
		return nil, err
	}
	if o.Lost {
		if err := mustBeMissing(openNetworkSecret(ctx, st, o.Options)); err != nil {
			return nil, err
		}
	} else {
		if cur, err = openNetworkSecret(ctx, st, o.Options); err != nil {
			return nil, err
		}
	}
	if n, err := st.JobsNotDone(ctx, o.PendingJobs); err != nil {
		return nil, err
	} else if n > 0 {
		return nil, fmt.Errorf("keys: %d background job(s) hold values sealed under the current network secret and have not finished "+
			"(salama jobs lists them: an organisation key rotation re-wrapping reports): start the server, let them finish, stop it, then rotate", n)
	}
	var next *seal.NetworkSecret
	if o.Lost {
		next, err = seal.GenerateNetworkSecret()
	} else {
		next, err = cur.Rotate()
	}
	if err != nil {
		return nil, err
	}
	write, finish, err := prepareWrite(o, seal.NetworkSecretFile, NextNetworkSecretFile, o.NetworkEnv != "")
	if err != nil {
		return nil, err
	}
	if err := write(next.WriteFile); err != nil {
		return nil, err
	}
	previous, err := next.SealPrevious()
	if err != nil {
		return nil, err
	}
	res := &Rotated{Current: next.Fingerprint()}
	detail := "key=" + short(res.Current)
	expect := map[string][]byte{settingNetworkFingerprint: nil}
	if have {
		expect[settingNetworkFingerprint] = storedFP
		res.Previous = string(storedFP)
		detail = "previous=" + short(res.Previous) + " " + detail
	}
	change := store.KeyChange{Expect: expect,
		Set: map[string][]byte{settingNetworkFingerprint: []byte(res.Current), settingNetworkPrevious: previous}}
	if o.Lost {
		detail += " reason=lost"
	} else {
		change.RekeyBlind = next.RekeyBlindIndex
	}
	p, err := audit.New(st, sk, o.Now).Prepare(audit.Event{Actor: audit.ActorCLI, Action: audit.NetworkSecretRotated, Detail: detail})
	if err != nil {
		return nil, err
	}
	change.Audit = p
	if res.Rekeyed, err = st.ChangeKeys(ctx, change); err != nil {
		return nil, err
	}
	res.Seq = p.Entry.Seq
	if res.Written, err = finish(); err != nil {
		return res, err
	}
	return res, nil
}

// RotateSigningKey replaces the signing key. The audit log must verify
// with the old key first (with Lost: with PreviousKey); the rotation entry
// is signed by the new key and names both, and the data directory's audit
// checkpoint is re-signed with the new key.
func RotateSigningKey(ctx context.Context, st *store.Store, o RotateOptions) (*Rotated, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = discard()
	}
	stored, have, err := st.Setting(ctx, settingSigningPublic)
	if err != nil {
		return nil, err
	}
	var old seal.PublicKey
	var oldKey *seal.SigningKey
	if o.Lost {
		if err := mustBeMissing(openSigningKey(ctx, st, o.Options)); err != nil {
			return nil, err
		}
		if o.PreviousKey == "" {
			return nil, errors.New("keys: --lost needs --previous-key salama-ed25519:…, the public key you published: the audit log is checked against it")
		}
		if old, err = seal.ParsePublicKey(o.PreviousKey); err != nil {
			return nil, fmt.Errorf("keys: --previous-key: %w", err)
		}
		if have && string(stored) != old.String() {
			return nil, fmt.Errorf("%w: the database's audit log is signed with %s, not with the --previous-key given", ErrMismatch, stored)
		}
	} else {
		if oldKey, err = openSigningKey(ctx, st, o.Options); err != nil {
			return nil, err
		}
		old = oldKey.Public()
	}
	// The new key's rotation entry vouches for every entry before it:
	// verify them first, with the old key, and the checkpoint.
	verifier := audit.NewVerifier(st)
	vr, err := verifier.Verify(ctx, old)
	if err != nil {
		return nil, fmt.Errorf("keys: the audit log does not verify with the current key, so a rotation would vouch for a tampered log: %w", err)
	}
	if o.DataDir != "" {
		cp, err := audit.ReadCheckpoint(filepath.Join(o.DataDir, audit.CheckpointFile))
		if err == nil {
			err = verifier.CheckCheckpoint(ctx, cp, vr.Keys)
		}
		if err != nil && !errors.Is(err, audit.ErrNoCheckpoint) {
			return nil, fmt.Errorf("keys: the audit log's checkpoint does not hold: %w", err)
		}
	}
	next, err := seal.GenerateSigningKey()
	if err != nil {
		return nil, err
	}
	write, finish, err := prepareWrite(o, seal.SigningKeyFile, NextSigningKeyFile, o.SigningEnv != "")
	if err != nil {
		return nil, err
	}
	if err := write(next.WriteFile); err != nil {
		return nil, err
	}
	res := &Rotated{Previous: old.String(), Current: next.Public().String()}
	newLog := audit.New(st, next, o.Now)
	p, err := newLog.Prepare(audit.Event{Actor: audit.ActorCLI, Action: audit.SigningKeyRotated, Detail: audit.RotationDetail(old, next.Public(), o.Lost)})
	if err != nil {
		return nil, err
	}
	expect := map[string][]byte{settingSigningPublic: nil}
	if have {
		expect[settingSigningPublic] = stored
	}
	if _, err := st.ChangeKeys(ctx, store.KeyChange{Expect: expect,
		Set: map[string][]byte{settingSigningPublic: []byte(res.Current)}, Audit: p}); err != nil {
		return nil, err
	}
	res.Seq = p.Entry.Seq
	if res.Written, err = finish(); err != nil {
		return res, err
	}
	if o.DataDir != "" {
		if fi, err := os.Stat(o.DataDir); err == nil && fi.IsDir() {
			if _, err := newLog.WriteCheckpoint(ctx, o.DataDir); err != nil {
				return res, fmt.Errorf("keys: rotated, but the audit checkpoint could not be written: %w", err)
			}
		}
	}
	return res, nil
}

// prepareWrite decides where a new key goes. From the environment: to
// o.Out, which must not exist. Otherwise: to dataDir/next, renamed over
// dataDir/name by finish once the database has changed.
func prepareWrite(o RotateOptions, name, next string, fromEnv bool) (write func(func(string) error) error, finish func() (string, error), err error) {
	if fromEnv || o.Out != "" {
		if o.Out == "" {
			return nil, nil, fmt.Errorf("keys: the current key comes from the environment: give --out FILE for the new one (it must not exist), then put it in the environment of every instance")
		}
		if _, err := os.Lstat(o.Out); !errors.Is(err, fs.ErrNotExist) {
			return nil, nil, fmt.Errorf("keys: %s exists: choose a new file for the new key (a rotation never overwrites one)", o.Out)
		}
		return func(w func(string) error) error { return w(o.Out) },
			func() (string, error) { return o.Out, nil }, nil
	}
	if o.DataDir == "" {
		return nil, nil, errors.New("keys: no data directory to write the new key to")
	}
	nextPath, path := filepath.Join(o.DataDir, next), filepath.Join(o.DataDir, name)
	return func(w func(string) error) error { return w(nextPath) },
		func() (string, error) {
			if err := os.Rename(nextPath, path); err != nil {
				return "", fmt.Errorf("keys: the database has the new key, but %s could not be renamed to %s (%w): rename it by hand, or start the server, which finishes the rotation", nextPath, path, err)
			}
			syncDir(o.DataDir)
			return path, nil
		}, nil
}

// mustBeMissing allows a rotation of a lost key only when the key is
// missing: a key that is there but differs may be the right one misplaced,
// or another deployment's, and is never overwritten.
func mustBeMissing[K any](_ K, err error) error {
	switch {
	case err == nil:
		return fmt.Errorf("%w: the key given matches the database; rotate it without --lost", ErrNotLost)
	case errors.Is(err, ErrMissing):
		return nil
	case errors.Is(err, ErrMismatch):
		return fmt.Errorf("%w; move that file out of the way first if you are sure it is not this deployment's key", err)
	}
	return err
}
