package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The reporters that load the server run in a child process: the bench
// binary started again with loadEnv set to a loadSpec. Then the server's
// process (this one) spends its CPU time and memory on serving alone, and
// getrusage(RUSAGE_SELF) and /proc/self/status measure the server, not the
// clients that build forms and read pages. Both processes share the
// machine's cores, as a load generator on the same host does.
const loadEnv = "SALAMA_BENCH_LOADGEN"

// loadSpec is what the child does.
type loadSpec struct {
	Base      string `json:"base"`
	Lang      string `json:"lang"`      // en or sw
	Reporters int    `json:"reporters"` // at once
	Reports   int    `json:"reports"`   // in all
	// Net numbers this load, so that its reporters' addresses differ from
	// every other load's.
	Net int `json:"net"`
	// Files, when set, are screenshots (paths) attached to the reports, one
	// each, in turn.
	Files []string `json:"files,omitempty"`
	// Flood, when set, makes each report a URL-encoded body of this many
	// bytes, far past the form's cap, instead of a real report.
	Flood int64 `json:"flood,omitempty"`
}

// loadResult is what the child measured.
type loadResult struct {
	OK        int       `json:"ok"`
	Failed    int       `json:"failed"`
	Refused   int       `json:"refused,omitempty"` // floods answered 413
	Latencies []float64 `json:"latencies"`         // seconds, of each accepted POST
	Elapsed   float64   `json:"elapsed"`           // seconds, first request to last answer
	Errors    []string  `json:"errors,omitempty"`
}

// runLoad runs spec in a child process and returns what it measured and
// the CPU time this process (the server) used meanwhile.
func runLoad(ctx context.Context, spec loadSpec) (*loadResult, time.Duration, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, 0, err
	}
	b, _ := json.Marshal(spec)
	cmd := exec.CommandContext(ctx, exe)
	cmd.Env = append(os.Environ(), loadEnv+"="+string(b))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cpu0 := cpuTime()
	err = cmd.Run()
	cpu := cpuTime() - cpu0
	if err != nil {
		return nil, 0, fmt.Errorf("load generator: %w\n%s", err, stderr.Bytes())
	}
	var res loadResult
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		return nil, 0, fmt.Errorf("load generator output: %w", err)
	}
	if res.OK == 0 {
		return nil, 0, fmt.Errorf("load generator: no report was accepted: %q", res.Errors)
	}
	return &res, cpu, nil
}

// loadChild is the child's main: Reporters survivors at once, each on their
// own connection and address, each opening the form and sending it until
// Reports have been sent in all.
func loadChild(raw string, stdout, stderr io.Writer) int {
	var spec loadSpec
	if err := json.Unmarshal([]byte(raw), &spec); err != nil || spec.Reporters < 1 || spec.Reports < 1 {
		fmt.Fprintln(stderr, "bench load generator: bad spec:", raw)
		return 2
	}
	acceptLanguage := "en-KE,en;q=0.9"
	if spec.Lang == "sw" {
		acceptLanguage = "sw-KE,sw;q=0.9,en;q=0.8"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()

	var (
		mu  sync.Mutex
		res loadResult
		wg  sync.WaitGroup
	)
	var files [][]byte
	for _, path := range spec.Files {
		b, err := os.ReadFile(path)
		if err != nil {
			fmt.Fprintln(stderr, "bench load generator:", err)
			return 2
		}
		files = append(files, b)
	}
	start := make(chan struct{})
	for i := range spec.Reporters {
		n := spec.Reports / spec.Reporters
		if i < spec.Reports%spec.Reporters {
			n++
		}
		if n == 0 {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			v := newVisitorAt(spec.Base, acceptLanguage)
			defer v.close()
			// One /64 per reporter, from the documentation prefix: the
			// address is only a header, nothing is ever sent to it.
			v.xff = fmt.Sprintf("2001:db8:%x:%x::1", spec.Net, i)
			<-start
			for k := range n {
				var (
					lat time.Duration
					err error
				)
				switch {
				case spec.Flood > 0:
					var refused bool
					refused, err = floodOnce(ctx, v, spec.Lang, spec.Flood)
					if refused {
						mu.Lock()
						res.Refused++
						mu.Unlock()
					}
				case len(files) > 0:
					lat, err = reportOnce(ctx, v, spec.Lang, files[(i+k)%len(files)])
				default:
					lat, err = reportOnce(ctx, v, spec.Lang)
				}
				mu.Lock()
				if err != nil {
					res.Failed++
					if len(res.Errors) < 5 {
						res.Errors = append(res.Errors, err.Error())
					}
				} else {
					res.OK++
					res.Latencies = append(res.Latencies, lat.Seconds())
				}
				mu.Unlock()
			}
		}()
	}
	t0 := time.Now()
	close(start)
	wg.Wait()
	res.Elapsed = time.Since(t0).Seconds()
	if err := json.NewEncoder(stdout).Encode(&res); err != nil {
		fmt.Fprintln(stderr, "bench load generator:", err)
		return 2
	}
	return 0
}

// reportOnce opens the form and sends a typical report, with the
// screenshots given; the latency is the submission's, from the POST to the
// receipt page.
func reportOnce(ctx context.Context, v *visitor, lang string, files ...[]byte) (time.Duration, error) {
	form, err := v.get(ctx, "/"+lang+"/report")
	if err != nil {
		return 0, err
	}
	if err := form.expect(200, "GET /"+lang+"/report"); err != nil {
		return 0, err
	}
	t := time.Now()
	r := typicalReport(lang)
	r.Files = files
	if _, _, err := v.submit(ctx, lang, form, r); err != nil {
		return 0, err
	}
	return time.Since(t), nil
}

// floodOnce sends a URL-encoded report body of size bytes, as issue 17's
// load test did: a narrative far past any honest length. refused says the
// server answered 413 having read only its cap; a server that closes the
// connection on the rest of the body without an answer the client could
// read is an error.
func floodOnce(ctx context.Context, v *visitor, lang string, size int64) (refused bool, err error) {
	head := "token=x&send=1&narrative="
	body := io.MultiReader(strings.NewReader(head), io.LimitReader(repeatReader('a'), size-int64(len(head))))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, v.base+"/"+lang+"/report", body)
	if err != nil {
		return false, err
	}
	req.ContentLength = size
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	v.browserHeaders(req.Header)
	resp, err := v.client.Do(req)
	if err != nil {
		return false, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		return false, fmt.Errorf("flood: status %d, want 413", resp.StatusCode)
	}
	return true, nil
}

// repeatReader reads the same byte for ever.
type repeatReader byte

func (r repeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}

// cpuTime is the user and system CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// percentile is the nearest-rank percentile p (0–100) of xs.
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}
