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

const verifyBundleUsage = `Usage: salama verify-bundle --key salama-ed25519:… FILE

Checks an evidence bundle offline: the signature of its manifest, the size
and SHA-256 of every file in it, that no file is missing or added, and that
the SHA-256 of every record in the schedule of its certificate (the
section 106B(4) certificate, certificate.txt) is the record's. Prints
"bundle OK" and what the bundle holds, or names every file that does not
match and what does not. Nothing is sent anywhere; no database is needed.

--key is the public key of the organisation's deployment, as it publishes
it: its console's Evidence page shows it, "salama signing-key" prints it on
its server, and the organisation gives it to you separately from any bundle
(on paper, on its website, by a call you placed yourself). Never take it
from the bundle: anyone can make a bundle that names their own key.

Without --key nothing is confirmed: the command says whether the files
match and which key signed them, tells you to compare that key with the
organisation's published one, and exits 3.

Exit status: 0 the bundle verifies with the key given; 1 it does not;
2 the command was used wrongly or FILE cannot be read; 3 no --key was given,
so who signed the bundle is not confirmed (even if the files are intact).
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
		var ve *evidence.VerifyError
		if errors.As(err, &ve) && len(ve.All) > 1 {
			fmt.Fprintf(stderr, "bundle does NOT verify: %d problems\n", len(ve.All))
			for _, p := range ve.All {
				fmt.Fprintf(stderr, "  %s\n", p)
			}
			return 1
		}
		fmt.Fprintf(stderr, "bundle does NOT verify: %v\n", err)
		return 1
	}
	m := v.Manifest
	if v.KeyFromBundle {
		// Intact, and signed by the key the bundle names: anyone can
		// make that. No success verdict until the reader has given the
		// organisation's key.
		fmt.Fprintf(stdout, "bundle NOT verified: no --key was given, so who made it is not confirmed.\n")
		fmt.Fprintf(stdout, "  Its %d files match its manifest, and the manifest is signed by\n\n    %s\n\n", len(m.Files), v.Key)
		fmt.Fprintf(stdout, "  which is the key the bundle names itself. It says it is case %s, exported %s by %s,\n", m.CaseRef, m.ExportedAt, m.ExportedBy)
		fmt.Fprintf(stdout, "  but a forger can write that too. Get the organisation's published signing key\n"+
			"  from the organisation itself, not from the bundle (its console's Evidence page shows it,\n"+
			"  \"salama signing-key\" prints it on its server), compare it, and run:\n\n"+
			"    salama verify-bundle --key salama-ed25519:… %s\n", files[0])
		return 3
	}
	fmt.Fprintf(stdout, "bundle OK: case %s, %d files, exported %s by %s\n", m.CaseRef, len(m.Files), m.ExportedAt, m.ExportedBy)
	for _, mf := range m.Files {
		fmt.Fprintf(stdout, "  %-40s %10d bytes  sha256 %s\n", mf.Path, mf.Size, mf.SHA256)
	}
	fmt.Fprintf(stdout, "manifest sha256 %s (the organisation's audit log records the export under it)\n", v.ManifestSHA256)
	if v.Certificate != nil {
		fmt.Fprintf(stdout, "%s: the SHA-256 of each of its %d records matches the record\n", evidence.CertificateName, len(v.Certificate))
	} else {
		fmt.Fprintf(stdout, "no %s: this bundle was made before bundles carried a section 106B(4) certificate\n", evidence.CertificateName)
	}
	fmt.Fprintf(stdout, "signed by %s, the key given\n", v.Key)
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
	c := f.newConfig()
	f.str(&c.DataDir, "data", "./salama-data", "directory holding signing.key")
	f.usage(signingKeyUsage)
	if err := f.parseAll(args); err != nil {
		return err
	}
	// Never create one: a new key would sign nothing that exists.
	key, err := c.signingKey("the server creates it at first start")
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, key.Public())
	return nil
}
