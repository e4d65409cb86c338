package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/salama-ke/salama/internal/app"
	"github.com/salama-ke/salama/internal/diskspace"
	"github.com/salama-ke/salama/internal/web"
)

// config is what a command runs with. It is filled in one place per
// command: the command's flags are bound straight to its fields, each
// flag with its SALAMA_* variable (flags.str and the others below), and
// the secrets come from the environment only (env.go). serve's check
// turns what needs parsing into Options and refuses what makes no sense;
// the Options then go to app.New or app.OpenCore as they are.
type config struct {
	// Options are the application's. Every command that opens the
	// database fills DataDir (--data), Database (--database),
	// NetworkSecret and SigningKey (SALAMA_NETWORK_SECRET,
	// SALAMA_SIGNING_KEY) in flags.common. serve binds its flags to
	// Demo, KDFConcurrency, StatsKReplaces, Web, Gateway and Alerts
	// directly where a flag is the field as it is, and check fills
	// Retention, MinFreeDisk and the rest of Web and Gateway from the
	// fields below.
	app.Options
	// secrets are the other secret-carrying variables (env.go).
	secrets secrets
	// Retention is --retain-closed-days, --escalate-unopened-days and
	// --purge-unopened-days (serve and purge).
	Retention retentionDays
	// Serve is the rest of salama serve's flags, as given.
	Serve serveSettings
}

// serveSettings are salama serve's flags that are not an app.Options
// field as they are: where it listens, and values check parses.
type serveSettings struct {
	Addr        string // --addr: the site's listen address (not used with --acme-domain)
	TLSCert     string // --tls-cert: with TLSKey, serve HTTPS with this certificate
	TLSKey      string // --tls-key
	BehindTLS   bool   // --behind-tls: a proxy in front terminates TLS
	LogLevel    string // --log-level: debug, info, warn or error; check sets Level
	Level       slog.Level
	MetricsAddr string // --metrics-addr: metrics and /healthz on their own listener; "" off
	// MaxUploadMB and UploadMemoryMB (--max-upload-mb,
	// --upload-memory-mb) become Web.MaxUpload and Web.UploadMemory.
	MaxUploadMB, UploadMemoryMB int
	TrustedProxies              string // --trusted-proxies: comma-separated CIDRs; check sets Web.TrustedProxies
	OnionAddress                string // --onion-address; check sets Web.OnionOrigin
	MinFreeDisk                 string // --min-free-disk: 1GB, 500MB, 0; check sets Options.MinFreeDisk
	ACME                        acmeSettings
	Gateway                     gatewaySettings
}

// secrets are the secret-carrying variables besides the network secret
// and the signing key (which go to app.Options), read once per command.
type secrets struct {
	RecoveryCode, BackupRecipient, ATAPIKey string
}

// flags wraps a FlagSet so every flag has an environment variable. A
// variable that does not parse makes Parse fail, naming it.
type flags struct {
	*flag.FlagSet
	st *flagState
}

type flagState struct {
	bad []error
	cfg *config // the command's configuration, once common or newConfig made it
}

// parsed, when a test sets it, is called after every successful Parse
// with the flags and the configuration they filled; an error it returns
// is Parse's (the command stops there).
var parsed func(f flags, c *config) error

func newFlags(name string, stderr io.Writer) flags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return flags{fs, &flagState{}}
}

// Parse parses args after checking the flags' environment variables.
func (f flags) Parse(args []string) error {
	if len(f.st.bad) > 0 {
		fmt.Fprintln(f.Output(), f.st.bad[0])
		return f.st.bad[0]
	}
	if err := f.FlagSet.Parse(args); err != nil {
		return err
	}
	if parsed != nil {
		return parsed(f, f.st.cfg)
	}
	return nil
}

// parseAll parses args and refuses any that are not flags.
func (f flags) parseAll(args []string) error {
	if err := f.Parse(args); err != nil {
		return err
	}
	if f.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", f.Arg(0))
	}
	return nil
}

// usage makes --help print text, then the flags.
func (f flags) usage(text string) {
	f.Usage = func() {
		fmt.Fprint(f.Output(), text+"\nFlags:\n")
		f.PrintDefaults()
	}
}

// fromEnv is a flag's default: its variable's value when set, else def.
// A value that does not parse as kind is kept for Parse to refuse.
func fromEnv[T any](f flags, name string, def T, parse func(string) (T, error), kind string) T {
	v, ok := lookupEnv(name)
	if !ok {
		return def
	}
	x, err := parse(v)
	if err != nil {
		f.st.bad = append(f.st.bad, envError(name, v, kind))
		return def
	}
	return x
}

func withEnv(name, help string) string { return help + " (" + envName(name) + ")" }

func (f flags) str(p *string, name, def, help string) {
	f.StringVar(p, name, fromEnv(f, name, def, func(s string) (string, error) { return s, nil }, ""), withEnv(name, help))
}

func (f flags) boolean(p *bool, name string, def bool, help string) {
	f.BoolVar(p, name, fromEnv(f, name, def, strconv.ParseBool, "true or false"), withEnv(name, help))
}

func (f flags) integer(p *int, name string, def int, help string) {
	f.IntVar(p, name, fromEnv(f, name, def, strconv.Atoi, "a whole number"), withEnv(name, help))
}

func (f flags) duration(p *time.Duration, name string, def time.Duration, help string) {
	f.DurationVar(p, name, fromEnv(f, name, def, time.ParseDuration, "a duration such as 90s or 5m"), withEnv(name, help))
}

// newConfig is a command's configuration with the secrets read; the
// command binds its flags to it.
func (f flags) newConfig() *config {
	c := &config{}
	c.readSecrets()
	f.st.cfg = c
	return c
}

// common is the configuration of a command that opens the database:
// --data and --database, and the secrets, the same for every command.
func (f flags) common() *config {
	c := f.newConfig()
	f.str(&c.DataDir, "data", "./salama-data", "directory for the SQLite database and the network secret file")
	f.str(&c.Database, "database", "", "PostgreSQL URL (postgres://…); empty for SQLite in the data directory")
	return c
}

// serveConfig declares salama serve's flags, bound to the fields of the
// configuration it returns; check reads what needs reading after Parse.
func (f flags) serveConfig() *config {
	c := f.common()
	s, w := &c.Serve, &c.Web
	*w = web.DefaultConfig()
	f.str(&s.Addr, "addr", "127.0.0.1:8080", "address to listen on")
	f.boolean(&c.Demo, "demo", false, "create the example network (organisations and services) on first start")
	f.str(&w.ExitURL, "exit-url", w.ExitURL, "where Quick exit goes: a neutral site")
	f.integer(&s.MaxUploadMB, "max-upload-mb", 5, "largest screenshot accepted, in MB")
	f.integer(&s.UploadMemoryMB, "upload-memory-mb", int(w.UploadMemory>>20), "screenshots held in memory by all submissions at once, in MB; a submission that finds no room within 30 seconds comes back with its words and \"try again in a minute\"")
	f.str(&s.TrustedProxies, "trusted-proxies", "", "comma-separated CIDRs of reverse proxies whose X-Forwarded-For is believed (for rate limiting only)")
	f.str(&s.TLSCert, "tls-cert", "", "TLS certificate file; with --tls-key serves HTTPS")
	f.str(&s.TLSKey, "tls-key", "", "TLS key file")
	f.boolean(&s.BehindTLS, "behind-tls", false, "a proxy in front terminates TLS: mark cookies Secure and send HSTS")
	f.integer(&c.KDFConcurrency, "argon2-concurrency", 0, "argon2id evaluations and screenshot decodes at once, 64 MiB each; 0 means one per CPU")
	f.str(&s.LogLevel, "log-level", "info", "debug, info, warn or error; debug logs every request (route, status, time; never an address)")
	f.duration(&w.Limits.ShutdownGrace, "shutdown-grace", w.Limits.ShutdownGrace, "at SIGTERM, how long requests in flight may take to finish; keep systemd's TimeoutStopSec longer")
	f.integer(&w.Limits.ConnsPerClient, "max-conns-per-client", w.Limits.ConnsPerClient, "connections one address (an IPv6 /64) may hold at once, 0 for no cap; trusted proxies are not capped")
	f.boolean(&w.PublicStats, "public-stats", false, "publish the statistics page, /en/stats and /sw/stats (counts with small ones suppressed); off, it is a 404")
	f.integer(&w.StatsK, "stats-k", web.DefaultStatsK, "statistics: suppress every count under this, at least 2; choose once, as pages with different values together reveal more")
	f.integer(&c.StatsKReplaces, "stats-k-replaces", 0, "statistics: confirm a change of --stats-k by naming the value figures were published with before; without it, nothing new is published after a change")
	f.str(&s.OnionAddress, "onion-address", "", "the Tor v3 onion service address of this Salama (from the HiddenServiceDir's hostname file): public pages then carry an Onion-Location header, so Tor Browser offers it")
	f.str(&s.MetricsAddr, "metrics-addr", "", "serve Prometheus metrics (/metrics) and /healthz on this address, e.g. 127.0.0.1:9464; keep it private; empty: off")
	f.str(&s.MinFreeDisk, "min-free-disk", "1GB", "refuse new reports (words kept, /healthz says so) when less than this is free under --data; 0 switches the check off")
	f.retention(&c.Retention)
	f.acme(&s.ACME)
	f.gateway(&c.Gateway, &s.Gateway)
	f.alerts(&c.Alerts)
	return c
}

// check reads and checks serve's configuration after Parse, filling the
// Options that are not flags as they are. Its errors name the flag.
func (c *config) check() error {
	s, w := &c.Serve, &c.Web
	policy, err := c.Retention.policy()
	if err != nil {
		return err
	}
	c.Options.Retention = &policy
	if c.MinFreeDisk, err = diskspace.ParseBytes(s.MinFreeDisk); err != nil {
		return fmt.Errorf("--min-free-disk: %w", err)
	}
	if err := s.Level.UnmarshalText([]byte(s.LogLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	if err := s.Gateway.check(&c.Gateway, c.secrets.ATAPIKey); err != nil {
		return err
	}
	w.MaxUpload = int64(s.MaxUploadMB) << 20
	if w.UploadMemory = int64(s.UploadMemoryMB) << 20; s.UploadMemoryMB < 1 {
		return errors.New("--upload-memory-mb must be at least 1")
	}
	if s.OnionAddress != "" {
		if w.OnionOrigin, err = web.OnionOrigin(s.OnionAddress); err != nil {
			return fmt.Errorf("--onion-address: %w", err)
		}
	}
	if s.ACME.Domains, err = s.ACME.domainList(); err != nil {
		return err
	}
	acme := len(s.ACME.Domains) > 0
	if acme && (s.TLSCert != "" || s.TLSKey != "") {
		return errors.New("--acme-domain obtains certificates itself: give it or --tls-cert/--tls-key, not both")
	}
	if acme && s.BehindTLS {
		return errors.New("--acme-domain serves HTTPS itself: --behind-tls is for a proxy in front that does; give one or the other")
	}
	w.TLS = s.BehindTLS || s.TLSCert != "" || acme
	if w.StatsK < 2 {
		return errors.New("--stats-k must be at least 2")
	}
	if w.Limits.ShutdownGrace <= 0 {
		return errors.New("--shutdown-grace must be positive")
	}
	if w.Limits.ConnsPerClient < 0 {
		return errors.New("--max-conns-per-client must be 0 (no cap) or more")
	}
	for _, p := range strings.Split(s.TrustedProxies, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		prefix, err := netip.ParsePrefix(p)
		if err != nil {
			return fmt.Errorf("--trusted-proxies: %w", err)
		}
		w.TrustedProxies = append(w.TrustedProxies, prefix)
	}
	firstDomain := ""
	if acme {
		firstDomain = s.ACME.Domains[0]
	}
	checkAlerts(&c.Alerts, s.Addr, s.TLSCert != "", s.BehindTLS, firstDomain)
	return nil
}
