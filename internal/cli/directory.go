package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/salama-ke/salama/internal/audit"
	"github.com/salama-ke/salama/internal/directory"
	"github.com/salama-ke/salama/internal/store"
)

const directoryUsage = `Usage:
  salama directory export [--to FILE] [flags]
  salama directory import [--dry-run] [flags] FILE

export writes the directory (every organisation and its services) as YAML, to
FILE or to standard output. The same directory always gives the same bytes, so
two exports can be compared with diff.

import reads such a file. It checks everything first and names the line and
field of each problem; then it shows what changes, organisation by
organisation (+ added, ~ changed, - removed), and applies all of it in one
transaction, or nothing. With --dry-run it only checks and shows.

The file is the whole list of services of every organisation it names: a
service of a named organisation that is not in the file is removed. Leave an
organisation out of the file to leave its services alone. Organisations are
created with "salama org create", never by an import. Every import is recorded
in the audit log. A running server shows the changes within a minute.
`

// directoryCmd runs "salama directory export|import".
func directoryCmd(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, directoryUsage)
		if len(args) == 0 {
			return errors.New("say export or import")
		}
		return flag.ErrHelp
	}
	switch args[0] {
	case "export":
		return directoryExport(args[1:], stdout, stderr)
	case "import":
		return directoryImport(args[1:], stdout, stderr)
	}
	return fmt.Errorf("unknown subcommand %q (export or import)", args[0])
}

func directoryFlags(name string, stderr io.Writer) (flags, *config) {
	f := newFlags("directory "+name, stderr)
	c := f.common()
	f.usage(directoryUsage)
	return f, c
}

func directoryExport(args []string, stdout, stderr io.Writer) error {
	f, c := directoryFlags("export", stderr)
	to := f.String("to", "", "write the file here instead of to standard output")
	if err := f.Parse(args); err != nil {
		return err
	}
	if f.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (write the file with --to)", f.Arg(0))
	}
	ctx, st, done, err := c.openStore(false)
	if err != nil {
		return err
	}
	defer done()
	orgs, svcs, err := storedDirectory(ctx, st)
	if err != nil {
		return err
	}
	b, err := directory.MarshalFile(orgs, svcs)
	if err != nil {
		return err
	}
	if *to == "" {
		_, err = stdout.Write(b)
		return err
	}
	if err := os.WriteFile(*to, b, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "Wrote %d organisations and %d services to %s\n", len(orgs), len(svcs), *to)
	return nil
}

func storedDirectory(ctx context.Context, st *store.Store) ([]directory.Org, []directory.Service, error) {
	stored, err := st.Organisations(ctx)
	if err != nil {
		return nil, nil, err
	}
	svcs, err := directory.Stored(ctx, st)
	if err != nil {
		return nil, nil, err
	}
	orgs := make([]directory.Org, len(stored))
	for i, o := range stored {
		orgs[i] = directory.Org{ID: o.ID, Name: o.Name}
	}
	return orgs, svcs, nil
}

func directoryImport(args []string, stdout, stderr io.Writer) error {
	f, c := directoryFlags("import", stderr)
	dryRun := f.Bool("dry-run", false, "check the file and show the changes; change nothing")
	if err := f.Parse(args); err != nil {
		return err
	}
	// Flags may also follow the file name.
	rest := f.Args()
	if len(rest) > 1 {
		if err := f.Parse(rest[1:]); err != nil {
			return err
		}
		rest = append(rest[:1], f.Args()...)
	}
	if len(rest) != 1 {
		return errors.New("name one directory file (salama directory import [--dry-run] FILE)")
	}
	name := rest[0]
	data, err := readLimited(name, directory.MaxFileSize)
	if err != nil {
		return err
	}
	file, err := directory.ParseFile(data)
	if err != nil {
		return lineErrors(stderr, name, err)
	}
	if err := c.haveDatabase(); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	core, err := c.openCore(ctx)
	if err != nil {
		return err
	}
	defer core.Close()
	orgs, current, err := storedDirectory(ctx, core.Store)
	if err != nil {
		return err
	}
	changes, err := file.Changes(orgs, current)
	if err != nil {
		return lineErrors(stderr, name, err)
	}
	if err := changes.Format(stdout); err != nil {
		return err
	}
	switch {
	case *dryRun:
		fmt.Fprintf(stdout, "Dry run: %d changes checked, nothing changed.\n", changes.Count())
		return nil
	case changes.Count() == 0:
		fmt.Fprintln(stdout, "Nothing to change.")
		return nil
	}
	// Recorded before the change, as every audited action is.
	for _, o := range changes.Orgs {
		if o.Count() == 0 {
			continue
		}
		if err := core.Audit.Record(ctx, audit.Event{Actor: audit.ActorCLI, Action: audit.DirectoryChanged,
			Detail: fmt.Sprintf("org=%s count=%d change=imported", o.Org.ID, o.Count())}); err != nil {
			return err
		}
	}
	if err := directory.Replace(ctx, core.Store, changes.Remove(), changes.Put(), core.Now().UTC()); err != nil {
		return fmt.Errorf("nothing was imported: %w", err)
	}
	fmt.Fprintf(stdout, "Imported: %d changes. A running server shows them within a minute.\n", changes.Count())
	return nil
}

// readLimited reads a file of at most limit bytes.
func readLimited(name string, limit int64) ([]byte, error) {
	fh, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	b, err := io.ReadAll(io.LimitReader(fh, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s is larger than %d MB", name, limit>>20)
	}
	return b, nil
}

// lineErrors prints each problem as FILE:LINE: …, the form editors and
// terminals link to the line, and returns a short summary.
func lineErrors(w io.Writer, name string, err error) error {
	var les directory.LineErrors
	if !errors.As(err, &les) {
		return err
	}
	for _, e := range les {
		var parts []string
		if e.Service != "" {
			parts = append(parts, fmt.Sprintf("service %q", e.Service))
		}
		if e.Field != "" {
			parts = append(parts, e.Field)
		}
		parts = append(parts, e.Problem)
		fmt.Fprintf(w, "%s:%d: %s\n", name, e.Line, strings.Join(parts, ": "))
	}
	n := len(les)
	if n == 1 {
		return errors.New("1 problem in the file; nothing was imported")
	}
	return fmt.Errorf("%d problems in the file; nothing was imported", n)
}
