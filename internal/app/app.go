// Package app wires Salama together: the store, the network secret, the
// key-derivation pool, the reporting service and the web server. The command
// line, the tests and the benchmark all build the same App, so what is tested
// is what runs.
package app

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/salama-ke/salama/internal/demo"
	"github.com/salama-ke/salama/internal/locale"
	"github.com/salama-ke/salama/internal/reporting"
	"github.com/salama-ke/salama/internal/seal"
	"github.com/salama-ke/salama/internal/store"
	"github.com/salama-ke/salama/internal/web"
)

// Options configure an App.
type Options struct {
	DataDir  string // SQLite file and the network secret file
	Database string // "" for SQLite in DataDir, or a postgres:// URL
	// NetworkSecret, hex, overrides the secret file (SALAMA_NETWORK_SECRET).
	NetworkSecret string
	// KDFParams for new receipts and organisation recovery codes. The zero
	// value means seal.DefaultKDFParams; tests pass seal.TestKDFParams.
	KDFParams seal.KDFParams
	// KDFConcurrency bounds argon2id evaluations in flight (each holds its
	// memory); 0 means one per CPU.
	KDFConcurrency int
	Web            web.Config
	Demo           bool
	Logger         *slog.Logger
	Now            func() time.Time
}

// App is a running Salama.
type App struct {
	Store     *store.Store
	Secret    *seal.NetworkSecret
	KDF       *seal.KDF
	KDFParams seal.KDFParams
	Reporting *reporting.Service
	Web       *web.Server
	Catalog   *locale.Catalog
	Demo      *demo.Seeded // what --demo created, if anything
	log       *slog.Logger
}

// New opens the database (applying migrations), loads or creates the network
// secret and the receipt salt, and builds the services.
func New(ctx context.Context, o Options) (*App, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.KDFParams == (seal.KDFParams{}) {
		o.KDFParams = seal.DefaultKDFParams
	}
	if err := o.KDFParams.Validate(); err != nil {
		return nil, err
	}
	cat, err := locale.Load()
	if err != nil {
		return nil, err
	}
	st, err := store.Open(ctx, o.Database, o.DataDir)
	if err != nil {
		return nil, err
	}
	a := &App{Store: st, Catalog: cat, KDF: seal.NewKDF(o.KDFConcurrency), log: o.Logger}
	fail := func(err error) (*App, error) {
		st.Close()
		return nil, err
	}
	if a.Secret, err = seal.LoadOrCreateNetworkSecret(o.DataDir, o.NetworkSecret); err != nil {
		return fail(err)
	}
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
	a.KDFParams = o.KDFParams
	a.Reporting = reporting.New(reporting.Config{Store: st, KDF: a.KDF, KDFParams: receiptParams,
		ReceiptSalt: salt, Secret: a.Secret, Now: o.Now})
	if o.Demo {
		if a.Demo, err = demo.Seed(ctx, st, a.KDF, o.KDFParams, o.Now()); err != nil {
			return fail(err)
		}
	}
	if orgs, err := st.Organisations(ctx); err != nil {
		return fail(err)
	} else if !hasIntake(orgs) {
		return fail(errors.New("the network has no intake organisation: run `salama serve --demo` for the example network, or create one with `salama org create --intake`"))
	}
	if a.Web, err = web.New(o.Web, cat, a.Reporting, o.Logger); err != nil {
		return fail(err)
	}
	return a, nil
}

func hasIntake(orgs []store.Organisation) bool {
	for _, o := range orgs {
		if o.Intake {
			return true
		}
	}
	return false
}

// Handler is the public site.
func (a *App) Handler() http.Handler { return a.Web.Handler() }

// Housekeep ends idle receipt logins and forgets old form tokens. It runs
// until ctx ends.
func (a *App) Housekeep(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			now := time.Now()
			if _, err := a.Store.DeleteIdleSurvivorSessions(ctx, now.Add(-a.Reporting.SessionIdle)); err != nil && ctx.Err() == nil {
				a.log.Error("housekeeping: sessions", "err", err)
			}
			if err := a.Store.DeleteSubmitTokensBefore(ctx, now.Add(-a.Reporting.TokenLifetime)); err != nil && ctx.Err() == nil {
				a.log.Error("housekeeping: form tokens", "err", err)
			}
		}
	}
}

// Close releases the database.
func (a *App) Close() error { return a.Store.Close() }
