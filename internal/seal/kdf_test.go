package seal

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestDefaultKDFParamsPinned pins the production parameters of SPEC §6. If
// this fails, someone weakened (or changed without migration) every new
// password and receipt hash.
func TestDefaultKDFParamsPinned(t *testing.T) {
	want := KDFParams{Memory: 65536, Time: 3, Threads: 1}
	if DefaultKDFParams != want {
		t.Fatalf("DefaultKDFParams = %s, want %s", DefaultKDFParams, want)
	}
	if got := DefaultKDFParams.String(); got != "m=65536,t=3,p=1" {
		t.Fatalf("DefaultKDFParams.String() = %q", got)
	}
	if TestKDFParams == DefaultKDFParams || TestKDFParams.Memory >= DefaultKDFParams.Memory {
		t.Fatal("TestKDFParams must be tiny and distinct")
	}
}

func TestParseKDFParams(t *testing.T) {
	tests := []struct {
		in      string
		want    KDFParams
		wantErr error
	}{
		{"m=65536,t=3,p=1", DefaultKDFParams, nil},
		{"m=1024,t=1,p=1", TestKDFParams, nil},
		{"m=131072,t=4,p=2", KDFParams{131072, 4, 2}, nil},
		{"m=4194304,t=64,p=255", KDFParams{4 << 20, 64, 255}, nil},
		{"m=65535,t=3,p=1", KDFParams{}, ErrWeakParams},
		{"m=65536,t=2,p=1", KDFParams{}, ErrWeakParams},
		{"m=65536,t=3,p=0", KDFParams{}, ErrWeakParams},
		{"m=1024,t=2,p=1", KDFParams{}, ErrWeakParams}, // near TestKDFParams is not TestKDFParams
		{"m=2048,t=1,p=1", KDFParams{}, ErrWeakParams},
		{"m=4194305,t=3,p=1", KDFParams{}, ErrWeakParams},
		{"m=65536,t=65,p=1", KDFParams{}, ErrWeakParams},
		{"", KDFParams{}, ErrParamsFormat},
		{"m=65536,t=3", KDFParams{}, ErrParamsFormat},
		{"t=3,m=65536,p=1", KDFParams{}, ErrParamsFormat},
		{"m=065536,t=3,p=1", KDFParams{}, ErrParamsFormat},
		{"m=+65536,t=3,p=1", KDFParams{}, ErrParamsFormat},
		{"m=65536, t=3, p=1", KDFParams{}, ErrParamsFormat},
		{"m=65536,t=3,p=256", KDFParams{}, ErrParamsFormat},
		{"m=4294967296,t=3,p=1", KDFParams{}, ErrParamsFormat},
		{"m=65536,t=3,p=1,x=1", KDFParams{}, ErrParamsFormat},
		{"$argon2id$v=19$m=65536,t=3,p=1", KDFParams{}, ErrParamsFormat},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseKDFParams(tt.in)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Fatalf("got %s, want %s", got, tt.want)
			}
			if err == nil && got.String() != tt.in {
				t.Fatalf("String() = %q, does not round-trip", got.String())
			}
		})
	}
}

func TestKDFRefusesWeakParamsAndShortSalt(t *testing.T) {
	k := NewKDF(1)
	ctx := context.Background()
	salt := make([]byte, SaltSize)
	if _, _, err := k.Password(ctx, "pw", salt, KDFParams{Memory: 8, Time: 1, Threads: 1}); !errors.Is(err, ErrWeakParams) {
		t.Errorf("weak params: err = %v", err)
	}
	if _, _, err := k.Password(ctx, "pw", salt[:15], TestKDFParams); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("short salt: err = %v", err)
	}
	r, _ := NewReceipt()
	if _, err := k.receiptV1(ctx, r, salt, KDFParams{Memory: 64 * 1024, Time: 1, Threads: 1}); !errors.Is(err, ErrWeakParams) {
		t.Errorf("receipt weak params: err = %v", err)
	}
	if _, err := k.receiptV1(ctx, Receipt{}, salt, TestKDFParams); !errors.Is(err, ErrReceiptFormat) {
		t.Errorf("zero receipt: err = %v", err)
	}
}

func TestPassword(t *testing.T) {
	k := NewKDF(2)
	ctx := context.Background()
	salt, err := NewSalt()
	if err != nil {
		t.Fatal(err)
	}
	if len(salt) != SaltSize {
		t.Fatalf("salt is %d bytes", len(salt))
	}
	v, kek, err := k.Password(ctx, "correct horse", salt, TestKDFParams)
	if err != nil {
		t.Fatal(err)
	}
	if len(v) != 32 {
		t.Fatalf("verifier is %d bytes", len(v))
	}
	org, _ := GenerateOrgIdentity()
	w, _ := kek.WrapOrgIdentity("org-1", "user:1", org)

	v2, kek2, _ := k.Password(ctx, "correct horse", salt, TestKDFParams)
	if !VerifierEqual(v, v2) {
		t.Fatal("same password, different verifier")
	}
	if _, err := kek2.UnwrapOrgIdentity("org-1", "user:1", w); err != nil {
		t.Fatalf("same password cannot unwrap: %v", err)
	}

	salt2, _ := NewSalt()
	tests := []struct {
		name, pw string
		salt     []byte
	}{
		{"wrong password", "correct horsE", salt},
		{"other salt", "correct horse", salt2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v3, kek3, err := k.Password(ctx, tt.pw, tt.salt, TestKDFParams)
			if err != nil {
				t.Fatal(err)
			}
			if VerifierEqual(v, v3) {
				t.Fatal("verifier matches")
			}
			if _, err := kek3.UnwrapOrgIdentity("org-1", "user:1", w); !errors.Is(err, ErrOpen) {
				t.Fatalf("unwrap err = %v, want ErrOpen", err)
			}
		})
	}
}

func TestVerifierEqual(t *testing.T) {
	a := bytes.Repeat([]byte{1}, 32)
	tests := []struct {
		name string
		a, b []byte
		want bool
	}{
		{"equal", a, bytes.Clone(a), true},
		{"last byte differs", a, append(bytes.Repeat([]byte{1}, 31), 2), false},
		{"both empty", nil, nil, false},
		{"one empty", a, nil, false},
		{"prefix", a, a[:16], false},
		{"both short and equal", a[:16], a[:16], false},
	}
	for _, tt := range tests {
		if got := VerifierEqual(tt.a, tt.b); got != tt.want {
			t.Errorf("%s: got %v", tt.name, got)
		}
	}
}

// waitFor polls cond for up to 10 s; it reports progress, not timing, so it
// is no wall-clock assertion.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestKDFBoundsConcurrencyAndQueues(t *testing.T) {
	const limit, callers = 2, 7
	k := NewKDF(limit)
	var running, maxRunning, ran atomic.Int64
	release := make(chan struct{})
	k.testHook = func() {
		n := running.Add(1)
		for {
			m := maxRunning.Load()
			if n <= m || maxRunning.CompareAndSwap(m, n) {
				break
			}
		}
		<-release
		running.Add(-1)
		ran.Add(1)
	}
	salt := make([]byte, SaltSize)
	ctx := context.Background()
	errs := make(chan error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			r := receiptFromNumber(uint64(i))
			_, err := k.receiptV1(ctx, r, salt, TestKDFParams)
			errs <- err
		})
	}
	waitFor(t, "slots to fill and callers to queue", func() bool {
		return k.InFlight() == limit && k.Queued() == callers-limit
	})

	// A queued caller whose context ends gives up with ctx.Err() and never runs.
	cctx, cancel := context.WithCancel(ctx)
	cancelled := make(chan error, 1)
	go func() {
		_, _, err := k.Password(cctx, "pw", salt, TestKDFParams)
		cancelled <- err
	}()
	waitFor(t, "the extra caller to queue", func() bool { return k.Queued() == callers-limit+1 })
	cancel()
	if err := <-cancelled; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled caller: err = %v, want context.Canceled", err)
	}
	if k.Queued() != callers-limit {
		t.Fatalf("queue length after cancel = %d", k.Queued())
	}
	// A deadline behaves the same.
	dctx, dcancel := context.WithTimeout(ctx, time.Millisecond)
	defer dcancel()
	if _, _, err := k.Password(dctx, "pw", salt, TestKDFParams); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("deadline caller: err = %v", err)
	}

	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("queued caller failed: %v", err)
		}
	}
	if got := maxRunning.Load(); got != limit {
		t.Fatalf("max concurrent evaluations = %d, want %d", got, limit)
	}
	if got := ran.Load(); got != callers {
		t.Fatalf("%d evaluations ran, want %d (the cancelled ones must not run)", got, callers)
	}
	if k.InFlight() != 0 || k.Queued() != 0 {
		t.Fatalf("after all done: in flight %d, queued %d", k.InFlight(), k.Queued())
	}
}

func TestKDFRealEvaluationsUnderLoad(t *testing.T) {
	// Without the hook: many real evaluations through a small KDF all finish
	// and InFlight never exceeds the bound.
	const limit = 2
	k := NewKDF(limit)
	salt := make([]byte, SaltSize)
	var over atomic.Bool
	k.testHook = func() {
		if k.InFlight() > limit {
			over.Store(true)
		}
	}
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			if _, err := k.receiptV1(context.Background(), receiptFromNumber(uint64(i)), salt, TestKDFParams); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if over.Load() {
		t.Fatal("more evaluations in flight than the bound")
	}
}

func TestKDFZeroValueAndDefaults(t *testing.T) {
	var k KDF
	if _, _, err := k.Password(context.Background(), "pw", make([]byte, SaltSize), TestKDFParams); err != nil {
		t.Fatal(err)
	}
	if cap(k.sem) < 1 || cap(NewKDF(0).sem) < 1 || cap(NewKDF(-3).sem) < 1 {
		t.Fatal("default KDF has no slots")
	}
	if cap(NewKDF(5).sem) != 5 {
		t.Fatal("NewKDF(5) does not allow 5")
	}
}

func TestKDFAlreadyCancelled(t *testing.T) {
	k := NewKDF(1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := k.Password(ctx, "pw", make([]byte, SaltSize), TestKDFParams); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}

func TestKDFEvaluationsCounts(t *testing.T) {
	k := NewKDF(2)
	salt, _ := NewSalt()
	if k.Evaluations() != 0 {
		t.Fatalf("a new KDF counts %d", k.Evaluations())
	}
	for range 3 {
		if _, _, err := k.Password(context.Background(), "pw", salt, TestKDFParams); err != nil {
			t.Fatal(err)
		}
	}
	// Refused before running: not counted.
	k.Password(context.Background(), "pw", salt[:4], TestKDFParams)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	k.Password(ctx, "pw", salt, TestKDFParams)
	if n := k.Evaluations(); n != 3 {
		t.Errorf("%d evaluations counted, want 3", n)
	}
}

// TestKDFWaitTotals: every turn given counts, and a turn that had to queue
// behind a held slot counts its wait; a cancelled wait gives no turn.
func TestKDFWaitTotals(t *testing.T) {
	k := NewKDF(1)
	release, err := k.Slot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if turns, _ := k.WaitTotals(); turns != 1 {
		t.Fatalf("turns = %d after one slot, want 1", turns)
	}
	got := make(chan time.Duration)
	go func() {
		r, err := k.Slot(context.Background())
		if err != nil {
			t.Error(err)
		}
		r()
		_, w := k.WaitTotals()
		got <- w
	}()
	waitFor(t, "the second caller to queue", func() bool { return k.Queued() == 1 })
	time.Sleep(20 * time.Millisecond) // the held slot makes it wait at least this
	release()
	if w := <-got; w < 20*time.Millisecond {
		t.Errorf("waited %v in all, want at least the 20ms the slot was held", w)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	k.Slot(ctx)
	if turns, _ := k.WaitTotals(); turns != 2 {
		t.Errorf("turns = %d, want 2 (a cancelled wait is no turn)", turns)
	}
}
