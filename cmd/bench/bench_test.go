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

// TestByteBudgets runs the byte-counting sections (page weight, report flow,
// script) with test argon2id parameters and fails when a budget fails. Byte
// counts do not depend on the machine's speed, so checking them in a test is
// sound; nothing here looks at a clock.
func TestByteBudgets(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	rep, err := measure(ctx, Config{KDFParams: seal.TestKDFParams})
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
