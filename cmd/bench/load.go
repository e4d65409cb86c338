package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"slices"
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
}

// loadResult is what the child measured.
type loadResult struct {
	OK        int       `json:"ok"`
	Failed    int       `json:"failed"`
	Latencies []float64 `json:"latencies"` // seconds, of each accepted POST
	Elapsed   float64   `json:"elapsed"`   // seconds, first request to last answer
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
			for range n {
				lat, err := reportOnce(ctx, v, spec.Lang)
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

// reportOnce opens the form and sends a typical report; the latency is the
// submission's, from the POST to the receipt page.
func reportOnce(ctx context.Context, v *visitor, lang string) (time.Duration, error) {
	form, err := v.get(ctx, "/"+lang+"/report")
	if err != nil {
		return 0, err
	}
	if err := form.expect(200, "GET /"+lang+"/report"); err != nil {
		return 0, err
	}
	t := time.Now()
	if _, _, err := v.submit(ctx, lang, form, typicalReport(lang)); err != nil {
		return 0, err
	}
	return time.Since(t), nil
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
