package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/salama-ke/salama/internal/seal"
)

// TestMain lets the test binary be the load generator that the load
// sections start, as the bench binary is in a real run.
func TestMain(m *testing.M) {
	if spec := os.Getenv(loadEnv); spec != "" {
		os.Exit(loadChild(spec, os.Stdout, os.Stderr))
	}
	if spec := os.Getenv(hammerEnv); spec != "" {
		os.Exit(hammerChild(spec, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// TestByteBudgets runs the byte-counting sections (page weight, report flow,
// script) with test argon2id parameters and fails when a budget fails. Byte
// counts do not depend on the machine's speed, so checking them in a test is
// sound; nothing here looks at a clock.
func TestByteBudgets(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	rep, err := measure(ctx, Config{KDFParams: seal.TestKDFParams, Only: []string{"page weight", "report flow"}})
	if err != nil {
		t.Fatal(err)
	}
	var table bytes.Buffer
	printTable(&table, rep)
	t.Log("\n" + table.String())

	seen := map[string]int{}
	for _, r := range rep.Results {
		seen[r.Section]++
		if r.Budget == nil {
			continue
		}
		if !r.Pass {
			t.Errorf("%s: %s = %s %s, budget %s (%s)", r.Section, r.Name, num(r.Value), r.Unit, r.Budget, r.Budget.Source)
		}
		if r.Note == "NOT gzipped" {
			t.Errorf("%s: %s was not gzipped for a client that asked", r.Section, r.Name)
		}
	}
	// Both languages: nine page rows and three flow rows each.
	if seen["page weight"] != 18 || seen["report flow"] != 6 {
		t.Errorf("rows per section = %v, want 18 page weight and 6 report flow", seen)
	}
	if !rep.Pass {
		t.Error("the report says a budget failed")
	}
}

// TestLoadSections runs the timed sections at tiny sizes with test argon2id
// parameters: they must run and fill their rows. Their figures say nothing
// here (the floor is a toy argon2id) and no budget is checked.
func TestLoadSections(t *testing.T) {
	if testing.Short() {
		t.Skip("starts load generator processes")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	tiny := Sizes{Name: "tiny", Levels: []Level{{1, 2}, {4, 4}}, FloorRepeats: 2, MemoryReporters: 4, MemoryRounds: 1,
		Inbox: []int{300, 3000}, InboxSamples: 3, Conns: 20, ConnSeconds: 0.5, RateConns: []int{4}, RateSeconds: 0.5, RateRounds: 2,
		SlowBytes: 6 * KB, SlowRate: 4 * KB}
	rep, err := measure(ctx, Config{KDFParams: seal.TestKDFParams, Sizes: tiny,
		Only: []string{"crypto floor", "throughput", "memory", "connection memory", "page rate", "inbox", "slow uploads"}})
	if err != nil {
		t.Fatal(err)
	}
	var table bytes.Buffer
	printTable(&table, rep)
	t.Log("\n" + table.String())
	want := map[string]int{"crypto floor": 2, "throughput": 4, "memory": 1, "connection memory": 1, "page rate": 3,
		"inbox": 8, "slow uploads": 1}
	got := map[string]int{}
	for _, r := range rep.Results {
		got[r.Section]++
		if !(r.Value > 0) {
			t.Errorf("%s: %s = %v", r.Section, r.Name, r.Value)
		}
		if r.Detail["failed"] > 0 {
			t.Errorf("%s: %s: %v reports failed: %s", r.Section, r.Name, r.Detail["failed"], r.Note)
		}
	}
	for sec, n := range want {
		if got[sec] < n {
			t.Errorf("section %s has %d rows, want at least %d", sec, got[sec], n)
		}
	}
}

func TestCaseRefsAreUnique(t *testing.T) {
	seen := map[string]bool{}
	for n := range 100_000 {
		r := caseRef(n)
		if len(r) != 9 || r[4] != '-' || seen[r] {
			t.Fatalf("caseRef(%d) = %q", n, r)
		}
		seen[r] = true
	}
}

func TestPercentile(t *testing.T) {
	xs := []float64{5, 1, 4, 2, 3}
	for p, want := range map[float64]float64{50: 3, 99: 5, 100: 5, 0: 1, 20: 1, 21: 2} {
		if got := percentile(xs, p); got != want {
			t.Errorf("percentile(%v) = %v, want %v", p, got, want)
		}
	}
}

// TestWireCounting checks the meter against the response it read: a page's
// bytes on the wire are its gzip body plus a status line and headers of a
// plausible size, and a flow counts what it sent.
func TestWireCounting(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	e, err := start(ctx, Config{KDFParams: seal.TestKDFParams})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	v := e.newVisitor("en")
	defer v.close()
	x, err := v.get(ctx, "/en/report")
	if err != nil {
		t.Fatal(err)
	}
	if !x.Gzipped || len(x.HTML) <= len(x.Body) {
		t.Fatalf("gzipped=%v, raw %d bytes, body %d bytes: want a gzip body smaller than the page", x.Gzipped, len(x.HTML), len(x.Body))
	}
	// The Content-Security-Policy alone is a few hundred bytes.
	if h := x.HeaderBytes(); h < 300 || h > 2000 {
		t.Errorf("header bytes = %d, want between 300 and 2000", h)
	}
	if x.Sent < 200 || x.Sent > 1000 {
		t.Errorf("GET sent %d bytes, want a browser's request line and headers (200–1000)", x.Sent)
	}
	if !bytes.Contains(x.HTML, []byte(`name="token"`)) {
		t.Error("the decoded page is not the report form")
	}
}

func TestJSONOutput(t *testing.T) {
	rep := &Report{Pass: false, Results: []Result{{Section: "s", Name: "n", Value: 15000, Unit: "B", Budget: pageBudget}}}
	path := filepath.Join(t.TempDir(), "bench.json")
	if err := writeJSON(path, nil, rep); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Results) != 1 || back.Results[0].Budget.Limit != 14000 || back.Pass {
		t.Errorf("round trip = %+v", back)
	}
}

func TestNum(t *testing.T) {
	for v, want := range map[float64]string{0: "0", 999: "999", 14000: "14,000", 1234567: "1,234,567", -30000: "-30,000", 1.25: "1.2", 1234.5: "1,234.5"} {
		if got := num(v); got != want {
			t.Errorf("num(%v) = %q, want %q", v, got, want)
		}
	}
	if got := (*Budget)(nil).String(); !strings.Contains(got, "–") {
		t.Errorf("no budget renders as %q", got)
	}
}

func TestPageParsing(t *testing.T) {
	for html, want := range map[string]bool{
		`<head><link rel="icon" href="data:,"></head>`:          true,
		`<head><LINK href="/i.png" rel="shortcut icon"></head>`: true,
		`<head><link rel=icon href=data:,></head>`:              true,
		`<head><link rel="stylesheet" href="/s.css"></head>`:    false,
		`<head><link rel="iconic-thing"></head>`:                false,
	} {
		if got := iconRE.MatchString(html); got != want {
			t.Errorf("declares an icon %q = %v, want %v", html, got, want)
		}
	}
	inline, files := scripts([]byte(`<script>var a=1</script><p>x</p><SCRIPT src="/x.js"></SCRIPT><script type="module">b()</script>`))
	if inline != len("var a=1")+len("b()") || files != 1 {
		t.Errorf("scripts = %d inline bytes, %d files; want %d and 1", inline, files, len("var a=1")+len("b()"))
	}
}

// TestUploadSection runs the upload memory section at tiny sizes with test
// argon2id parameters: its worst-case screenshots and chat exports must be
// accepted and stored, and the floods answered 413. No budget is checked here.
func TestUploadSection(t *testing.T) {
	if testing.Short() {
		t.Skip("starts load generator processes")
	}
	saved := uploadLoad
	t.Cleanup(func() { uploadLoad = saved })
	uploadLoad.Uploads, uploadLoad.Rounds, uploadLoad.Floods, uploadLoad.FloodBytes = 2, 1, 3, 4<<20
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	rep, err := measure(ctx, Config{KDFParams: seal.TestKDFParams, Only: []string{"upload memory"}})
	if err != nil {
		t.Fatal(err)
	}
	var table bytes.Buffer
	printTable(&table, rep)
	t.Log("\n" + table.String())
	if len(rep.Results) != 3 {
		t.Fatalf("%d rows, want screenshots, chat exports and floods", len(rep.Results))
	}
	up, chat, flood := rep.Results[0], rep.Results[1], rep.Results[2]
	if up.Detail["reports"] != 2 || up.Detail["failed"] > 0 || up.Detail["decodes_max"] < 1 {
		t.Errorf("uploads: %v %s", up.Detail, up.Note)
	}
	if chat.Detail["reports"] != 2 || chat.Detail["failed"] > 0 {
		t.Errorf("chat exports: %v %s", chat.Detail, chat.Note)
	}
	if flood.Detail["answered_413"] != 3 {
		t.Errorf("floods: %v %s", flood.Detail, flood.Note)
	}
}
