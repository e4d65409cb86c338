package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/salama-ke/salama/internal/audit"
)

const auditUsage = `Usage: salama audit verify [--checkpoint FILE] [flags]

Checks the whole audit log: entries numbered 1, 2, 3 … without a gap, each
matching its hash, chained to the one before and signed by the deployment's
signing key (dataDir/signing.key, or SALAMA_SIGNING_KEY) — or, before a key
rotation (salama keys rotate --signing-key), by the key the rotation entry
names. Prints the number of entries and the head, or names the first bad
entry and exits 1.

Removing the newest entries leaves a valid, shorter chain. So the server
keeps a signed checkpoint (the head's number and hash) in its data
directory (audit.checkpoint), written every minute and when it stops;
verify checks that the log still holds that entry, then moves the
checkpoint to the current head. A log cut back below it fails.

Record the head printed here somewhere outside the server too (a ticket, a
notebook, another organisation), or keep a copy of audit.checkpoint, and
give it later with --checkpoint FILE: someone who holds the signing key as
well as the database could rewrite the data directory's checkpoint, but not
yours.
`

// auditCmd runs "salama audit verify". It opens the store directly, not
// through internal/app, which needs an intake organisation.
func auditCmd(args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
		fmt.Fprint(stderr, auditUsage)
		return flag.ErrHelp
	}
	if len(args) == 0 || args[0] != "verify" {
		return errors.New(`usage: salama audit verify [flags] (see salama audit verify --help)`)
	}
	f := newFlags("audit verify", stderr)
	c := f.common()
	extra := f.String("checkpoint", "", "a checkpoint file kept elsewhere (a copy of audit.checkpoint) to check as well")
	f.usage(auditUsage)
	if err := f.parseAll(args[1:]); err != nil {
		return err
	}

	// Never create a key here: a fresh key would only report every entry
	// as forged.
	key, err := c.signingKey("verifying needs the key the server signs with")
	if err != nil {
		return err
	}
	// Nor a database: store.Open would make an empty one.
	ctx, st, done, err := c.openStore(false)
	if err != nil {
		return err
	}
	defer done()

	log := audit.New(st, key, nil)
	res, err := log.Verify(ctx, key.Public())
	if err != nil {
		return err
	}
	// Every checkpoint first: a truncated log must fail before anything
	// moves the data directory's checkpoint.
	cpPath := filepath.Join(c.DataDir, audit.CheckpointFile)
	var checked []string
	for _, path := range []string{cpPath, *extra} {
		if path == "" {
			continue
		}
		cp, err := audit.ReadCheckpoint(path)
		if errors.Is(err, audit.ErrNoCheckpoint) && path == cpPath {
			continue
		}
		if err != nil {
			return err
		}
		if err := log.CheckCheckpoint(ctx, cp, res.Keys); err != nil {
			return fmt.Errorf("%w (checkpoint %s, written %s)", err, path, cp.At.Format("2006-01-02 15:04 MST"))
		}
		checked = append(checked, fmt.Sprintf("%s (%s)", cp, path))
	}
	fmt.Fprintf(stdout, "audit log OK: %d entries, head %s\n", res.Entries, res.Head())
	for _, u := range res.Keys {
		switch {
		case len(res.Keys) == 1:
			fmt.Fprintf(stdout, "signed by %s\n", u.Key)
		case u.To == 0:
			fmt.Fprintf(stdout, "signed by %s from #%d (the current key)\n", u.Key, u.From)
		default:
			fmt.Fprintf(stdout, "signed by %s for #%d to #%d\n", u.Key, u.From, u.To)
		}
	}
	for _, c := range checked {
		fmt.Fprintf(stdout, "checkpoint %s: still in the log\n", c)
	}
	if len(checked) == 0 {
		fmt.Fprintf(stdout, "no checkpoint to check (none in %s yet): a cut-back tail cannot be detected this time\n", c.DataDir)
	}
	if fi, err := os.Stat(c.DataDir); err == nil && fi.IsDir() {
		cp, err := log.WriteCheckpoint(ctx, c.DataDir)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "checkpoint now %s, written to %s: record it elsewhere too\n", cp, cpPath)
	} else {
		fmt.Fprintf(stdout, "head %s: record it elsewhere; no data directory to keep a checkpoint in\n", res.Head())
	}
	return nil
}
