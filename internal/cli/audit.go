package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/salama-ke/salama/internal/audit"
	"github.com/salama-ke/salama/internal/seal"
	"github.com/salama-ke/salama/internal/store"
)

const auditUsage = `Usage: salama audit verify [flags]

Checks the whole audit log: entries numbered 1, 2, 3 … without a gap, each
matching its hash, chained to the one before and signed by the deployment's
signing key (dataDir/signing.key, or SALAMA_SIGNING_KEY). Prints the number
of entries and the head, or names the first bad entry and exits 1.

Removing the newest entries leaves a valid, shorter chain. Record the head
printed here somewhere outside the server; a later head with a lower number,
or another hash for the same number, means the log was cut or rewritten.
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
	f.Usage = func() {
		fmt.Fprint(stderr, auditUsage+"\nFlags:\n")
		f.PrintDefaults()
	}
	if err := f.Parse(args[1:]); err != nil {
		return err
	}
	if f.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", f.Arg(0))
	}

	// Never create a key here: a fresh key would only report every entry
	// as forged.
	key, err := seal.LoadSigningKey(*c.data, os.Getenv("SALAMA_SIGNING_KEY"))
	if errors.Is(err, seal.ErrNoSigningKey) {
		return fmt.Errorf("%w; verifying needs the key the server signs with: use --data, or SALAMA_SIGNING_KEY", err)
	}
	if err != nil {
		return err
	}
	// Nor a database: store.Open would make an empty one.
	if *c.database == "" {
		if _, err := os.Stat(filepath.Join(*c.data, store.FileName)); errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("no database in %s (use --data or --database)", *c.data)
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	st, err := store.Open(ctx, *c.database, *c.data)
	if err != nil {
		return err
	}
	defer st.Close()

	res, err := audit.New(st, key, nil).Verify(ctx, key.Public())
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "audit log OK: %d entries, head %s\n", res.Entries, res.Head())
	fmt.Fprintf(stdout, "signed by %s\n", key.Public())
	return nil
}
