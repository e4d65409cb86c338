// Package app wires Salama together: the store, the network secret, the
// signing key, the key-derivation pool, the audit log, the reporting and
// casework services, the public site and the console. The command line, the
// tests and the benchmark all build the same App, so what is tested is what
// runs.
package app

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/salama-ke/salama/internal/audit"
	"github.com/salama-ke/salama/internal/casework"
	"github.com/salama-ke/salama/internal/console"
	"github.com/salama-ke/salama/internal/demo"
	"github.com/salama-ke/salama/internal/diskspace"
	"github.com/salama-ke/salama/internal/evidence"
	"github.com/salama-ke/salama/internal/health"
	"github.com/salama-ke/salama/internal/jobs"
	"github.com/salama-ke/salama/internal/keys"
	"github.com/salama-ke/salama/internal/locale"
	"github.com/salama-ke/salama/internal/metrics"
	"github.com/salama-ke/salama/internal/network"
	"github.com/salama-ke/salama/internal/notify"
	"github.com/salama-ke/salama/internal/reporting"
	"github.com/salama-ke/salama/internal/retention"
	"github.com/salama-ke/salama/internal/seal"
	"github.com/salama-ke/salama/internal/sms"
	"github.com/salama-ke/salama/internal/staff"
	"github.com/salama-ke/salama/internal/stats"
	"github.com/salama-ke/salama/internal/store"
	"github.com/salama-ke/salama/internal/version"
	"github.com/salama-ke/salama/internal/web"
)

// Options configure an App.
type Options struct {
	DataDir  string // SQLite file, the network secret and the signing key
	Database string // "" for SQLite in DataDir, or a postgres:// URL
	// NetworkSecret and SigningKey, hex, override the files in DataDir
	// (SALAMA_NETWORK_SECRET, SALAMA_SIGNING_KEY); empty reads them from
	// the environment.
	NetworkSecret, SigningKey string
	// KDFParams for new receipts, passwords and recovery codes. The zero
	// value means seal.DefaultKDFParams; tests pass seal.TestKDFParams.
	KDFParams seal.KDFParams
	// KDFConcurrency bounds argon2id evaluations in flight (each holds its
	// memory); 0 means one per CPU. Screenshots are decoded in the same
	// slots, waiting at most ImageWait for one (0 means
	// evidence.DefaultWait).
	KDFConcurrency int
	ImageWait      time.Duration
	Web            web.Config
	// StatsKReplaces confirms a change of Web.StatsK: the threshold
	// figures were published with before (stats.SettleK).
	StatsKReplaces int
	Demo           bool
	// Retention is how long reports are kept; nil means
	// retention.DefaultPolicy.
	Retention *retention.Policy
	// Jobs tunes the background worker; Store, Logger and Now are set by
	// New.
	Jobs jobs.Config
	// MinFreeDisk: below this many free bytes under DataDir, new reports
	// are refused and /healthz says so (internal/diskspace); 0 switches
	// the check off. salama serve defaults to diskspace.DefaultMin.
	MinFreeDisk uint64
	// Gateway configures USSD and SMS (gateway.go).
	Gateway GatewayOptions
	// Alerts configures staff alerts (alerts.go).
	Alerts AlertOptions
	Logger *slog.Logger
	Now    func() time.Time
}

// Core is what every command that touches data needs.
type Core struct {
	Store     *store.Store
	Secret    *seal.NetworkSecret
	Signing   *seal.SigningKey
	KDF       *seal.KDF
	KDFParams seal.KDFParams
	// Images makes the display copies of screenshots in the KDF's slots:
	// argon2id and decoding share one memory bound (SPEC §8).
	Images   *evidence.Decoder
	Audit    *audit.Log
	Staff    *staff.Service // who is logged in at the console
	Casework *casework.Service
	Now      func() time.Time
}

// OpenCore opens the database (applying migrations) and loads the network
// secret and the signing key, checked against the database (created only
// for a database that does not depend on them yet).
func OpenCore(ctx context.Context, o *Options) (*Core, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.KDFParams == (seal.KDFParams{}) {
		o.KDFParams = seal.DefaultKDFParams
	}
	if err := o.KDFParams.Validate(); err != nil {
		return nil, err
	}
	st, err := store.Open(ctx, o.Database, o.DataDir)
	if err != nil {
		return nil, err
	}
	c := &Core{Store: st, KDF: seal.NewKDF(o.KDFConcurrency), KDFParams: o.KDFParams, Now: o.Now}
	if o.ImageWait <= 0 {
		o.ImageWait = evidence.DefaultWait
	}
	c.Images = evidence.NewDecoder(c.KDF, evidence.DefaultQueue, o.ImageWait)
	// The keys must be the ones the database was built with: a missing
	// or different one refuses the start (internal/keys).
	k, err := keys.Open(ctx, st, keys.Options{DataDir: o.DataDir, NetworkEnv: o.NetworkSecret, SigningEnv: o.SigningKey, Logger: o.Logger})
	if err != nil {
		st.Close()
		return nil, err
	}
	c.Secret, c.Signing = k.Network, k.Signing
	c.Audit = audit.New(st, c.Signing, o.Now)
	c.Staff = staff.New(staff.Config{Store: st, KDF: c.KDF, KDFParams: o.KDFParams, Secret: c.Secret, Audit: c.Audit, Now: o.Now})
	c.Casework = casework.New(casework.Config{Store: st, KDF: c.KDF, Secret: c.Secret, Audit: c.Audit, Signing: c.Signing, Now: o.Now, Images: c.Images, Staff: c.Staff})
	return c, nil
}

// Close releases the database.
func (c *Core) Close() error { return c.Store.Close() }

// App is a running Salama.
type App struct {
	*Core
	Reporting *reporting.Service
	Web       *web.Server
	Console   *console.Console
	Network   *network.Service // directory and routing edits
	Catalog   *locale.Catalog
	Demo      *demo.Seeded // what --demo created, if anything
	// Jobs is the durable job queue: the retention, session-expiry and
	// checkpoint jobs are registered by New; other packages register
	// their kinds (notifications) with Jobs.Handle before Jobs.Run.
	Jobs      *jobs.Queue
	Retention *retention.Service
	// SMS sends text messages; Nudger tells a survivor who chose SMS
	// contact that a caseworker wrote (nil when nudges are off; a nil
	// Nudger's Nudge does nothing). GatewayMounted says whether the USSD
	// and SMS callbacks are served (gateway.go).
	SMS            sms.Sender
	Nudger         *sms.Nudger
	GatewayMounted bool
	// StatsK says whether the statistics threshold is the one figures
	// were published with; its Message is for the operator, at start.
	StatsK stats.KStatus
	// Alerts keeps the organisations' alert contacts and sends staff
	// alerts (alerts.go).
	Alerts *notify.Service
	// Disk watches the free space under the data directory (nil when
	// the check is off).
	Disk *diskspace.Monitor
	// Health gathers the health page's report; Metrics is what salama
	// serve --metrics-addr serves (internal/health, internal/metrics).
	// SMSProvider and MailProvider count what was sent and failed
	// (MailProvider is nil when no mail server is set).
	Health                    *health.Checker
	Metrics                   *metrics.Metrics
	SMSProvider, MailProvider *health.Provider
	// Version is what this build says it is (internal/version).
	Version string
	dataDir string
	log     *slog.Logger
}

// New opens the core, creates the receipt salt on first start, seeds the
// demo network when asked, and builds the sites.
func New(ctx context.Context, o Options) (*App, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	cat, err := locale.Load()
	if err != nil {
		return nil, err
	}
	core, err := OpenCore(ctx, &o)
	if err != nil {
		return nil, err
	}
	a := &App{Core: core, Catalog: cat, log: o.Logger, dataDir: o.DataDir, Version: version.String()}
	if o.MinFreeDisk > 0 && o.DataDir != "" {
		a.Disk = diskspace.New(o.DataDir, o.MinFreeDisk, o.Logger)
		a.Disk.Check() // warns now if the disk is already low
		o.Web.DiskLow = a.Disk.Low
	}
	a.SMSProvider = health.NewProvider("sms", o.Now)
	fail := func(err error) (*App, error) {
		core.Close()
		return nil, err
	}
	// First, so that whatever is wired below can register job kinds.
	if err := a.registerJobs(o); err != nil {
		return fail(err)
	}
	st := core.Store
	// The receipt salt and its argon2id parameters are fixed at the first
	// start: every receipt ever issued depends on them.
	salt, err := st.EnsureSetting(ctx, "receipt_salt", func() ([]byte, error) {
		b := make([]byte, 16)
		_, err := rand.Read(b)
		return b, err
	})
	if err != nil {
		return fail(err)
	}
	raw, err := st.EnsureSetting(ctx, "receipt_kdf", func() ([]byte, error) { return []byte(o.KDFParams.String()), nil })
	if err != nil {
		return fail(err)
	}
	receiptParams, err := seal.ParseKDFParams(string(raw))
	if err != nil {
		return fail(fmt.Errorf("stored receipt parameters: %w", err))
	}
	if err := checkStoredParams(receiptParams, o.KDFParams); err != nil {
		return fail(err)
	}
	a.Reporting = reporting.New(reporting.Config{Store: st, KDF: core.KDF, KDFParams: receiptParams,
		ReceiptSalt: salt, Secret: core.Secret, Audit: core.Audit, Now: o.Now, DiskLow: o.Web.DiskLow, Images: core.Images,
		OnUpgradeError: func(err error) {
			o.Logger.Warn("an old receipt opened its report but could not be upgraded; the next login tries again", "err", err)
		}})
	// An edit of the directory or the routing rules in the console shows on
	// the help pages and routes the next report at once.
	core.Staff.OnDirectoryChange = a.Reporting.InvalidateDirectory
	a.Network = network.New(core.Staff)
	a.Network.OnDirectoryChange = a.Reporting.InvalidateDirectory
	// Alerts before the demo, which gives its organisations example alert
	// addresses.
	if err := a.setUpAlerts(o); err != nil {
		return fail(err)
	}
	if o.Demo {
		if a.Demo, err = demo.Seed(ctx, demo.Deps{Store: st, KDF: core.KDF, Params: o.KDFParams, Staff: core.Staff, Reporting: a.Reporting,
			AddAlertContact: func(ctx context.Context, orgID, channel, address string) error {
				_, err := a.Alerts.AddContact(ctx, audit.ActorSystem, orgID, channel, address)
				return err
			}}, o.Now()); err != nil {
			return fail(err)
		}
	}
	if a.Disk != nil {
		// The staff hear when the disk runs short and new reports are
		// refused: now, if it already is, and whenever it falls short.
		a.Disk.OnLow = func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := a.Alerts.DiskLow(ctx); err != nil {
				o.Logger.Error("alerting the staff that disk space is low", "err", err)
			}
		}
		if a.Disk.Status().Low {
			if err := a.Alerts.DiskLow(ctx); err != nil {
				o.Logger.Error("alerting the staff that disk space is low", "err", err)
			}
		}
	}
	if err := a.Alerts.WarnUncovered(ctx); err != nil {
		return fail(err)
	}
	if orgs, err := st.Organisations(ctx); err != nil {
		return fail(err)
	} else if !hasIntake(orgs) {
		return fail(errors.New("the network has no intake organisation: run `salama serve --demo` for the example network, or create one with `salama org create --intake`"))
	}
	// Figures published with two thresholds reveal more together than
	// either: a change of k must be confirmed, else nothing new is
	// published (the statistics pages say so too).
	k := o.Web.StatsK
	if k == 0 {
		k = web.DefaultStatsK
	}
	if a.StatsK, err = stats.SettleK(ctx, st, k, o.StatsKReplaces); err != nil {
		return fail(err)
	}
	if a.StatsK.Held {
		o.Logger.Warn(a.StatsK.Message)
	} else if a.StatsK.Message != "" {
		o.Logger.Info(a.StatsK.Message)
	}
	providers := []*health.Provider{a.SMSProvider}
	if a.MailProvider != nil {
		providers = append(providers, a.MailProvider)
	}
	a.Health = &health.Checker{Store: st, Disk: a.Disk, Providers: providers, Version: a.Version, Queue: core.KDF.Queued, Now: o.Now}
	a.Metrics = metrics.New(metrics.Sources{Store: st, KDF: core.KDF, Providers: providers, Version: a.Version})
	if next := o.Web.OnRequest; next != nil {
		o.Web.OnRequest = func(route string, status int, took time.Duration) {
			a.Metrics.ObserveRequest(route, status, took)
			next(route, status, took)
		}
	} else {
		o.Web.OnRequest = a.Metrics.ObserveRequest
	}
	if a.Web, err = web.New(o.Web, cat, a.Reporting, o.Logger); err != nil {
		return fail(err)
	}
	if a.Console, err = console.New(console.Config{ExitURL: o.Web.ExitURL, TLS: o.Web.TLS, ClientAddr: a.Web.ClientAddr, StatsK: o.Web.StatsK,
		Alerts: a.Alerts, Reporting: a.Reporting, Network: a.Network, Health: a.Health, Staff: core.Staff}, core.Casework, o.Logger); err != nil {
		return fail(err)
	}
	a.Web.Mount(a.Console.Register, console.CSS)
	if err := a.setUpGateway(o); err != nil {
		return fail(err)
	}
	a.warnBackup(ctx)
	return a, nil
}

// warnBackup says at start, once, when no backup was ever recorded or the
// last is older than a week (salama backup records its time).
func (a *App) warnBackup(ctx context.Context) {
	at, ok, err := health.LastBackup(ctx, a.Store)
	switch {
	case err != nil:
		a.log.Warn("the time of the last backup could not be read", "err", err)
	case !ok:
		a.log.Warn("no backup has ever been taken of this database: if the disk fails, every report is lost. " +
			"Schedule salama backup and copy the files off this machine (docs/operating.md, \"Backups\")")
	case a.Now().Sub(at) > health.BackupDue:
		a.log.Warn("the last backup is more than a week old: check the backup timer (docs/operating.md, \"Backups\")",
			"last_backup", at.UTC().Format(time.RFC3339), "days", int(a.Now().Sub(at).Hours()/24))
	}
}

// checkStoredParams refuses to serve receipts with the test-only argon2id
// parameters that the database says were chosen at its first start, unless
// this process runs with them too: only test code sets
// Options.KDFParams to seal.TestKDFParams, and no flag or variable can.
// Test parameters cost a guesser nothing, and a database they reach (a
// test's database copied to a server, or a row an attacker with write
// access changed) must not make a production server issue receipts with
// them.
func checkStoredParams(stored, running seal.KDFParams) error {
	if stored != seal.TestKDFParams || running == seal.TestKDFParams {
		return nil
	}
	return fmt.Errorf("the database's receipt settings (receipt_kdf = %s) are the weak ones made only for tests, "+
		"and a production server refuses them: receipts made with them can be guessed quickly. "+
		"This database was created by a test; start from an empty database (or restore a backup of the real one)", stored)
}

func hasIntake(orgs []store.Organisation) bool {
	for _, o := range orgs {
		if o.Intake {
			return true
		}
	}
	return false
}

// Handler is the whole site: public pages and the console.
func (a *App) Handler() http.Handler { return a.Web.Handler() }
