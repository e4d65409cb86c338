package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/salama-ke/salama/internal/app"
	"github.com/salama-ke/salama/internal/audit"
	"github.com/salama-ke/salama/internal/demo"
	"github.com/salama-ke/salama/internal/orgs"
	"github.com/salama-ke/salama/internal/seal"
	"github.com/salama-ke/salama/internal/staff"
)

func printDemo(w io.Writer, d *demo.Seeded, dataDir string) {
	fmt.Fprintln(w, "Demo network created: example organisations, accounts and reports, not real.")
	fmt.Fprintln(w, "Console: /console/login with a username, its password and the 6-digit code an")
	fmt.Fprintln(w, "authenticator app shows for its TOTP key (or: oathtool --totp -b KEY).")
	for _, a := range d.Accounts {
		fmt.Fprintf(w, "  %-22s %-12s password %s  TOTP key %s\n", a.Username, a.Role, a.Password, a.TOTP.Base32())
	}
	fmt.Fprintln(w, "Receipts of example reports, for /en/check:")
	for _, r := range d.Receipts {
		fmt.Fprintf(w, "  %s\n", r)
	}
	if path, err := d.WriteCredentials(dataDir); err == nil {
		fmt.Fprintf(w, "All of this, and the organisations' recovery codes, is in %s\n", path)
	}
}

func orgCmd(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "rotate-key" {
		return rotateKeyCmd(args[1:], stdin, stdout, stderr)
	}
	if len(args) == 0 || args[0] != "create" {
		return errors.New("usage: salama org create --name NAME [--intake] [--child-protection]\n       salama org rotate-key --org ORG_ID")
	}
	f := newFlags("org create", stderr)
	c := f.common()
	name := f.String("name", "", "the organisation's name, as survivors and partners know it")
	intake := f.Bool("intake", false, "the network's intake organisation: receives every report no rule routes elsewhere")
	child := f.Bool("child-protection", false, "a child-protection organisation: receives children's reports in its counties")
	if err := f.Parse(args[1:]); err != nil {
		return err
	}
	ctx := context.Background()
	core, err := c.openCore(ctx)
	if err != nil {
		return err
	}
	defer core.Close()
	created, err := orgs.Create(ctx, core.Store, core.KDF, core.KDFParams, orgs.New{Name: *name, Intake: *intake, ChildProtection: *child}, core.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Organisation %q created: %s\n\n", created.Org.Name, created.Org.ID)
	fmt.Fprintf(stdout, "Recovery code (shown once, never stored; write it down and keep it offline):\n\n    %s\n\n", created.RecoveryCode)
	fmt.Fprintf(stdout, "It opens the organisation's reports if every member loses their password. Add the first\nadmin with:\n\n    salama user add --org %s --username NAME --role org_admin\n", created.Org.ID)
	return nil
}

func userCmd(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "add" {
		return errors.New("usage: salama user add --org ORG_ID --username NAME --role caseworker|org_admin|coordinator [--name NAME]")
	}
	f := newFlags("user add", stderr)
	c := f.common()
	orgID := f.String("org", "", "the organisation's id (salama org create prints it)")
	username := f.String("username", "", "login name: 3 to 40 of a-z 0-9 . - _")
	name := f.String("name", "", "the person's name as colleagues know it")
	role := f.String("role", string(staff.RoleCaseworker), "caseworker, org_admin or coordinator")
	if err := f.Parse(args[1:]); err != nil {
		return err
	}
	r, ok := staff.ParseRole(*role)
	if !ok {
		return fmt.Errorf("--role must be caseworker, org_admin or coordinator")
	}
	ctx := context.Background()
	core, key, err := c.openOrgKey(ctx, *orgID, stdin, stderr)
	if err != nil {
		return err
	}
	defer core.Close()
	enrol, err := core.Staff.CreateUser(ctx, audit.ActorCLI, *orgID, key, staff.NewUser{Username: *username, DisplayName: *name, Role: r})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "User %s added.\nOne-time enrolment code (valid 7 days, give it in person or by phone):\n\n    %s\n\nThey open /console/enrol, type their username and this code, then set a password and an\nauthenticator app.\n", strings.ToLower(strings.TrimSpace(*username)), enrol)
	return nil
}

// safeID keeps an operator's typo out of the audit log if it is not an id.
func safeID(s string) string {
	if strings.HasPrefix(s, "org_") && len(s) <= 40 && !strings.ContainsAny(s, " \t\n=") {
		return s
	}
	return ""
}

// recoveryCode reads the organisation's recovery code from
// SALAMA_RECOVERY_CODE or, asking for it, from stdin.
func recoveryCode(env secrets, stdin io.Reader, stderr io.Writer) (string, error) {
	if code := env.RecoveryCode; code != "" {
		return code, nil
	}
	fmt.Fprint(stderr, "The organisation's recovery code: ")
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && line == "" {
		return "", errors.New("no recovery code given (type it, or set SALAMA_RECOVERY_CODE)")
	}
	return strings.TrimSpace(line), nil
}

// recoverKey opens an organisation's current key with its recovery code,
// and audits the attempt.
// openOrgKey asks for an organisation's recovery code (or reads
// SALAMA_RECOVERY_CODE), opens the database and unwraps the organisation's
// key with it, as the commands that act for an organisation do. The caller
// closes the core.
func (c *config) openOrgKey(ctx context.Context, orgID string, stdin io.Reader, stderr io.Writer) (*app.Core, *seal.OrgIdentity, error) {
	code, err := recoveryCode(c.secrets, stdin, stderr)
	if err != nil {
		return nil, nil, err
	}
	core, err := c.openCore(ctx)
	if err != nil {
		return nil, nil, err
	}
	key, err := recoverKey(ctx, core, orgID, code)
	if err != nil {
		core.Close()
		return nil, nil, err
	}
	return core, key, nil
}

func recoverKey(ctx context.Context, core *app.Core, orgID, code string) (*seal.OrgIdentity, error) {
	key, err := orgs.Recover(ctx, core.Store, core.KDF, orgID, code)
	if errors.Is(err, orgs.ErrNoRecoveryCopy) {
		core.Audit.Record(ctx, audit.Event{Actor: audit.ActorCLI, OrgID: safeID(orgID), Action: audit.LoginFailed, Detail: "method=recovery reason=no_key"})
		return nil, errors.New("this recovery code no longer opens the organisation's key: it is older than the last key rotation (see docs/security.md, \"Organisation key rotation\")")
	}
	if err != nil {
		core.Audit.Record(ctx, audit.Event{Actor: audit.ActorCLI, OrgID: safeID(orgID), Action: audit.LoginFailed, Detail: "method=recovery"})
		return nil, errors.New("wrong organisation id or recovery code")
	}
	core.Audit.Record(ctx, audit.Event{Actor: audit.ActorCLI, OrgID: orgID, Action: audit.OrgKeyRecovered, Detail: "method=recovery"})
	return key, nil
}

// rotateKeyCmd replaces an organisation's key pair (docs/security.md,
// "Organisation key rotation") and re-wraps its reports to the new key
// before it returns. A running server may share the re-wrapping; if this
// command is stopped, the server's job finishes it.
func rotateKeyCmd(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	f := newFlags("org rotate-key", stderr)
	c := f.common()
	orgID := f.String("org", "", "the organisation's id")
	if err := f.Parse(args); err != nil {
		return err
	}
	if *orgID == "" {
		return errors.New("usage: salama org rotate-key --org ORG_ID (asks for the recovery code, or reads SALAMA_RECOVERY_CODE)")
	}
	ctx := context.Background()
	core, key, err := c.openOrgKey(ctx, *orgID, stdin, stderr)
	if err != nil {
		return err
	}
	defer core.Close()
	gen, members, err := core.Staff.RotateOrgKey(ctx, *orgID, key)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Organisation %s has a new key pair (generation %d), wrapped for %d active member(s) and the\nrecovery code. No other copy of the old key is left; every console session of the\norganisation has ended. Re-wrapping its reports to the new key…\n", *orgID, gen, members)
	n, done, err := core.Staff.RewrapOrgKeys(ctx, *orgID)
	if err != nil {
		return fmt.Errorf("re-wrapping stopped after %d report key(s): %w (the server's job goes on with it)", n, err)
	}
	if !done {
		fmt.Fprintf(stdout, "%d report key(s) re-wrapped; the rest waits for the next login of a member of the organisation.\n", n)
		return nil
	}
	fmt.Fprintf(stdout, "Done: %d report key(s) re-wrapped; the old key is deleted. The recovery code is unchanged.\n", n)
	return nil
}
