package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// hammerEnv starts the bench binary as a page hammer: Conns connections at
// once, each asking for one page again and again as a phone's browser
// would (its headers, gzip), for Seconds. Like the reporters (load.go) it
// runs in a child process, so that the server's process measures only the
// server.
const hammerEnv = "SALAMA_BENCH_HAMMER"

type hammerSpec struct {
	URL     string  `json:"url"`
	Conns   int     `json:"conns"`
	Seconds float64 `json:"seconds"`
}

type hammerResult struct {
	OK        int       `json:"ok"`
	Failed    int       `json:"failed"`
	Conns     int       `json:"conns"` // connections that answered at least once
	Elapsed   float64   `json:"elapsed"`
	Latencies []float64 `json:"latencies"` // seconds, of each answered request
	Errors    []string  `json:"errors,omitempty"`
}

func (r *hammerResult) rate() float64 { return float64(r.OK) / r.Elapsed }

// add sums another run into r.
func (r *hammerResult) add(o *hammerResult) {
	r.OK += o.OK
	r.Failed += o.Failed
	r.Conns = max(r.Conns, o.Conns)
	r.Elapsed += o.Elapsed
	r.Latencies = append(r.Latencies, o.Latencies...)
	r.Errors = append(r.Errors, o.Errors...)
}

// runHammer runs spec in a child process.
func runHammer(ctx context.Context, spec hammerSpec) (*hammerResult, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	b, _ := json.Marshal(spec)
	cmd := exec.CommandContext(ctx, exe)
	cmd.Env = append(os.Environ(), hammerEnv+"="+string(b))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("hammer: %w\n%s", err, stderr.Bytes())
	}
	var res hammerResult
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		return nil, fmt.Errorf("hammer output: %w", err)
	}
	if res.OK == 0 {
		return nil, fmt.Errorf("hammer: no request was answered: %q", res.Errors)
	}
	return &res, nil
}

// hammerChild is the child's main.
func hammerChild(raw string, stdout, stderr io.Writer) int {
	var spec hammerSpec
	if err := json.Unmarshal([]byte(raw), &spec); err != nil || spec.Conns < 1 || spec.Seconds <= 0 {
		fmt.Fprintln(stderr, "bench hammer: bad spec:", raw)
		return 2
	}
	// Each worker has a transport of its own: one connection each, kept
	// alive, as many phones would hold.
	var (
		mu  sync.Mutex
		res hammerResult
		wg  sync.WaitGroup
	)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan struct{})
	var deadline time.Time
	for range spec.Conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tr := &http.Transport{DialContext: (&net.Dialer{Timeout: time.Minute}).DialContext,
				DisableCompression: true, MaxIdleConnsPerHost: 1, MaxConnsPerHost: 1}
			defer tr.CloseIdleConnections()
			client := &http.Client{Transport: tr, Timeout: time.Minute}
			lats := make([]float64, 0, 256)
			ok, failed, answered := 0, 0, false
			var errs []string
			<-ready
			for time.Now().Before(deadline) {
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, spec.URL, nil)
				req.Header.Set("User-Agent", "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Mobile Safari/537.36")
				req.Header.Set("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8")
				req.Header.Set("Accept-Encoding", "gzip, deflate, br, zstd")
				req.Header.Set("Accept-Language", "en-KE,en;q=0.9")
				t := time.Now()
				resp, err := client.Do(req)
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if err == nil && resp.StatusCode != http.StatusOK {
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
				}
				if err != nil {
					failed++
					if len(errs) < 3 && !strings.Contains(err.Error(), "context canceled") {
						errs = append(errs, err.Error())
					}
					continue
				}
				ok++
				answered = true
				lats = append(lats, time.Since(t).Seconds())
			}
			mu.Lock()
			res.OK += ok
			res.Failed += failed
			res.Latencies = append(res.Latencies, lats...)
			if answered {
				res.Conns++
			}
			if len(res.Errors) < 5 {
				res.Errors = append(res.Errors, errs...)
			}
			mu.Unlock()
		}()
	}
	t0 := time.Now()
	deadline = t0.Add(time.Duration(spec.Seconds * float64(time.Second)))
	close(ready)
	wg.Wait()
	res.Elapsed = time.Since(t0).Seconds()
	if err := json.NewEncoder(stdout).Encode(&res); err != nil {
		fmt.Fprintln(stderr, "bench hammer:", err)
		return 2
	}
	return 0
}
