// Package demo builds the example network behind `salama serve --demo`:
// organisations whose names say they are examples, their services, console
// accounts whose credentials are printed, and a few example reports, beside
// the real national lines every deployment shows. It never runs unless the
// operator asked for the demo, and never on a database that already has
// organisations.
package demo

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/salama-ke/salama/internal/directory"
	"github.com/salama-ke/salama/internal/orgs"
	"github.com/salama-ke/salama/internal/reporting"
	"github.com/salama-ke/salama/internal/seal"
	"github.com/salama-ke/salama/internal/staff"
	"github.com/salama-ke/salama/internal/store"
	"github.com/salama-ke/salama/internal/totp"
)

// Deps are the services the demo uses to build its network the way a real
// one is built.
type Deps struct {
	Store     *store.Store
	KDF       *seal.KDF
	Params    seal.KDFParams
	Staff     *staff.Service
	Reporting *reporting.Service
	// AddAlertContact gives an organisation a staff alert contact
	// (notify.Service.AddContact); nil adds none.
	AddAlertContact func(ctx context.Context, orgID, channel, address string) error
}

// Account is a demo console login.
type Account struct {
	Org, Username, Password string
	Role                    staff.Role
	TOTP                    totp.Secret
}

// Seeded says what the demo created.
type Seeded struct {
	Orgs     []orgs.Created
	Accounts []Account
	Receipts []string // of the example reports, to try /check with
	// AlertContacts lists the example alert addresses ("org: address").
	AlertContacts []string
}

// Seed creates the example network if the database has no organisation yet.
// It returns nil, nil when there was already a network.
func Seed(ctx context.Context, d Deps, now time.Time) (*Seeded, error) {
	existing, err := d.Store.Organisations(ctx)
	if err != nil {
		return nil, err
	}
	if len(existing) > 0 {
		return nil, nil
	}
	out := &Seeded{}
	for _, dorg := range directory.DemoNetwork() {
		if dorg.DirectoryOnly {
			o, err := orgs.CreateListed(ctx, d.Store, dorg.Name, now)
			if err != nil {
				return nil, fmt.Errorf("demo organisation %s: %w", dorg.Slug, err)
			}
			for _, svc := range dorg.Services {
				svc.OrgID = o.ID
				if err := svc.Validate(); err != nil {
					return nil, fmt.Errorf("demo service %s: %w", svc.ID, err)
				}
				if err := directory.Put(ctx, d.Store, svc, now); err != nil {
					return nil, err
				}
			}
			continue
		}
		c, err := orgs.Create(ctx, d.Store, d.KDF, d.Params, orgs.New{Name: dorg.Name, Intake: dorg.Intake, ChildProtection: dorg.ChildProtection}, now)
		if err != nil {
			return nil, fmt.Errorf("demo organisation %s: %w", dorg.Slug, err)
		}
		for _, svc := range dorg.Services {
			svc.OrgID = c.Org.ID
			if err := svc.Validate(); err != nil {
				return nil, fmt.Errorf("demo service %s: %w", svc.ID, err)
			}
			if err := directory.Put(ctx, d.Store, svc, now); err != nil {
				return nil, err
			}
		}
		out.Orgs = append(out.Orgs, *c)
		// Example alert addresses, so that alerts work out of the box:
		// logged by the log providers until --smtp-url and an SMS
		// provider are set. example.org and 0700 000 xxx reach nobody.
		if d.AddAlertContact != nil {
			for _, ct := range alertContactsFor(dorg) {
				if err := d.AddAlertContact(ctx, c.Org.ID, ct[0], ct[1]); err != nil {
					return nil, fmt.Errorf("demo alert contact: %w", err)
				}
				out.AlertContacts = append(out.AlertContacts, c.Org.Name+": "+ct[1])
			}
		}
		key, err := orgs.Recover(ctx, d.Store, d.KDF, c.Org.ID, c.RecoveryCode)
		if err != nil {
			return nil, err
		}
		for _, a := range accountsFor(dorg) {
			password, err := newPassword()
			if err != nil {
				return nil, err
			}
			secret, err := totp.NewSecret()
			if err != nil {
				return nil, err
			}
			if err := d.Staff.CreateEnrolledUser(ctx, c.Org.ID, key, staff.NewUser{Username: a.username, DisplayName: a.name, Role: a.role}, password, secret); err != nil {
				return nil, fmt.Errorf("demo account %s: %w", a.username, err)
			}
			out.Accounts = append(out.Accounts, Account{Org: c.Org.Name, Username: a.username, Password: password, Role: a.role, TOTP: secret})
		}
	}
	d.Reporting.InvalidateDirectory()
	for _, in := range exampleReports() {
		in.Token = d.Reporting.NewToken()
		sub, err := d.Reporting.Submit(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("demo report: %w", err)
		}
		out.Receipts = append(out.Receipts, sub.Receipt.String())
	}
	return out, nil
}

// alertContactsFor gives a demo organisation example alert addresses: an
// email address for each, and an SMS number for the intake organisation.
func alertContactsFor(o directory.DemoOrg) [][2]string {
	out := [][2]string{{store.AlertEmail, "alerts@" + o.Slug + ".example.org"}}
	if o.Intake {
		out = append(out, [2]string{store.AlertSMS, "+254700000100"})
	}
	return out
}

type account struct {
	username, name string
	role           staff.Role
}

func accountsFor(o directory.DemoOrg) []account {
	switch {
	case o.Intake:
		return []account{
			{"demo-caseworker", "Demo Caseworker", staff.RoleCaseworker},
			{"demo-admin", "Demo Admin", staff.RoleOrgAdmin},
			{"demo-coordinator", "Demo Coordinator", staff.RoleCoordinator},
		}
	case o.ChildProtection:
		return []account{{"demo-child-caseworker", "Demo Child Protection Officer", staff.RoleCaseworker}}
	}
	return []account{{"demo-legal-caseworker", "Demo Legal Officer", staff.RoleCaseworker}}
}

// newPassword draws a demo password of four groups from the recovery-code
// alphabet: random per installation, so no demo shares a password.
func newPassword() (string, error) {
	code, err := orgs.NewRecoveryCode()
	if err != nil {
		return "", err
	}
	return strings.ToLower(code[:19]), nil
}

// exampleReports are made up, in the words people use; they exercise every
// urgency and both routing paths.
func exampleReports() []reporting.Input {
	mk := func(f func(*reporting.Input)) reporting.Input {
		in := reporting.NewInput(reporting.KindReport)
		in.CountStats = true // the example reporters agreed, so the statistics have something to show
		f(&in)
		return in
	}
	return []reporting.Input{
		mk(func(in *reporting.Input) {
			in.About, in.What, in.AgeBand, in.County, in.WhenLast, in.Danger = "me", []string{"trafficking", "advertised"}, "18-24", "nairobi", "ongoing", "yes"
			in.Help = []string{"shelter", "police"}
			in.Narrative = "(Example report.) I was promised a hotel job. Now they keep my ID and post my photos on a Telegram group with a phone number. I am in a house in Kilimani and they watch me."
			in.Identifiers = []reporting.Identifier{{Type: "phone", Platform: "telegram", Value: "0700 000 999"}}
		}),
		mk(func(in *reporting.Input) {
			in.About, in.What, in.AgeBand, in.County, in.WhenLast, in.Danger = "child", []string{"sextortion", "images_requested"}, "13-15", "mombasa", "72h", "no"
			in.Help = []string{"counselling", "takedown"}
			in.Narrative = "(Example report.) Binti yangu wa miaka 14 alitumiwa ujumbe na mtu wa TikTok. Sasa anatishia kusambaza picha zake asipotuma pesa."
		}),
		mk(func(in *reporting.Input) {
			in.About, in.What, in.AgeBand, in.County, in.WhenLast, in.Danger = "me", []string{"sexual_violence"}, "25plus", "kisumu", "72h", "no"
			in.Help = []string{"medical", "counselling"}
			in.Narrative = "(Example report.) It happened two nights ago after a man I met on Facebook asked to meet."
		}),
		mk(func(in *reporting.Input) {
			in.About, in.What, in.AgeBand, in.County, in.WhenLast = "me", []string{"sextortion"}, "18-24", "nakuru", "month"
			in.Help = []string{"takedown", "legal"}
			in.Narrative = "(Example report.) My ex says he will post our videos on WhatsApp status if I don't go back to him."
		}),
		mk(func(in *reporting.Input) {
			*in = reporting.NewInput(reporting.KindTip)
			in.County, in.TipChild = "kiambu", "unsure"
			in.Narrative = "(Example tip.) A post in a WhatsApp group with rates and a number, girls 'available tonight'."
			in.Identifiers = []reporting.Identifier{{Type: "phone", Platform: "whatsapp", Value: "0700 000 998"}}
			in.AllowMatch = true
		}),
	}
}

// WriteCredentials keeps the demo's logins in the data directory (0600), so a
// tester who missed the printout can find them. Only the demo does this.
func (s *Seeded) WriteCredentials(dataDir string) (string, error) {
	var b strings.Builder
	fmt.Fprintln(&b, "Salama demo network: example accounts (not for real use).")
	fmt.Fprintln(&b, "Log in at /console/login with the username, the password and the 6-digit code")
	fmt.Fprintln(&b, "an authenticator app shows for the key (or: oathtool --totp -b KEY).")
	fmt.Fprintln(&b)
	for _, a := range s.Accounts {
		fmt.Fprintf(&b, "%s (%s, %s)\n  password: %s\n  TOTP key: %s\n  %s\n", a.Username, a.Role, a.Org, a.Password, a.TOTP.Base32(), totp.URI(a.TOTP, "Salama demo", a.Username))
	}
	fmt.Fprintln(&b)
	fmt.Fprintln(&b, "Receipts of the example reports (open /en/check):")
	for _, r := range s.Receipts {
		fmt.Fprintf(&b, "  %s\n", r)
	}
	fmt.Fprintln(&b)
	fmt.Fprintln(&b, "Organisation recovery codes:")
	for _, o := range s.Orgs {
		fmt.Fprintf(&b, "  %s (%s): %s\n", o.Org.Name, o.Org.ID, o.RecoveryCode)
	}
	path := filepath.Join(dataDir, "demo-credentials.txt")
	return path, os.WriteFile(path, []byte(b.String()), 0o600)
}
