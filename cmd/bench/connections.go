package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"sync"
	"time"
)

// connBudget is issue 17's: a small NGO's VPS has 1–2 GB, and 1,000 phones
// on the report form once drove the server to 1.06–1.5 GB.
var connBudget = &Budget{Limit: 250, Source: "issue 17: resident memory at 1,000 connections ≤ 250 MB"}

// connMemory opens 1,000 connections at once (from a child process), each
// asking for the report form again and again, and watches the server's
// peak resident memory (this process: VmHWM, reset before the load) and
// what it keeps a few seconds after.
func connMemory(ctx context.Context, e *env) ([]Result, error) {
	s := e.cfg.Sizes
	runtime.GC()
	debug.FreeOSMemory()
	reset := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
	baseline, err := procStatus("VmRSS")
	if err != nil {
		return nil, err
	}
	res, err := runHammer(ctx, hammerSpec{URL: e.Base + "/en/report", Conns: s.Conns, Seconds: s.ConnSeconds})
	if err != nil {
		return nil, err
	}
	peak, err := procStatus("VmHWM")
	if err != nil {
		return nil, err
	}
	// What stays once the phones are gone: the collector returns freed
	// pages to the system within minutes by itself; this is what it
	// still holds five seconds later, untouched.
	time.Sleep(5 * time.Second)
	after, err := procStatus("VmRSS")
	if err != nil {
		return nil, err
	}
	r := Result{Name: fmt.Sprintf("peak resident memory, %s connections on GET /en/report", num(float64(s.Conns))),
		Value: float64(peak) / MB, Unit: "MB", Budget: connBudget,
		Detail: map[string]float64{"baseline_MB": float64(baseline) / MB, "after_5s_MB": float64(after) / MB,
			"requests": float64(res.OK), "connections": float64(res.Conns), "rps": res.rate(),
			"p99_ms": 1000 * percentile(res.Latencies, 99)}}
	if res.Failed > 0 {
		r.Detail["failed"] = float64(res.Failed)
		r.Note = "first failure: " + res.Errors[0]
	}
	if !reset {
		r.Note = "could not reset the peak: it covers the whole run"
	}
	return []Result{r}, nil
}

// pageRateBudget is issue 17's: public pages at half the rate of a trivial
// Go server sending the same bytes, at 100 connections.
var pageRateBudget = &Budget{Limit: 0.5, AtLeast: true, Source: "issue 17: ≥ 50% of a trivial server's requests/s at 100 connections"}

// pageRate measures requests per second on public pages against a trivial
// Go server that sends the same bytes (status, headers and gzip body of
// one of Salama's answers) from this same process, with the same client,
// one after the other in the same run.
func pageRate(ctx context.Context, e *env) ([]Result, error) {
	s := e.cfg.Sizes
	trivial := &trivialServer{pages: map[string]*captured{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: trivial}
	go srv.Serve(ln)
	defer srv.Close()
	trivialBase := "http://" + ln.Addr().String()

	var rows []Result
	for _, path := range []string{"/en/", "/en/report", "/sw/help"} {
		v := e.newVisitor("en-KE,en;q=0.9")
		x, err := v.get(ctx, path)
		v.close()
		if err != nil {
			return nil, err
		}
		if err := x.expect(http.StatusOK, path); err != nil {
			return nil, err
		}
		trivial.set(path, x)
		for _, conns := range s.RateConns {
			// Rounds alternate which server goes first, so that a change
			// in the machine's other load weighs on both alike.
			var sal, triv hammerResult
			for round := range s.RateRounds {
				first, second := e.Base, trivialBase
				if round%2 == 1 {
					first, second = second, first
				}
				for _, base := range []string{first, second} {
					res, err := runHammer(ctx, hammerSpec{URL: base + path, Conns: conns, Seconds: s.RateSeconds})
					if err != nil {
						return nil, err
					}
					into := &sal
					if base == trivialBase {
						into = &triv
					}
					into.add(res)
				}
			}
			r := Result{Name: fmt.Sprintf("GET %s, %s connections: Salama ÷ trivial server", path, num(float64(conns))),
				Value: sal.rate() / triv.rate(), Unit: "×",
				Detail: map[string]float64{"salama_rps": sal.rate(), "trivial_rps": triv.rate(),
					"p50_ms": 1000 * percentile(sal.Latencies, 50), "p99_ms": 1000 * percentile(sal.Latencies, 99),
					"trivial_p99_ms": 1000 * percentile(triv.Latencies, 99), "received": float64(x.Received)}}
			if conns == 100 {
				r.Budget = pageRateBudget
			}
			if sal.Failed > 0 {
				r.Detail["failed"] = float64(sal.Failed)
				r.Note = "first failure: " + sal.Errors[0]
			}
			rows = append(rows, r)
		}
	}
	return rows, nil
}

// captured is one answer of Salama's, to be sent again as it was.
type captured struct {
	status int
	header http.Header
	body   []byte
}

// trivialServer sends each path's captured answer: no template, no
// compression, no middleware.
type trivialServer struct {
	mu    sync.Mutex
	pages map[string]*captured
}

func (t *trivialServer) set(path string, x *exchange) {
	h := x.Header.Clone()
	h.Del("Date") // net/http adds its own
	t.mu.Lock()
	t.pages[path] = &captured{status: x.Status, header: h, body: x.Body}
	t.mu.Unlock()
}

func (t *trivialServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	t.mu.Lock()
	c := t.pages[r.URL.Path]
	t.mu.Unlock()
	if c == nil {
		http.NotFound(w, r)
		return
	}
	for k, v := range c.header {
		w.Header()[k] = v
	}
	w.WriteHeader(c.status)
	w.Write(c.body)
}
