package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/salama-ke/salama/internal/evidence"
	"github.com/salama-ke/salama/internal/seal"
)

const verifyBundleUsage = `Usage: salama verify-bundle [--key salama-ed25519:…] FILE

Checks an evidence bundle offline: the signature of its manifest, the size
and SHA-256 of every file in it, and that no file is missing or added.
Prints "bundle OK" and what the bundle holds, or names the first file that
does not match. Nothing is sent anywhere; no database is needed.

--key is the public key of the deployment that made the bundle, as its
console shows it or "salama signing-key" prints it on its server; get it
from the organisation, not from the bundle. Without --key the bundle is
checked against the key it names itself, which proves it is intact but not
who made it.

Exit status: 0 the bundle verifies; 1 it does not; 2 the command was used
wrongly or FILE cannot be read.
`

// verifyBundleCmd runs "salama verify-bundle" and returns the exit status.
func verifyBundleCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("verify-bundle", flag.ContinueOnError)
	fs.SetOutput(stderr)
	keyText := fs.String("key", "", "the deployment's public key, salama-ed25519:… (not read from the environment: give it explicitly)")
	fs.Usage = func() {
		fmt.Fprint(stderr, verifyBundleUsage+"\nFlags:\n")
		fs.PrintDefaults()
	}
	// Flags may come before or after the file: officers copy the command
	// from the bundle's README, which puts the file first.
	var files []string
	for rest := args; ; {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return 0
			}
			return 2
		}
		if fs.NArg() == 0 {
			break
		}
		files, rest = append(files, fs.Arg(0)), fs.Args()[1:]
	}
	if len(files) != 1 {
		fmt.Fprint(stderr, "salama verify-bundle: give one bundle file\n\n"+verifyBundleUsage)
		return 2
	}
	var key seal.PublicKey
	if *keyText != "" {
		k, err := seal.ParsePublicKey(*keyText)
		if err != nil {
			fmt.Fprintf(stderr, "salama verify-bundle: --key: %v (it looks like salama-ed25519:… followed by 44 characters)\n", err)
			return 2
		}
		key = k
	}
	f, err := os.Open(files[0])
	if err != nil {
		fmt.Fprintf(stderr, "salama verify-bundle: %v\n", err)
		return 2
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		fmt.Fprintf(stderr, "salama verify-bundle: %s is not a readable file\n", files[0])
		return 2
	}
	v, err := evidence.Verify(f, fi.Size(), key)
	if err != nil {
		fmt.Fprintf(stderr, "bundle does NOT verify: %v\n", err)
		return 1
	}
	m := v.Manifest
	fmt.Fprintf(stdout, "bundle OK: case %s, %d files, exported %s by %s\n", m.CaseRef, len(m.Files), m.ExportedAt, m.ExportedBy)
	for _, mf := range m.Files {
		fmt.Fprintf(stdout, "  %-40s %10d bytes  sha256 %s\n", mf.Path, mf.Size, mf.SHA256)
	}
	fmt.Fprintf(stdout, "manifest sha256 %s (the organisation's audit log records the export under it)\n", v.ManifestSHA256)
	if v.KeyFromBundle {
		fmt.Fprintf(stdout, "signed by %s, the key the bundle names: check it against the organisation's key, or run again with --key\n", v.Key)
	} else {
		fmt.Fprintf(stdout, "signed by %s, the key given\n", v.Key)
	}
	return 0
}

const signingKeyUsage = `Usage: salama signing-key [--data DIR]

Prints the public key of this deployment's signing key (dataDir/signing.key,
or SALAMA_SIGNING_KEY): the key evidence bundles and the audit log are signed
with. Give it to police officers and prosecutors separately from any bundle;
"salama verify-bundle FILE --key KEY" checks a bundle against it.
`

// signingKeyCmd runs "salama signing-key".
func signingKeyCmd(args []string, stdout, stderr io.Writer) error {
	f := newFlags("signing-key", stderr)
	data := f.str("data", "./salama-data", "directory holding signing.key")
	f.Usage = func() {
		fmt.Fprint(stderr, signingKeyUsage+"\nFlags:\n")
		f.PrintDefaults()
	}
	if err := f.Parse(args); err != nil {
		return err
	}
	if f.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", f.Arg(0))
	}
	// Never create one: a new key would sign nothing that exists.
	key, err := seal.LoadSigningKey(*data, os.Getenv("SALAMA_SIGNING_KEY"))
	if errors.Is(err, seal.ErrNoSigningKey) {
		return fmt.Errorf("%w; the server creates it at first start: use --data, or SALAMA_SIGNING_KEY", err)
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, key.Public())
	return nil
}
