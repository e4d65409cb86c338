package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// memory watches the server's peak resident memory while 50 reporters send
// reports at once. SPEC §8: ≤ 100 MB plus the argon2id memory in flight,
// which the server bounds at its KDF concurrency × 64 MiB.
//
// The peak is the kernel's (VmHWM in /proc/self/status), reset before the
// load (writing 5 to /proc/self/clear_refs), so what the earlier sections
// left behind in this process does not count; what the server holds between
// loads (its pools, caches, the Go runtime) does, as it would in production.
func memory(ctx context.Context, e *env) ([]Result, error) {
	budget := &Budget{Limit: float64(100*MB+e.kdfN*64*MiB) / MB,
		Source: fmt.Sprintf("SPEC §8: ≤ 100 MB + argon2id in flight (%d × 64 MiB)", e.kdfN)}
	r, err := peakRSS(ctx, e, 0x200)
	if err != nil {
		return nil, err
	}
	r.Name = fmt.Sprintf("peak resident memory, %d reporters at once", e.cfg.Sizes.MemoryReporters)
	r.Budget = budget
	rows := []Result{r}
	if debug.SetMemoryLimit(-1) == math.MaxInt64 {
		// argon2id's 64 MiB blocks are garbage as soon as an evaluation
		// ends, but the collector lets the heap double before it runs
		// (GOGC=100). Show what a soft memory limit at the budget does,
		// as GOMEMLIMIT or debug.SetMemoryLimit in the server would.
		limit := int64(budget.Limit * MB)
		debug.SetMemoryLimit(limit)
		r, err := peakRSS(ctx, e, 0x201)
		debug.SetMemoryLimit(math.MaxInt64)
		if err != nil {
			return nil, err
		}
		r.Name = fmt.Sprintf("the same with a soft memory limit of %s MB (GOMEMLIMIT)", num(budget.Limit))
		r.Note = "what the server would do with the limit set; it sets none today"
		rows = append(rows, r)
	}
	return rows, nil
}

// peakRSS runs the memory load once and returns the peak as a row.
func peakRSS(ctx context.Context, e *env, net int) (Result, error) {
	s := e.cfg.Sizes
	r, _, err := peakDuring(ctx, e, loadSpec{Base: e.Base, Lang: "sw", Reporters: s.MemoryReporters,
		Reports: s.MemoryReporters * s.MemoryRounds, Net: net})
	return r, err
}

// peakDuring runs a load and returns the server's peak resident memory
// meanwhile as a row, with what was in flight at most: argon2id
// evaluations, and the screenshots decoded in the same slots.
func peakDuring(ctx context.Context, e *env, spec loadSpec) (Result, *loadResult, error) {
	runtime.GC()
	debug.FreeOSMemory()
	reset := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
	baseline, err := procStatus("VmRSS")
	if err != nil {
		return Result{}, nil, err
	}

	// Watch how many argon2id evaluations and decodes run at once, and the
	// Go heap.
	var inFlight, slots, heap, goRes atomic.Int64
	done := make(chan struct{})
	go func() {
		sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				n := int64(e.App.KDF.InFlight())
				if n > inFlight.Load() {
					inFlight.Store(n)
				}
				if n += int64(e.App.Images.InFlight()); n > slots.Load() {
					slots.Store(n)
				}
				metrics.Read(sample)
				if v := int64(sample[0].Value.Uint64()); v > heap.Load() {
					heap.Store(v)
				}
				if v := int64(sample[1].Value.Uint64() - sample[2].Value.Uint64()); v > goRes.Load() {
					goRes.Store(v)
				}
			}
		}
	}()
	res, cpu, err := runLoad(ctx, spec)
	close(done)
	if err != nil {
		return Result{}, nil, err
	}
	peak, err := procStatus("VmHWM")
	if err != nil {
		return Result{}, nil, err
	}
	r := Result{Value: float64(peak) / MB, Unit: "MB",
		Detail: map[string]float64{"reports": float64(res.OK), "baseline_MB": float64(baseline) / MB,
			"peak_heap_MB": float64(heap.Load()) / MB, "go_mapped_MB": float64(goRes.Load()) / MB, "argon2id_slots": float64(e.kdfN),
			"argon2id_in_flight_max": float64(inFlight.Load()), "cpu_ms_per_report": ms(cpu) / float64(res.OK+res.Failed)}}
	if d := e.App.Images.Peak(); d > 0 {
		r.Detail["slots_in_flight_max"] = float64(slots.Load())
	}
	if res.Failed > 0 {
		r.Detail["failed"] = float64(res.Failed)
	}
	if !reset {
		r.Note = "could not reset the peak: it covers the whole run"
	}
	return r, res, nil
}

// procStatus reads a "kB" field of /proc/self/status, in bytes.
func procStatus(field string) (int64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("resident memory needs Linux's /proc: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || k != field {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/self/status %s: %w", field, err)
		}
		return n * 1024, nil
	}
	return 0, errors.New("/proc/self/status has no " + field)
}
