package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/salama-ke/salama/internal/keys"
	"github.com/salama-ke/salama/internal/staff"
)

const keysUsage = `Usage: salama keys rotate --network-secret|--signing-key [flags]

Replaces one of the deployment's two keys on purpose. STOP EVERY SERVER of
the deployment first (a running one would go on using the old key), run
this on a machine with the data directory (or the SALAMA_* values) of one of
them, then give every instance the new key and start them again.

  --network-secret  a new network.secret. Every stored blind index is
                    re-keyed (HMAC of the old value under the new secret) and
                    the earlier secrets are kept in the database, sealed under
                    the new one, so matching finds the same reports as before.
                    Form tokens in flight stop working (a survivor's form asks
                    to be sent again, with the words kept).
  --signing-key     a new signing.key. The whole audit log is verified with
                    the old key first; a rotation entry signed by the new key
                    names both, and salama audit verify accepts the change
                    there. Publish the new public key (salama signing-key)
                    for evidence bundles; keep the old one listed for bundles
                    exported before.

The old key must be at hand and match the database. The new key is written
to KEY.next in the data directory and renamed over KEY once the database
has changed (an interruption is finished by the next start). When the key
comes from the environment, --out FILE receives the new one (it must not
exist): put its content into SALAMA_NETWORK_SECRET or SALAMA_SIGNING_KEY of
every instance, then delete FILE.

--lost replaces a key that is lost for good (no backup anywhere). For the
network secret nothing can be re-keyed: reports stored before never match a
later report again, and receipts that depend on the old secret stop opening.
For the signing key, --previous-key salama-ed25519:… (the key you published)
is required: the audit log is verified with it, and entries before the
rotation keep verifying with it. See "Lost keys" in docs/operating.md.
`

func keysCmd(args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
		fmt.Fprint(stderr, keysUsage)
		return flag.ErrHelp
	}
	if len(args) == 0 || args[0] != "rotate" {
		return errors.New("usage: salama keys rotate --network-secret|--signing-key (see salama keys --help)")
	}
	f := newFlags("keys rotate", stderr)
	c := f.common()
	network := f.Bool("network-secret", false, "replace the network secret and re-key the blind index")
	signing := f.Bool("signing-key", false, "replace the signing key")
	out := f.String("out", "", "file for the new key when the current one comes from the environment (must not exist)")
	lost := f.Bool("lost", false, "the current key is lost for good (see above)")
	previous := f.String("previous-key", "", "with --lost --signing-key: the public key the audit log is signed with, as published")
	f.usage(keysUsage)
	if err := f.parseAll(args[1:]); err != nil {
		return err
	}
	if *network == *signing {
		return errors.New("give exactly one of --network-secret and --signing-key")
	}
	ctx, st, done, err := c.openStore(false)
	if err != nil {
		return err
	}
	defer done()
	o := keys.RotateOptions{Options: keys.Options{DataDir: c.DataDir, NetworkEnv: c.NetworkSecret,
		SigningEnv: c.SigningKey}, Out: *out, Lost: *lost, PreviousKey: *previous,
		PendingJobs: []string{staff.JobOrgRekey}}
	if *network {
		res, err := keys.RotateNetworkSecret(ctx, st, o)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Network secret rotated (audit entry #%d): fingerprint %s → %s.\n", res.Seq, short(res.Previous), short(res.Current))
		if *lost {
			fmt.Fprintln(stdout, "The old secret was lost: reports stored before will not match later reports.")
		} else {
			fmt.Fprintf(stdout, "%d blind index rows re-keyed; matching finds the same reports as before.\n", res.Rekeyed)
		}
		fmt.Fprintf(stdout, "The new secret is in %s (mode 0600). Give it to every instance before starting them;\n"+
			"back it up now: backups taken from now on need it (the old one is no longer enough).\n", res.Written)
		return nil
	}
	res, err := keys.RotateSigningKey(ctx, st, o)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Signing key rotated (audit entry #%d, signed by the new key).\n  old: %s\n  new: %s\n", res.Seq, res.Previous, res.Current)
	fmt.Fprintf(stdout, "The new key is in %s (mode 0600). Give it to every instance before starting them, back it up,\n"+
		"and publish the new public key (salama signing-key); bundles exported before keep verifying with the old one.\n", res.Written)
	return nil
}

func short(s string) string {
	if len(s) > 16 {
		return s[:16]
	}
	if s == "" {
		return "(none)"
	}
	return s
}
