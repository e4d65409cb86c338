package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/salama-ke/salama/internal/audit"
	"github.com/salama-ke/salama/internal/backup"
	"github.com/salama-ke/salama/internal/health"
	"github.com/salama-ke/salama/internal/seal"
	"github.com/salama-ke/salama/internal/store"
)

const backupUsage = `Usage: salama backup --to FILE --recipient age1… [flags]
       salama backup --to-dir DIR --keep-days N --recipient age1… [flags]
       salama backup keygen --out FILE [--classic]

Writes one age-encrypted file holding a consistent snapshot of the whole
database (taken in one read transaction while the server keeps running), in
a portable format: a SQLite backup restores on PostgreSQL and the other way
round. Nothing is written unencrypted, not even to a temporary file.

Encrypt to the public key of an age identity kept OFFLINE (age-keygen -pq
makes a post-quantum one; age-keygen a classic one); give --recipient once for
each person who should be able to restore, all of one kind. Whoever holds a
matching identity can read every report's clear metadata, and with an
organisation's key or a survivor's receipt, its content.

Logins are not backed up: a restored deployment starts with everyone logged
out. The network secret and the signing key are not in the database and so
not in the backup unless --include-secrets says so. Without the network
secret a restored server opens no survivor's receipt (every receipt key is
derived from it) and cannot match identifiers against old reports; without
the signing key its audit log no longer verifies. Console logins work either
way. Either keep a copy
of network.secret and signing.key (from the data directory, or the
SALAMA_NETWORK_SECRET and SALAMA_SIGNING_KEY values) somewhere else safe, or
use --include-secrets, which makes this one file enough to restore
everything, and makes whoever can open it able to test phone numbers
against the blind index and to sign audit entries.

FILE "-" writes to standard output (to pipe to ssh, rclone, …).

Backups outlive withdrawals: a report a survivor deletes stays, encrypted,
in every backup taken before, until that backup is deleted. --keep-days N
sets how long: the backup records that it expires N days after it was
taken (salama restore refuses it after that unless --allow-expired), and
with --to-dir, which names each file salama-YYYYMMDDTHHMMSSZ.age, every
backup of that name in DIR older than N days is deleted. Files of other
names are never touched. Copies elsewhere need their own expiry (see
docs/operating.md).

A backup that was interrupted (killed, disk full) leaves a hidden
.NAME.partial-… file; the next backup into the same directory removes it.
`

// recipientList collects --recipient values, each possibly a comma- or
// space-separated list.
type recipientList []string

func (r *recipientList) String() string { return strings.Join(*r, ",") }

func (r *recipientList) Set(v string) error {
	*r = append(*r, strings.FieldsFunc(v, func(c rune) bool { return c == ',' || c == ' ' || c == '\n' || c == '\t' })...)
	return nil
}

const keygenUsage = `Usage: salama backup keygen --out FILE [--classic]

Makes an age identity for backups, as age-keygen does: writes the private
key to FILE (mode 0600; it must not exist) and prints the public key to give
salama backup --recipient. Post-quantum (ML-KEM-768 + X25519) unless
--classic. Move FILE off the server: print it, keep it on an encrypted USB
stick in a safe, give a copy to a second trustee. Whoever holds it can read
every backup made to its public key; whoever loses every copy can restore
none of them.
`

func keygenCmd(args []string, stdout, stderr io.Writer) error {
	f := newFlags("backup keygen", stderr)
	out := f.String("out", "", "file to write the private key to")
	classic := f.Bool("classic", false, "a classic X25519 key instead of a post-quantum one")
	f.usage(keygenUsage)
	if err := f.Parse(args); err != nil {
		return err
	}
	if *out == "" {
		return errors.New("--out FILE is required")
	}
	file, rcpt, err := seal.NewBackupIdentity(*classic, time.Now())
	if err != nil {
		return err
	}
	defer clear(file)
	fh, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, werr := fh.Write(file)
	serr := fh.Sync()
	if err := errors.Join(werr, serr, fh.Close()); err != nil {
		os.Remove(*out)
		return err
	}
	fmt.Fprintf(stdout, "Private key written to %s. Keep it offline; do not leave it on this server.\n", *out)
	fmt.Fprintf(stdout, "Public key (for salama backup --recipient, or SALAMA_BACKUP_RECIPIENT):\n\n    %s\n", rcpt)
	return nil
}

func backupCmd(args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "keygen" {
		return keygenCmd(args[1:], stdout, stderr)
	}
	f := newFlags("backup", stderr)
	c := f.common()
	to := f.String("to", "", "file to write (it must not exist); - for standard output")
	var toDir string
	var keepDays int
	f.str(&toDir, "to-dir", "", "directory to write salama-YYYYMMDDTHHMMSSZ.age in (instead of --to)")
	f.integer(&keepDays, "keep-days", 0, "the backup expires this many days after it is taken; with --to-dir, older backups there are deleted (0: no expiry)")
	var recipients recipientList
	if v := c.secrets.BackupRecipient; v != "" {
		recipients.Set(v)
	}
	f.Var(&recipients, "recipient", "age public key to encrypt to (age1pq1… or age1…); repeat for several (SALAMA_BACKUP_RECIPIENT, comma-separated)")
	recipientsFile := f.String("recipients-file", "", "file of age public keys, one a line, # comments")
	var secrets bool
	f.boolean(&secrets, "include-secrets", false, "put the network secret and signing key in the backup too (see above)")
	f.usage(backupUsage)
	if err := f.parseAll(args); err != nil {
		return err
	}
	switch {
	case *to == "" && toDir == "":
		return errors.New("--to FILE or --to-dir DIR is required (see salama backup --help)")
	case *to != "" && toDir != "":
		return errors.New("give --to FILE or --to-dir DIR, not both")
	case keepDays < 0:
		return errors.New("--keep-days must be 0 (no expiry) or more")
	case toDir != "" && keepDays == 0:
		return errors.New("--to-dir needs --keep-days N: without it backups pile up there for ever, withdrawn reports in them")
	}
	now := time.Now()
	if toDir != "" {
		fi, err := os.Stat(toDir)
		if err != nil {
			return err
		}
		if !fi.IsDir() {
			return fmt.Errorf("--to-dir: %s is not a directory", toDir)
		}
		*to = filepath.Join(toDir, backup.FileName(now))
	}
	keep := time.Duration(keepDays) * 24 * time.Hour
	if *recipientsFile != "" {
		b, err := os.ReadFile(*recipientsFile)
		if err != nil {
			return err
		}
		sc := bufio.NewScanner(strings.NewReader(string(b)))
		for sc.Scan() {
			if line := strings.TrimSpace(sc.Text()); line != "" && !strings.HasPrefix(line, "#") {
				recipients = append(recipients, line)
			}
		}
	}
	if len(recipients) == 0 {
		return errors.New("no recipient: give --recipient age1… (the public key of an age identity kept offline), or SALAMA_BACKUP_RECIPIENT")
	}
	rcpt, err := seal.ParseBackupRecipients(recipients)
	if err != nil {
		return err
	}
	var ds *seal.DeploymentSecrets
	if secrets {
		if ds, err = seal.LoadDeploymentSecrets(c.DataDir, c.NetworkSecret, c.SigningKey); err != nil {
			return fmt.Errorf("--include-secrets: %w", err)
		}
	}
	// Never migrate here: this may be a newer program than the server.
	ctx, st, done, err := c.openStore(true)
	if err != nil {
		return err
	}
	defer done()

	o := backup.Options{Recipients: rcpt, Secrets: ds, Now: now, Keep: keep}
	var sum *backup.Summary
	out := stdout
	if *to == "-" {
		out = stderr // standard output is the backup
		bw := bufio.NewWriterSize(stdout, 1<<20)
		if sum, err = backup.Write(ctx, st, bw, o); err == nil {
			err = bw.Flush()
		}
	} else {
		sum, err = backup.WriteFile(ctx, st, *to, o)
	}
	if err != nil {
		return err
	}
	// The health page and the start-up warnings read when the last
	// backup was taken. A backup that was written is not undone because
	// this fails (a read-only database, say): say so and go on.
	if err := health.RecordBackup(ctx, st, sum.Created); err != nil {
		fmt.Fprintf(stderr, "Warning: the backup was written, but its time could not be recorded for the health page: %v\n", err)
	}
	kind := "classic X25519"
	if rcpt.PostQuantum() {
		kind = "post-quantum ML-KEM-768 + X25519"
	}
	dest := *to
	if dest != "-" {
		if abs, err := filepath.Abs(dest); err == nil {
			dest = abs
		}
	}
	fmt.Fprintf(out, "Backup written: %s\n", dest)
	fmt.Fprintf(out, "  %d rows in %d tables, %s schema version %d, encrypted to %d %s recipient(s):\n",
		sum.Rows, len(sum.Tables), sum.Engine, sum.Schema, len(rcpt.Keys()), kind)
	for _, k := range rcpt.Keys() {
		fmt.Fprintf(out, "    %s\n", shortKey(k))
	}
	if ds != nil {
		fmt.Fprintln(out, "  It holds the network secret and the signing key: guard it like both.")
	} else {
		fmt.Fprintf(out, "  Reminder: the network secret and the signing key are not in it, and without the\n"+
			"  network secret no survivor's receipt opens their report. Keep a copy of\n"+
			"  %s and %s (or the SALAMA_NETWORK_SECRET and SALAMA_SIGNING_KEY values)\n"+
			"  somewhere safe, apart from the backup, or use --include-secrets.\n",
			filepath.Join(c.DataDir, seal.NetworkSecretFile), filepath.Join(c.DataDir, seal.SigningKeyFile))
	}
	if !sum.Expires.IsZero() {
		fmt.Fprintf(out, "  Expires %s (after that salama restore refuses it without --allow-expired).\n", sum.Expires.Format("2006-01-02 15:04 MST"))
	}
	for _, name := range sum.RemovedLeftovers {
		fmt.Fprintf(out, "  Removed %s, left by an interrupted backup.\n", name)
	}
	fmt.Fprintln(out, "  Check it now and then: salama restore --check --from FILE --identity KEYFILE")
	if toDir != "" {
		pruned, err := backup.Prune(toDir, keep, now)
		for _, name := range pruned {
			fmt.Fprintf(out, "  Deleted %s: older than %d days.\n", name, keepDays)
		}
		if err != nil {
			return fmt.Errorf("the backup was written, but deleting old backups failed: %w", err)
		}
	}
	return nil
}

const restoreUsage = `Usage: salama restore --from FILE --identity KEYFILE [--data DIR] [--database URL]

Loads a backup made by salama backup into an empty database: SQLite in the
data directory (which must hold no database with data) or the PostgreSQL
database --database names (which must hold no data). Everything is loaded
in one transaction: it all arrives or nothing does. A backup of an older
version of Salama is migrated to this version afterwards. A backup taken on
one engine restores on the other.

KEYFILE is the age identity file (AGE-SECRET-KEY-…) matching a recipient
the backup was made for. With --check the backup is only read through and
checked (it decrypts, is complete and well formed); nothing is written.

A backup made with --keep-days records when it expires; after that restore
refuses it unless --allow-expired is given, because it may hold reports
survivors withdrew since, which a restore brings back. A restore that fails
leaves the target as it was: no half-loaded data, no empty schema, and no
database file in the data directory if there was none.

With --secrets-only, only the network secret and the signing key the
backup holds (--include-secrets) are written into the data directory, for a
server whose database is fine but that refuses to start because a key file
is lost; nothing is overwritten, the database is not touched.

If the backup holds the network secret and the signing key
(--include-secrets), they are written into the data directory; otherwise
put the deployment's network.secret and signing.key there (mode 0600), or
set SALAMA_NETWORK_SECRET and SALAMA_SIGNING_KEY, before salama serve.
FILE "-" reads standard input.
`

func restoreCmd(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	f := newFlags("restore", stderr)
	c := f.common()
	from := f.String("from", "", "the backup file; - for standard input")
	identity := f.String("identity", "", "age identity file that opens the backup")
	check := f.Bool("check", false, "only read the backup through and check it; restore nothing")
	allowExpired := f.Bool("allow-expired", false, "restore a backup past its expiry (it may hold reports withdrawn since; see above)")
	secretsOnly := f.Bool("secrets-only", false, "write only the network secret and signing key the backup holds into --data (the database is left alone)")
	f.usage(restoreUsage)
	if err := f.parseAll(args); err != nil {
		return err
	}
	if *from == "" || *identity == "" {
		return errors.New("--from FILE and --identity KEYFILE are required (see salama restore --help)")
	}
	idFile, err := os.Open(*identity)
	if err != nil {
		return err
	}
	ids, err := seal.ParseBackupIdentities(idFile)
	idFile.Close()
	if err != nil {
		return err
	}
	var src io.Reader = stdin
	if *from != "-" {
		fh, err := os.Open(*from)
		if err != nil {
			return err
		}
		defer fh.Close()
		src = fh
	}
	src = bufio.NewReaderSize(src, 1<<20)

	if *check {
		sum, err := backup.Check(src, ids)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Backup OK: taken %s on %s at schema version %d; %d rows in %d tables; secrets: %s.\n",
			sum.Created.Format("2006-01-02 15:04 MST"), sum.Engine, sum.Schema, sum.Rows, len(sum.Tables), yesNo(sum.Secrets))
		if !sum.Expires.IsZero() {
			state := "expires"
			if time.Now().After(sum.Expires) {
				state = "EXPIRED"
			}
			fmt.Fprintf(stdout, "%s %s: delete it then, and every copy of it.\n", state, sum.Expires.Format("2006-01-02 15:04 MST"))
		}
		for _, t := range sum.Tables {
			fmt.Fprintf(stdout, "  %-22s %d\n", t.Name, t.Rows)
		}
		return nil
	}

	if *secretsOnly {
		wrote, err := backup.RestoreSecrets(src, ids, c.DataDir)
		if err != nil {
			return err
		}
		if len(wrote) == 0 {
			fmt.Fprintf(stdout, "%s already holds the network secret and signing key this backup has; nothing written.\n", c.DataDir)
		}
		for _, p := range wrote {
			fmt.Fprintf(stdout, "Wrote %s from the backup.\n", p)
		}
		return nil
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := backup.Restore(ctx, src, backup.RestoreOptions{Identities: ids, Database: c.Database, DataDir: c.DataDir, AllowExpired: *allowExpired})
	if errors.Is(err, store.ErrNotEmpty) {
		return fmt.Errorf("%w; restore only into a new, empty database or data directory", err)
	}
	if errors.Is(err, backup.ErrExpired) {
		return fmt.Errorf("%w. It may hold reports that survivors withdrew after it was taken, and restoring it would bring them back. "+
			"Restore a newer backup; if this is the newest you have, run again with --allow-expired and then delete this file", err)
	}
	if err != nil {
		return err
	}
	where := c.Database
	if where == "" {
		where = filepath.Join(c.DataDir, store.FileName)
	} else {
		where = "the PostgreSQL database"
	}
	fmt.Fprintf(stdout, "Restored into %s: %d rows in %d tables, from a %s backup taken %s (schema version %d).\n",
		where, res.Rows, len(res.Tables), res.Engine, res.Created.Format("2006-01-02 15:04 MST"), res.Schema)
	fmt.Fprintf(stdout, "Reports that survivors withdrew after %s are back in it: if you still have the\n"+
		"database the backup was taken from, or a newer backup, use that instead.\n", res.Created.Format("2006-01-02 15:04 MST"))
	for _, p := range res.SecretsInstalled {
		fmt.Fprintf(stdout, "Wrote %s from the backup.\n", p)
	}

	if missing := missingSecrets(c); len(missing) > 0 {
		fmt.Fprintf(stdout, "\nBefore `salama serve`: put the deployment's %s into %s (mode 0600),\n"+
			"or set %s. The database names their fingerprints: without them, or with\n"+
			"others, the server refuses to start (identifier matching and the audit log depend on them).\n",
			strings.Join(missing, " and "), c.DataDir, strings.Join(missingEnv(missing), " and "))
	}
	// With the signing key at hand, prove the audit log came back whole.
	key, err := seal.LoadSigningKey(c.DataDir, c.SigningKey)
	if err != nil {
		return nil
	}
	st, err := store.Open(ctx, c.Database, c.DataDir)
	if err != nil {
		return err
	}
	defer st.Close()
	v, err := audit.New(st, key, nil).Verify(ctx, key.Public())
	if err != nil {
		return fmt.Errorf("restored, but the audit log does not verify with the signing key found (%w): is it this deployment's key?", err)
	}
	fmt.Fprintf(stdout, "Audit log verified: %d entries, head %s. Compare the head with the one you recorded.\n", v.Entries, v.Head())
	return nil
}

// missingSecrets names the key files the data directory lacks (and the
// environment does not give).
func missingSecrets(c *config) []string {
	var missing []string
	for _, k := range []struct{ file, env string }{{seal.NetworkSecretFile, c.NetworkSecret}, {seal.SigningKeyFile, c.SigningKey}} {
		if k.env != "" {
			continue
		}
		if _, err := os.Stat(filepath.Join(c.DataDir, k.file)); err != nil {
			missing = append(missing, k.file)
		}
	}
	return missing
}

func missingEnv(files []string) []string {
	var out []string
	for _, f := range files {
		if f == seal.NetworkSecretFile {
			out = append(out, "SALAMA_NETWORK_SECRET")
		} else {
			out = append(out, "SALAMA_SIGNING_KEY")
		}
	}
	return out
}

// shortKey abbreviates a post-quantum public key (about 2,000 characters)
// for a summary line.
func shortKey(k string) string {
	if len(k) <= 80 {
		return k
	}
	return k[:24] + "…" + k[len(k)-12:]
}

func yesNo(b bool) string {
	if b {
		return "included"
	}
	return "not included"
}
