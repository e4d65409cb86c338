// Package cli is Salama's command line: flags, environment variables and
// subcommands. It only parses and wires; the work is in the other packages.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/salama-ke/salama/internal/app"
	"github.com/salama-ke/salama/internal/diskspace"
	"github.com/salama-ke/salama/internal/version"
	"github.com/salama-ke/salama/internal/web"
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

// flags wraps a FlagSet so every flag has an environment variable. A
// variable that does not parse makes Parse fail, naming it.
type flags struct {
	*flag.FlagSet
	bad *[]error
}

func newFlags(name string, stderr io.Writer) flags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return flags{fs, new([]error)}
}

// Parse parses args after checking the flags' environment variables.
func (f flags) Parse(args []string) error {
	if len(*f.bad) > 0 {
		fmt.Fprintln(f.Output(), (*f.bad)[0])
		return (*f.bad)[0]
	}
	return f.FlagSet.Parse(args)
}

func (f flags) str(name, def, help string) *string {
	if v, ok := lookupEnv(name); ok {
		def = v
	}
	return f.String(name, def, help+" ("+envName(name)+")")
}

func (f flags) boolean(name string, def bool, help string) *bool {
	if v, ok := lookupEnv(name); ok {
		if b, err := strconv.ParseBool(v); err == nil {
			def = b
		} else {
			*f.bad = append(*f.bad, envError(name, v, "true or false"))
		}
	}
	return f.Bool(name, def, help+" ("+envName(name)+")")
}

func (f flags) integer(name string, def int, help string) *int {
	if v, ok := lookupEnv(name); ok {
		if n, err := strconv.Atoi(v); err == nil {
			def = n
		} else {
			*f.bad = append(*f.bad, envError(name, v, "a whole number"))
		}
	}
	return f.Int(name, def, help+" ("+envName(name)+")")
}

func (f flags) duration(name string, def time.Duration, help string) *time.Duration {
	if v, ok := lookupEnv(name); ok {
		if d, err := time.ParseDuration(v); err == nil {
			def = d
		} else {
			*f.bad = append(*f.bad, envError(name, v, "a duration such as 90s or 5m"))
		}
	}
	return f.Duration(name, def, help+" ("+envName(name)+")")
}

// common are the flags every command that opens the database takes.
type common struct {
	data, database *string
	secrets        secrets
}

func (f flags) common() common {
	return common{
		data:     f.str("data", "./salama-data", "directory for the SQLite database and the network secret file"),
		database: f.str("database", "", "PostgreSQL URL (postgres://…); empty for SQLite in the data directory"),
		secrets:  readSecrets(),
	}
}

// options are the application's options every command starts from: where
// the database is, and the deployment's secrets when the environment
// gives them (otherwise the data directory's files).
func (c common) options() app.Options {
	return app.Options{DataDir: *c.data, Database: *c.database, NetworkSecret: c.secrets.NetworkSecret, SigningKey: c.secrets.SigningKey}
}

// openCore opens the database and the deployment's keys, as the commands
// other than serve do.
func (c common) openCore(ctx context.Context) (*app.Core, error) {
	o := c.options()
	return app.OpenCore(ctx, &o)
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
	c := f.common()
	addr := f.str("addr", "127.0.0.1:8080", "address to listen on")
	demoNet := f.boolean("demo", false, "create the example network (organisations and services) on first start")
	exitURL := f.str("exit-url", web.DefaultConfig().ExitURL, "where Quick exit goes: a neutral site")
	maxUpload := f.integer("max-upload-mb", 5, "largest screenshot accepted, in MB")
	uploadMemory := f.integer("upload-memory-mb", int(web.DefaultConfig().UploadMemory>>20), "screenshots held in memory by all submissions at once, in MB; a submission that finds no room within 30 seconds comes back with its words and \"try again in a minute\"")
	proxies := f.str("trusted-proxies", "", "comma-separated CIDRs of reverse proxies whose X-Forwarded-For is believed (for rate limiting only)")
	tlsCert := f.str("tls-cert", "", "TLS certificate file; with --tls-key serves HTTPS")
	tlsKey := f.str("tls-key", "", "TLS key file")
	behindTLS := f.boolean("behind-tls", false, "a proxy in front terminates TLS: mark cookies Secure and send HSTS")
	kdfN := f.integer("argon2-concurrency", 0, "argon2id evaluations and screenshot decodes at once, 64 MiB each; 0 means one per CPU")
	logLevel := f.str("log-level", "info", "debug, info, warn or error; debug logs every request (route, status, time; never an address)")
	grace := f.duration("shutdown-grace", web.DefaultLimits().ShutdownGrace, "at SIGTERM, how long requests in flight may take to finish; keep systemd's TimeoutStopSec longer")
	connCap := f.integer("max-conns-per-client", web.DefaultLimits().ConnsPerClient, "connections one address (an IPv6 /64) may hold at once, 0 for no cap; trusted proxies are not capped")
	publicStats := f.boolean("public-stats", false, "publish the statistics page, /en/stats and /sw/stats (counts with small ones suppressed); off, it is a 404")
	statsK := f.integer("stats-k", web.DefaultStatsK, "statistics: suppress every count under this, at least 2; choose once, as pages with different values together reveal more")
	statsKReplaces := f.integer("stats-k-replaces", 0, "statistics: confirm a change of --stats-k by naming the value figures were published with before; without it, nothing new is published after a change")
	onion := f.str("onion-address", "", "the Tor v3 onion service address of this Salama (from the HiddenServiceDir's hostname file): public pages then carry an Onion-Location header, so Tor Browser offers it")
	metricsAddr := f.str("metrics-addr", "", "serve Prometheus metrics (/metrics) and /healthz on this address, e.g. 127.0.0.1:9464; keep it private; empty: off")
	minFree := f.str("min-free-disk", "1GB", "refuse new reports (words kept, /healthz says so) when less than this is free under --data; 0 switches the check off")
	keep := f.retention()
	acmeF := f.acme()
	gateway := f.gateway()
	alerts := f.alerts()
	if err := f.Parse(args); err != nil {
		return err
	}
	policy, err := keep()
	if err != nil {
		return err
	}
	minFreeBytes, err := diskspace.ParseBytes(*minFree)
	if err != nil {
		return fmt.Errorf("--min-free-disk: %w", err)
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))
	// First, so that a log read after an upgrade says which build wrote
	// what follows.
	log.Info("salama starting", "version", version.String())
	gw, err := gateway(log)
	if err != nil {
		return err
	}
	// A newcomer trying the demo should be able to try USSD too: without a
	// token of its own, a demo gets a fresh one at each start (printed
	// below with the callback URLs; a demo prints its passwords too).
	var demoToken string
	if *demoNet && gw.Token == "" {
		if demoToken, err = newGatewayToken(); err != nil {
			return err
		}
		gw.Token = demoToken
		if gw.USSDCode == "" {
			gw.USSDCode = demoUSSDCode
		}
	}

	wc := web.DefaultConfig()
	wc.ExitURL = *exitURL
	wc.MaxUpload = int64(*maxUpload) << 20
	if wc.UploadMemory = int64(*uploadMemory) << 20; *uploadMemory < 1 {
		return errors.New("--upload-memory-mb must be at least 1")
	}
	if *onion != "" {
		if wc.OnionOrigin, err = web.OnionOrigin(*onion); err != nil {
			return fmt.Errorf("--onion-address: %w", err)
		}
	}
	domains, err := acmeF.domainList()
	if err != nil {
		return err
	}
	if len(domains) > 0 && (*tlsCert != "" || *tlsKey != "") {
		return errors.New("--acme-domain obtains certificates itself: give it or --tls-cert/--tls-key, not both")
	}
	if len(domains) > 0 && *behindTLS {
		return errors.New("--acme-domain serves HTTPS itself: --behind-tls is for a proxy in front that does; give one or the other")
	}
	wc.TLS = *behindTLS || *tlsCert != "" || len(domains) > 0
	if wc.PublicStats, wc.StatsK = *publicStats, *statsK; *statsK < 2 {
		return errors.New("--stats-k must be at least 2")
	}
	if *grace <= 0 {
		return errors.New("--shutdown-grace must be positive")
	}
	if *connCap < 0 {
		return errors.New("--max-conns-per-client must be 0 (no cap) or more")
	}
	wc.Limits.ShutdownGrace, wc.Limits.ConnsPerClient = *grace, *connCap
	for _, p := range strings.Split(*proxies, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		prefix, err := netip.ParsePrefix(p)
		if err != nil {
			return fmt.Errorf("--trusted-proxies: %w", err)
		}
		wc.TrustedProxies = append(wc.TrustedProxies, prefix)
	}

	firstDomain := ""
	if len(domains) > 0 {
		firstDomain = domains[0]
	}
	ao := alerts(log, *addr, *tlsCert != "", *behindTLS, firstDomain)

	ctx, stop := context.WithCancel(ctx)
	defer stop()
	a, err := app.New(ctx, app.Options{DataDir: *c.data, Database: *c.database, NetworkSecret: c.secrets.NetworkSecret, SigningKey: c.secrets.SigningKey, KDFConcurrency: *kdfN, Web: wc, Demo: *demoNet, Logger: log,
		Retention: &policy, Gateway: gw, StatsKReplaces: *statsKReplaces, Alerts: ao, MinFreeDisk: minFreeBytes})
	if err != nil {
		return err
	}
	defer a.Close()
	if a.Demo != nil {
		printDemo(stdout, a.Demo, *c.data)
	}
	printGateway(stdout, a, demoToken != "")
	if a.StatsK.Held {
		fmt.Fprintln(stderr, "Warning:", a.StatsK.Message)
	} else if a.StatsK.Message != "" {
		fmt.Fprintln(stdout, a.StatsK.Message)
	}
	printAlerts(stdout, a, ao)

	if st := a.Disk.Status(); st.Low {
		fmt.Fprintf(stderr, "Warning: only %s: new reports are refused until space is freed (--min-free-disk).\n", st)
	}
	listenAddr := *addr
	var site *acmeSite
	if len(domains) > 0 {
		// The site is served on the HTTPS address; --addr is not used.
		listenAddr = *acmeF.httpsAddr
		if site, err = newACMESite(acmeF, domains, *c.data, log); err != nil {
			return err
		}
		if err := site.listen(*acmeF.httpAddr); err != nil {
			return err
		}
		defer site.close()
	}
	ln, err := net.Listen("tcp", listenAddr)
	if err != nil {
		return err
	}
	if *metricsAddr != "" {
		mln, err := net.Listen("tcp", *metricsAddr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("--metrics-addr: %w", err)
		}
		stopMetrics := serveMetrics(mln, a, log)
		defer stopMetrics()
		fmt.Fprintf(stdout, "Metrics on http://%s/metrics\n", mln.Addr())
	}
	scheme := "http"
	if *tlsCert != "" || site != nil {
		scheme = "https"
	}
	fmt.Fprintf(stdout, "Salama is serving on %s://%s/\n", scheme, ln.Addr())
	if demoToken != "" && a.GatewayMounted {
		printDemoGateway(stdout, scheme, ln.Addr(), demoToken, gw.USSDCode)
	}
	if site != nil {
		fmt.Fprintf(stdout, "HTTPS for %s with certificates from %s (kept in %s); %s answers its challenges and redirects to HTTPS\n",
			strings.Join(domains, ", "), *acmeF.directory, filepath.Join(*c.data, "acme"), site.httpLn.Addr())
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
	return a.Web.Serve(ctx, ln, *tlsCert, *tlsKey)
}
