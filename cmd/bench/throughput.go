package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	vocab "github.com/salama-ke/salama/internal/report"

	"github.com/salama-ke/salama/internal/reporting"
	"github.com/salama-ke/salama/internal/seal"
)

// cpuBudget is SPEC §8's "server CPU per report vs. its cryptographic floor
// (argon2id + sealing, measured in the same run) ≤ 1.25×".
var cpuBudget = &Budget{Limit: 1.25, Source: "SPEC §8: server CPU per report ≤ 1.25× its cryptographic floor"}

// cryptoFloor measures what a report cannot cost less than: one argon2id
// receipt derivation at the server's parameters, a fresh data key, the
// typical report's narrative and identifiers sealed, the data key wrapped
// to the receiving organisation (age, post-quantum hybrid) and under the
// receipt. It runs in this process while the server is idle, and counts
// CPU time (getrusage), so that the garbage collector's work for
// argon2id's 64 MiB is in the floor as it is in the server.
//
// It measures the floor twice: on one goroutine, one report after another,
// and with as many reports at once as the server runs argon2id evaluations
// (its KDF slots). Two evaluations side by side each cost more CPU time
// than one alone: on the 2-CPU development machine 2 to 2.5 times, not
// from argon2id itself (two at once, each followed by runtime.GC alone,
// cost what one does) but from seal.KDF giving each evaluation's 64 MiB
// back to the system (debug.FreeOSMemory, for the memory budget) and
// faulting it in again, kernel time that contends when two run at once.
// The server pays the same, and with reporters waiting it runs its slots
// full: a load is compared with the floor measured at the parallelism it
// runs at (see throughput), and both figures are printed.
func cryptoFloor(ctx context.Context, e *env) ([]Result, error) {
	op, err := newFloorOp(e)
	if err != nil {
		return nil, err
	}
	n := e.cfg.Sizes.FloorRepeats
	cpu, wall, err := op.measure(ctx, n, 1)
	if err != nil {
		return nil, err
	}
	argonCPU, _, err := op.measureArgon(ctx, n)
	if err != nil {
		return nil, err
	}
	e.floor = op
	e.floors = floors{}
	e.floors.add(1, n, cpu)
	rows := []Result{{
		Name:   "argon2id receipt keys + sealing a typical report (one goroutine)",
		Value:  ms(cpu),
		Unit:   "ms CPU",
		Detail: map[string]float64{"wall_ms": ms(wall), "argon2id_cpu_ms": ms(argonCPU), "repeats": float64(n)},
		Note:   "the floor of a load with one reporter (measured again around each load)",
	}}
	if e.kdfN > 1 {
		pcpu, pwall, err := op.measure(ctx, n, e.kdfN)
		if err != nil {
			return nil, err
		}
		e.floors.add(e.kdfN, n, pcpu)
		rows = append(rows, Result{
			Name:   fmt.Sprintf("the same, %d at once (as many as the server runs)", e.kdfN),
			Value:  ms(pcpu),
			Unit:   "ms CPU",
			Detail: map[string]float64{"wall_ms": ms(pwall), "repeats": float64(n)},
			Note: fmt.Sprintf("%.2f× the one-goroutine floor: what running them side by side costs on this machine; the floor of a load with %d or more reporters",
				float64(pcpu)/float64(cpu), e.kdfN),
		})
	}
	return rows, nil
}

// floors are the measurements of the cryptographic floor, by how many
// reports' cryptography ran at once.
type floors struct {
	latest map[int]time.Duration // the latest measurement, CPU per report
	sum    map[int]time.Duration // CPU of every report measured
	ops    map[int]int           // reports measured
}

func (f *floors) add(at, n int, perReport time.Duration) {
	if f.latest == nil {
		f.latest, f.sum, f.ops = map[int]time.Duration{}, map[int]time.Duration{}, map[int]int{}
	}
	f.latest[at] = perReport
	f.sum[at] += perReport * time.Duration(n)
	f.ops[at] += n
}

// mean is the CPU per report of every measurement at this parallelism.
func (f *floors) mean(at int) time.Duration {
	if f.ops[at] == 0 {
		return 0
	}
	return f.sum[at] / time.Duration(f.ops[at])
}

// floorOp is one report's cryptography, as the server does it.
type floorOp struct {
	receipts  *seal.Receipts
	recipient *seal.OrgRecipient
	narrative []byte
	ids       []byte
}

func newFloorOp(e *env) (*floorOp, error) {
	recipient, err := intakeRecipient(e)
	if err != nil {
		return nil, err
	}
	r := typicalReport("en")
	ids, _ := json.Marshal([]reporting.Identifier{{Type: r.ID[0], Platform: r.ID[1], Value: r.ID[2]}})
	salt := make([]byte, seal.SaltSize)
	rand.Read(salt)
	receipts, err := seal.NewReceipts(seal.NewKDF(e.kdfN), e.App.Secret, salt, e.App.KDFParams)
	if err != nil {
		return nil, err
	}
	return &floorOp{receipts: receipts, recipient: recipient, narrative: []byte(r.Narrative), ids: ids}, nil
}

func (op *floorOp) argon(ctx context.Context) (seal.ReceiptKeyring, error) {
	receipt, err := seal.NewReceipt()
	if err != nil {
		return seal.ReceiptKeyring{}, err
	}
	return op.receipts.Keys(ctx, receipt)
}

func (op *floorOp) report(ctx context.Context) error {
	ring, err := op.argon(ctx)
	if err != nil {
		return err
	}
	defer ring.Destroy()
	dk, err := seal.NewDataKey()
	if err != nil {
		return err
	}
	defer dk.Destroy()
	var raw [16]byte
	rand.Read(raw[:])
	id := hex.EncodeToString(raw[:]) // a report id, as the server draws one
	if _, err := dk.Seal(id, vocab.FieldNarrative, op.narrative); err != nil {
		return err
	}
	if _, err := dk.Seal(id, vocab.FieldIdentifiers, op.ids); err != nil {
		return err
	}
	if _, err := op.recipient.WrapDataKey(dk); err != nil {
		return err
	}
	_, err = ring.Current().WrapDataKey(id, dk)
	return err
}

// measure runs n reports' cryptography, at most `at` at once, after a few
// to warm up, and returns the CPU and wall time per report.
func (op *floorOp) measure(ctx context.Context, n, at int) (cpu, wall time.Duration, err error) {
	return timeOps(ctx, n, at, op.report)
}

// measureArgon is measure for the argon2id evaluation alone.
func (op *floorOp) measureArgon(ctx context.Context, n int) (time.Duration, time.Duration, error) {
	return timeOps(ctx, n, 1, func(ctx context.Context) error {
		ring, err := op.argon(ctx)
		if err == nil {
			ring.Destroy()
		}
		return err
	})
}

// warmUp is how many evaluations run before any is timed. The first few
// after a quiet spell cost up to a third more CPU time: the Go heap grows
// to hold argon2id's 64 MiB blocks, and every fresh page faults in (system
// time) and is cleared. A server under load is past that, so the floor is
// too.
const warmUp = 4

func timeOps(ctx context.Context, n, at int, f func(context.Context) error) (cpu, wall time.Duration, err error) {
	for range warmUp {
		if err := f(ctx); err != nil {
			return 0, 0, err
		}
	}
	runtime.GC()
	c0, w0 := cpuTime(), time.Now()
	var (
		wg   sync.WaitGroup
		once sync.Once
	)
	next := make(chan struct{}, n)
	for range n {
		next <- struct{}{}
	}
	close(next)
	for range at {
		wg.Go(func() {
			for range next {
				if e := f(ctx); e != nil {
					once.Do(func() { err = e })
					return
				}
			}
		})
	}
	wg.Wait()
	if err != nil {
		return 0, 0, err
	}
	return (cpuTime() - c0) / time.Duration(n), time.Since(w0) / time.Duration(n), nil
}

func intakeRecipient(e *env) (*seal.OrgRecipient, error) {
	for _, o := range e.App.Demo.Orgs {
		if o.Org.Intake {
			return seal.ParseOrgRecipient(o.Org.PublicKey)
		}
	}
	return nil, errors.New("the demo network has no intake organisation")
}

// throughput sends typical reports from 1, 8 and 32 reporters at once, each
// opening the form and posting it as a browser does, and reports
// submissions per second, the submission's latency, and the server's CPU
// time per report (the form's GET included) against the floor.
//
// A load is compared with the floor measured at the parallelism it runs
// argon2id at: one reporter, one evaluation at a time; more reporters than
// the server's KDF slots keep every slot busy. Each load's ratio against
// the one-goroutine floor is shown too, so that what the machine adds when
// evaluations run side by side is seen, not hidden.
//
// On a virtual machine both figures wander by some 15% from minute to
// minute, so the floor is measured again after each load, and the budget is
// checked once, on every report of every load against every measurement of
// the floor at that load's parallelism; each load's own ratio is shown
// beside it.
func throughput(ctx context.Context, e *env) ([]Result, error) {
	if e.floor == nil {
		return nil, errors.New("needs the crypto floor section first")
	}
	var (
		rows         []Result
		totalCPU     time.Duration
		totalReports int
		reportsAt    = map[int]int{} // reports sent by loads at each parallelism
	)
	for i, lv := range e.cfg.Sizes.Levels {
		at := min(lv.Reporters, e.kdfN)
		if e.floors.ops[at] == 0 {
			return nil, fmt.Errorf("no floor measured with %d at once", at)
		}
		runtime.GC()
		res, cpu, err := runLoad(ctx, loadSpec{Base: e.Base, Lang: "en", Reporters: lv.Reporters, Reports: lv.Reports, Net: 0x100 + i})
		if err != nil {
			return nil, err
		}
		who := fmt.Sprintf("%d reporter", lv.Reporters)
		if lv.Reporters > 1 {
			who += "s"
		}
		r := Result{Name: who + " at once: submissions", Value: float64(res.OK) / res.Elapsed, Unit: "reports/s",
			Detail: map[string]float64{"reports": float64(res.OK), "p50_ms": 1000 * percentile(res.Latencies, 50),
				"p99_ms": 1000 * percentile(res.Latencies, 99), "max_ms": 1000 * percentile(res.Latencies, 100)}}
		if res.Failed > 0 {
			r.Detail["failed"] = float64(res.Failed)
			r.Note = fmt.Sprintf("first failure: %s", res.Errors[0])
		}
		// The floor again, right after the load, at its parallelism.
		before := e.floors.latest[at]
		k := max(2, e.cfg.Sizes.FloorRepeats/3)
		after, _, err := e.floor.measure(ctx, k, at)
		if err != nil {
			return nil, err
		}
		e.floors.add(at, k, after)
		n := res.OK + res.Failed
		floor := ms(before+after) / 2
		perReport := ms(cpu) / float64(n)
		c := Result{Name: who + " at once: server CPU per report ÷ floor", Value: perReport / floor,
			Unit: "×", Detail: map[string]float64{"cpu_ms_per_report": perReport, "floor_ms": floor, "floor_at_once": float64(at)},
			Note: fmt.Sprintf("the floor with %d at once, measured just before and after this load", at)}
		if at > 1 {
			one := ms(e.floors.mean(1))
			c.Detail["one_goroutine_floor_ms"] = one
			c.Note += fmt.Sprintf("; %.2f× the one-goroutine floor", perReport/one)
		}
		rows = append(rows, r, c)
		totalCPU += cpu
		totalReports += n
		reportsAt[at] += n
	}
	// What the loads' reports cannot cost less than: each load's reports at
	// the mean of every floor measured at its parallelism.
	var floorCPU time.Duration
	repeats := 0
	for at, n := range reportsAt {
		floorCPU += e.floors.mean(at) * time.Duration(n)
		repeats += e.floors.ops[at]
	}
	perReport := ms(totalCPU) / float64(totalReports)
	floor := ms(floorCPU) / float64(totalReports)
	one := ms(e.floors.mean(1))
	rows = append(rows, Result{Name: "every load: server CPU per report ÷ floor", Value: perReport / floor, Unit: "×",
		Budget: cpuBudget, Detail: map[string]float64{"reports": float64(totalReports), "cpu_ms_per_report": perReport,
			"floor_ms": floor, "repeats": float64(repeats)},
		Note: "every report of the loads above, against every measurement of the floor at its load's parallelism"},
		Result{Name: "every load: server CPU per report ÷ one-goroutine floor", Value: perReport / one, Unit: "×",
			Detail: map[string]float64{"reports": float64(totalReports), "cpu_ms_per_report": perReport,
				"floor_ms": one, "repeats": float64(e.floors.ops[1])},
			Note: "the same against the floor of one evaluation at a time: what this machine adds when evaluations run side by side is in it"})
	return rows, nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
