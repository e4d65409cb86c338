// Package cli is Salama's command line: flags, environment variables and
// subcommands. It only parses and wires; the work is in the other packages.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/salama-ke/salama/internal/app"
	"github.com/salama-ke/salama/internal/seal"
	"github.com/salama-ke/salama/internal/store"
	"github.com/salama-ke/salama/internal/version"
)

const usage = `Salama: anonymous reporting and referral for survivors of online sexual
exploitation and trafficking.

Usage:
  salama serve [flags]     run the server (salama serve --demo for an example network)
  salama org create        add a member organisation; prints its recovery code once
  salama org rotate-key    replace an organisation's key pair and re-wrap its reports (--org ID)
  salama user add          add a console user; prints a one-time enrolment code
  salama directory export  write the directory (organisations, services) as YAML
  salama directory import  check a directory YAML file and apply it (--dry-run: only check)
  salama audit verify      check the audit log's hash chain and signatures
  salama verify-bundle --key KEY FILE  check an evidence bundle offline (exit 0 OK, 1 not, 3 no key given)
  salama signing-key       print the public key bundles and the audit log are signed with
  salama keys rotate       replace the network secret or the signing key on purpose (servers stopped)
  salama ussd --url URL    try the USSD menus of a running server in a terminal, as a phone
  salama purge [--dry-run] apply the retention policy now (or list what it would do)
  salama backup            write an age-encrypted backup of the database
  salama restore           load a backup into an empty database
  salama jobs              list background jobs and their errors
  salama version           print which build this is
  salama help              this text

Every flag can also be set with an environment variable, named in its help
(for example --database is SALAMA_DATABASE). Run "salama serve --help" for
the flags.
`

// Main runs the command line and returns the process exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) < 2 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[1] {
	case "serve":
		// SIGTERM (systemd, docker stop) and Ctrl-C start a graceful
		// shutdown.
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		err = serve(ctx, args[2:], stdout, stderr)
		stop()
	case "audit":
		err = auditCmd(args[2:], stdout, stderr)
	case "verify-bundle":
		return verifyBundleCmd(args[2:], stdout, stderr)
	case "signing-key":
		err = signingKeyCmd(args[2:], stdout, stderr)
	case "keys":
		err = keysCmd(args[2:], stdout, stderr)
	case "ussd":
		err = ussdCmd(args[2:], os.Stdin, stdout, stderr)
	case "purge":
		err = purgeCmd(args[2:], stdout, stderr)
	case "backup":
		err = backupCmd(args[2:], stdout, stderr)
	case "restore":
		err = restoreCmd(args[2:], os.Stdin, stdout, stderr)
	case "jobs":
		err = jobsCmd(args[2:], stdout, stderr)
	case "org":
		err = orgCmd(args[2:], os.Stdin, stdout, stderr)
	case "user":
		err = userCmd(args[2:], os.Stdin, stdout, stderr)
	case "directory":
		err = directoryCmd(args[2:], stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, version.Full())
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "salama: unknown command %q\n\n%s", args[1], usage)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "salama %s: %v\n", args[1], err)
		return 1
	}
	return 0
}

// openCore opens the database and the deployment's keys, as the commands
// other than serve do.
func (c *config) openCore(ctx context.Context) (*app.Core, error) {
	o := c.Options
	return app.OpenCore(ctx, &o)
}

// haveDatabase refuses to go on when there is no SQLite database in the
// data directory: store.Open would make an empty one.
func (c *config) haveDatabase() error {
	if c.Database != "" {
		return nil
	}
	if _, err := os.Stat(filepath.Join(c.DataDir, store.FileName)); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("no database in %s (use --data or --database)", c.DataDir)
	}
	return nil
}

// signingKey loads the deployment's signing key and never makes one (a
// new key would sign nothing that exists and verify nothing); without
// one, the error says why the command needs it.
func (c *config) signingKey(why string) (*seal.SigningKey, error) {
	key, err := seal.LoadSigningKey(c.DataDir, c.SigningKey)
	if errors.Is(err, seal.ErrNoSigningKey) {
		return nil, fmt.Errorf("%w; %s: use --data, or SALAMA_SIGNING_KEY", err, why)
	}
	return key, err
}

// openStore opens the existing database for a command that works on the
// store itself, with a context Ctrl-C and SIGTERM cancel. asIs opens it
// without migrating (this may be a newer program than the server). done
// closes it.
func (c *config) openStore(asIs bool) (ctx context.Context, st *store.Store, done func(), err error) {
	if err := c.haveDatabase(); err != nil {
		return nil, nil, nil, err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	open := store.Open
	if asIs {
		open = store.OpenAsIs
	}
	if st, err = open(ctx, c.Database, c.DataDir); err != nil {
		stop()
		return nil, nil, nil, err
	}
	return ctx, st, func() { st.Close(); stop() }, nil
}

// serveMetrics serves the metrics and /healthz on their own listener
// until the returned function is called.
func serveMetrics(ln net.Listener, a *app.App, log *slog.Logger) (stop func()) {
	srv := &http.Server{Handler: a.Metrics.Handler(a.Web.HealthHandler()), ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("the metrics listener stopped", "err", err)
		}
	}()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		<-done
	}
}

// serve runs the server until ctx ends, then shuts it down gracefully.
func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newFlags("serve", stderr)
	c := f.serveConfig()
	if err := f.Parse(args); err != nil {
		return err
	}
	if err := c.check(); err != nil {
		return err
	}
	s := &c.Serve
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: s.Level}))
	c.Logger = log
	// First, so that a log read after an upgrade says which build wrote
	// what follows.
	log.Info("salama starting", "version", version.String())
	// A newcomer trying the demo should be able to try USSD too: without a
	// token of its own, a demo gets a fresh one at each start (printed
	// below with the callback URLs; a demo prints its passwords too).
	gw := &c.Gateway
	var demoToken string
	if c.Demo && gw.Token == "" {
		var err error
		if demoToken, err = newGatewayToken(); err != nil {
			return err
		}
		gw.Token = demoToken
		if gw.USSDCode == "" {
			gw.USSDCode = demoUSSDCode
		}
	}
	warnNoLink(log, c.Alerts)

	ctx, stop := context.WithCancel(ctx)
	defer stop()
	a, err := app.New(ctx, c.Options)
	if err != nil {
		return err
	}
	defer a.Close()
	if a.Demo != nil {
		printDemo(stdout, a.Demo, c.DataDir)
	}
	printGateway(stdout, a, demoToken != "")
	if a.StatsK.Held {
		fmt.Fprintln(stderr, "Warning:", a.StatsK.Message)
	} else if a.StatsK.Message != "" {
		fmt.Fprintln(stdout, a.StatsK.Message)
	}
	printAlerts(stdout, a, c.Alerts)

	if st := a.Disk.Status(); st.Low {
		fmt.Fprintf(stderr, "Warning: only %s: new reports are refused until space is freed (--min-free-disk).\n", st)
	}
	listenAddr := s.Addr
	var site *acmeSite
	if acme := s.ACME; len(acme.Domains) > 0 {
		// The site is served on the HTTPS address; --addr is not used.
		listenAddr = acme.HTTPSAddr
		if site, err = newACMESite(acme, c.DataDir, log); err != nil {
			return err
		}
		if err := site.listen(acme.HTTPAddr); err != nil {
			return err
		}
		defer site.close()
	}
	ln, err := net.Listen("tcp", listenAddr)
	if err != nil {
		return err
	}
	if s.MetricsAddr != "" {
		mln, err := net.Listen("tcp", s.MetricsAddr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("--metrics-addr: %w", err)
		}
		stopMetrics := serveMetrics(mln, a, log)
		defer stopMetrics()
		fmt.Fprintf(stdout, "Metrics on http://%s/metrics\n", mln.Addr())
	}
	scheme := "http"
	if s.TLSCert != "" || site != nil {
		scheme = "https"
	}
	fmt.Fprintf(stdout, "Salama is serving on %s://%s/\n", scheme, ln.Addr())
	if demoToken != "" && a.GatewayMounted {
		printDemoGateway(stdout, scheme, ln.Addr(), demoToken, gw.USSDCode)
	}
	if site != nil {
		fmt.Fprintf(stdout, "HTTPS for %s with certificates from %s (kept in %s); %s answers its challenges and redirects to HTTPS\n",
			strings.Join(site.domains, ", "), s.ACME.Directory, filepath.Join(c.DataDir, "acme"), site.httpLn.Addr())
	}
	// Background jobs (retention, session expiry, notifications) run
	// beside the server and stop with it.
	jobsDone := make(chan struct{})
	go func() {
		defer close(jobsDone)
		runJobs(ctx, a, log)
	}()
	defer func() {
		stop() // whatever ended serve, the jobs end too, before the database closes
		<-jobsDone
	}()
	// Serve returns once every request has been answered (or the grace
	// period is over); only then does the database close.
	if site != nil {
		go site.warm(ctx)
		return a.Web.ServeTLS(ctx, ln, site.m.TLSConfig())
	}
	return a.Web.Serve(ctx, ln, s.TLSCert, s.TLSKey)
}
