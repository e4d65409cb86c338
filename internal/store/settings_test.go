package store_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/salama-ke/salama/internal/store"
	"github.com/salama-ke/salama/internal/store/storetest"
)

func TestSettings(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		if v, ok, err := s.Setting(ctx, "k"); err != nil || ok || v != nil {
			t.Fatalf("Setting on empty store = %q, %v, %v", v, ok, err)
		}

		errGen := errors.New("no entropy")
		if _, err := s.EnsureSetting(ctx, "k", func() ([]byte, error) { return nil, errGen }); !errors.Is(err, errGen) {
			t.Errorf("EnsureSetting with failing gen: %v", err)
		}
		if _, ok, _ := s.Setting(ctx, "k"); ok {
			t.Error("failed gen stored a value")
		}

		calls := 0
		gen := func() ([]byte, error) {
			calls++
			return []byte{0, 1, 2, 0xff}, nil
		}
		v, err := s.EnsureSetting(ctx, "k", gen)
		if err != nil || !bytes.Equal(v, []byte{0, 1, 2, 0xff}) {
			t.Fatalf("EnsureSetting = %x, %v", v, err)
		}
		v, err = s.EnsureSetting(ctx, "k", gen)
		if err != nil || !bytes.Equal(v, []byte{0, 1, 2, 0xff}) {
			t.Fatalf("second EnsureSetting = %x, %v", v, err)
		}
		if calls != 1 {
			t.Errorf("gen called %d times, want 1", calls)
		}
		if v, ok, err := s.Setting(ctx, "k"); err != nil || !ok || !bytes.Equal(v, []byte{0, 1, 2, 0xff}) {
			t.Errorf("Setting = %x, %v, %v", v, ok, err)
		}

		if v, err := s.EnsureSetting(ctx, "empty", func() ([]byte, error) { return nil, nil }); err != nil || v == nil || len(v) != 0 {
			t.Errorf("EnsureSetting of an empty value = %#v, %v", v, err)
		}
	})
}

// TestEnsureSettingConcurrent starts two instances on one database and asks
// both, from ten goroutines, for a setting each would generate differently:
// all must get the same value.
func TestEnsureSettingConcurrent(t *testing.T) {
	t.Parallel()
	storetest.EachDB(t, func(t *testing.T, db storetest.DB) {
		instances := []*store.Store{db.Open(t), db.Open(t)}
		ctx := t.Context()
		const n = 10
		got := make([][]byte, n)
		errs := make([]error, n)
		var gens atomic.Int32
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				<-start
				got[i], errs[i] = instances[i%2].EnsureSetting(ctx, "network-key", func() ([]byte, error) {
					gens.Add(1)
					return []byte(rand.Text()), nil
				})
			})
		}
		close(start)
		wg.Wait()
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("goroutine %d: %v", i, errs[i])
			}
			if !bytes.Equal(got[i], got[0]) {
				t.Errorf("goroutine %d got %q, goroutine 0 got %q", i, got[i], got[0])
			}
		}
		stored, ok, err := instances[1].Setting(ctx, "network-key")
		if err != nil || !ok || !bytes.Equal(stored, got[0]) {
			t.Errorf("stored %q, %v, %v; returned %q", stored, ok, err, got[0])
		}
		t.Logf("gen ran %d times for %d callers", gens.Load(), n)
	})
}
