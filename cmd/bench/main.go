// Command bench measures Salama against the budgets of SPEC §8 and prints one
// table a reader can compare run to run. It starts the real server (the same
// app.App that `salama serve --demo` builds, with the production argon2id
// parameters) on a loopback listener and talks to it over HTTP like a cheap
// phone's browser would.
//
//	go run ./cmd/bench                       # the full run, SQLite in a temporary directory
//	go run ./cmd/bench -quick                # smaller sizes, for CI: about a minute
//	go run ./cmd/bench -json bench.json      # also write the results as JSON
//	go run ./cmd/bench -database postgres://…
//
// With -database the bench creates a database of its own on that server
// (the URL's role needs CREATEDB), seeds the demo network in it and drops it
// at the end; it never touches the database the URL names.
//
// The exit status is 1 when a budget fails and 2 when the bench itself could
// not run. Budgets are checked here, never by a wall-clock assertion in a
// unit test (STYLE.md §8).
//
// Each measurement is a section: a function from a running server to rows of
// the table, appended to [sections]. Where a figure is the server's alone
// (CPU time, resident memory), the reporters that load it run in a child
// process, so that the bench's own clients are not counted: see load.go.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/salama-ke/salama/internal/seal"
)

// KB is the kilobyte the budgets are checked in: 1,000 bytes, the stricter
// reading of SPEC §8's "14 KB" and "30 KB".
const KB = 1000

// MB is the megabyte memory figures are given in: 1,000,000 bytes. A MiB
// (argon2id's 64 MiB) is 1,048,576 bytes.
const (
	MB  = 1000 * 1000
	MiB = 1 << 20
)

// A section measures one thing on a running server.
type section struct {
	Name string
	Run  func(ctx context.Context, e *env) ([]Result, error)
}

// sections run in this order, all against the same server.
var sections = []section{
	{"page weight", pageWeight},
	{"report flow", reportFlows},
	{"crypto floor", cryptoFloor},
	{"throughput", throughput},
	{"memory", memory},
	{"connection memory", connMemory},
	{"page rate", pageRate},
	{"upload memory", uploadMemory},
	{"inbox", inbox},
	{"slow uploads", slowUploads},
	{"ussd check", ussdLoad},
}

// Result is one row of the table. A row without a budget is a figure to
// compare run to run, not a check.
type Result struct {
	Section string  `json:"section"`
	Name    string  `json:"name"`
	Value   float64 `json:"value"`
	Unit    string  `json:"unit"`
	Budget  *Budget `json:"budget,omitempty"`
	Pass    bool    `json:"pass"`
	// Detail holds the figures behind Value (for a page: raw, gzip body,
	// headers), by name.
	Detail map[string]float64 `json:"detail,omitempty"`
	Note   string             `json:"note,omitempty"`
}

// Budget is a limit from SPEC §8: Value must be at most Max, or at least Min
// when AtLeast is set.
type Budget struct {
	Limit   float64 `json:"limit"`
	AtLeast bool    `json:"at_least,omitempty"`
	Source  string  `json:"source"` // where the figure comes from
}

func (b *Budget) check(v float64) bool {
	if b == nil {
		return true
	}
	if b.AtLeast {
		return v >= b.Limit
	}
	return v <= b.Limit
}

func (b *Budget) String() string {
	if b == nil {
		return "–"
	}
	if b.AtLeast {
		return "≥ " + num(b.Limit)
	}
	if b.Limit != float64(int64(b.Limit)) {
		return fmt.Sprintf("≤ %.2f", b.Limit)
	}
	return "≤ " + num(b.Limit)
}

// Report is what -json writes.
type Report struct {
	Started time.Time `json:"started"`
	Env     Env       `json:"env"`
	Results []Result  `json:"results"`
	Pass    bool      `json:"pass"`
}

func main() {
	if spec := os.Getenv(loadEnv); spec != "" {
		os.Exit(loadChild(spec, os.Stdout, os.Stderr))
	}
	if spec := os.Getenv(hammerEnv); spec != "" {
		os.Exit(hammerChild(spec, os.Stdout, os.Stderr))
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	database := fs.String("database", "", "PostgreSQL URL (postgres://…) to run on instead of SQLite in a temporary directory; its network is seeded with the demo organisations")
	jsonOut := fs.String("json", "", "also write the results as JSON to this file (- for standard output, after the table)")
	quick := fs.Bool("quick", false, "smaller sizes (fewer reports, inbox at 1,000 / 10,000 / 100,000): a smoke run for CI, not the documented figures")
	only := fs.String("only", "", "run only these sections, comma-separated (e.g. \"inbox\" or \"crypto floor,throughput\")")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the server's process (the bench and the server; not the reporters) to this file")
	verbose := fs.Bool("v", false, "log the server's requests to standard error")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var onlySections []string
	for _, name := range strings.Split(*only, ",") {
		if name = strings.TrimSpace(name); name == "" {
			continue
		}
		if !slices.ContainsFunc(sections, func(s section) bool { return s.Name == name }) {
			fmt.Fprintf(stderr, "bench: -only: no section %q\n", name)
			return 2
		}
		onlySections = append(onlySections, name)
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(stderr, "bench:", err)
			return 2
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(stderr, "bench:", err)
			return 2
		}
		defer pprof.StopCPUProfile()
	}
	sizes := FullSizes
	if *quick {
		sizes = QuickSizes
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	rep, err := measure(ctx, Config{Database: *database, KDFParams: seal.DefaultKDFParams, Logger: log,
		Sizes: sizes, Only: onlySections})
	if err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 2
	}
	printTable(stdout, rep)
	if *jsonOut != "" {
		if err := writeJSON(*jsonOut, stdout, rep); err != nil {
			fmt.Fprintln(stderr, "bench:", err)
			return 2
		}
	}
	if !rep.Pass {
		return 1
	}
	return 0
}

// measure starts a server and runs every section against it.
func measure(ctx context.Context, c Config) (*Report, error) {
	e, err := start(ctx, c)
	if err != nil {
		return nil, err
	}
	defer e.Close()
	rep := &Report{Started: time.Now().UTC(), Env: e.Env, Pass: true}
	if len(c.Only) == 0 || slices.Contains(c.Only, "slow uploads") {
		// Minutes at 2 KB/s: it runs beside the other sections.
		e.slow = startSlowUpload(ctx, e)
	}
	for _, s := range sections {
		if len(c.Only) > 0 && !slices.Contains(c.Only, s.Name) {
			continue
		}
		e.cfg.Logger.Info("bench: section", "name", s.Name)
		rows, err := s.Run(ctx, e)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.Name, err)
		}
		for _, r := range rows {
			r.Section = s.Name
			r.Pass = r.Budget.check(r.Value)
			rep.Pass = rep.Pass && r.Pass
			rep.Results = append(rep.Results, r)
		}
	}
	e.note("Load average at end: %s.", loadAverage())
	rep.Env = e.Env // sections add notes
	return rep, nil
}

func printTable(w io.Writer, rep *Report) {
	fmt.Fprintf(w, "Salama bench · %s · %s · argon2id %s · %s · %s\n",
		rep.Started.Format(time.RFC3339), rep.Env.Database, rep.Env.KDF, rep.Env.Transport, rep.Env.Sizes)
	fmt.Fprintf(w, "%s\n", rep.Env.Machine)
	fmt.Fprintf(w, "1 KB = %s bytes, 1 MB = %s bytes. %s\n", num(KB), num(MB), rep.Env.Counting)
	for _, n := range rep.Env.Notes {
		fmt.Fprintln(w, n)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SECTION\tWHAT\tMEASURED\tBUDGET\tRESULT\tDETAIL")
	for _, r := range rep.Results {
		result := "PASS"
		switch {
		case r.Budget == nil:
			result = "info"
		case !r.Pass:
			result = "FAIL"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s %s\t%s\t%s\t%s\n", r.Section, r.Name, value(r), r.Unit,
			r.Budget, result, detail(r))
	}
	tw.Flush()
	verdict := "all budgets PASS"
	if !rep.Pass {
		verdict = "a budget FAILED"
	}
	fmt.Fprintf(w, "\n%s\n", verdict)
}

// value renders a row's figure: ratios to two decimals, so that 1.26
// against a budget of 1.25 reads as the failure it is.
func value(r Result) string {
	if r.Unit == "×" {
		return fmt.Sprintf("%.2f", r.Value)
	}
	return num(r.Value)
}

// detail renders a row's supporting figures in a fixed order.
func detail(r Result) string {
	var parts []string
	for _, k := range detailOrder {
		if v, ok := r.Detail[k]; ok {
			parts = append(parts, strings.ReplaceAll(k, "_", " ")+" "+num(v))
		}
	}
	if r.Note != "" {
		parts = append(parts, r.Note)
	}
	return strings.Join(parts, "; ")
}

var detailOrder = []string{"raw", "gzip_body", "headers", "sent", "received", "pages", "largest_page",
	"reports", "failed", "p50_ms", "p99_ms", "max_ms", "cpu_ms_per_report", "floor_ms", "floor_at_once", "one_goroutine_floor_ms", "wall_ms", "argon2id_cpu_ms", "repeats",
	"baseline_MB", "peak_heap_MB", "go_mapped_MB", "argon2id_slots", "argon2id_in_flight_max", "slots_in_flight_max", "busy", "upload_budget_peak_MB", "decodes_max", "answered_413", "body_MB", "median_ms", "p90_ms", "samples", "offset", "rows_per_s", "connections", "requests", "rps", "salama_rps", "trivial_rps", "trivial_p99_ms", "after_5s_MB"}

// num formats 14000 as "14,000" and keeps up to one decimal for fractions.
func num(v float64) string {
	s := fmt.Sprintf("%.1f", v)
	if v == float64(int64(v)) {
		s = fmt.Sprintf("%d", int64(v))
	}
	intPart, frac, _ := strings.Cut(s, ".")
	neg := strings.HasPrefix(intPart, "-")
	intPart = strings.TrimPrefix(intPart, "-")
	var b strings.Builder
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	out := b.String()
	if neg {
		out = "-" + out
	}
	if frac != "" {
		out += "." + frac
	}
	return out
}

func writeJSON(path string, stdout io.Writer, rep *Report) error {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if path == "-" {
		_, err = stdout.Write(b)
		return err
	}
	return os.WriteFile(path, b, 0o644)
}
