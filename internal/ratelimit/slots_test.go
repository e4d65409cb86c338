package ratelimit

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"github.com/salama-ke/salama/internal/testkit"
)

func TestSlotsCapPerAddress(t *testing.T) {
	s := NewSlots(2)
	a, b := netip.MustParseAddr("197.232.1.10"), netip.MustParseAddr("197.232.1.11")
	r1, ok1 := s.Take(a)
	r2, ok2 := s.Take(a)
	if !ok1 || !ok2 {
		t.Fatal("refused within the cap")
	}
	if _, ok := s.Take(a); ok {
		t.Fatal("a third slot for the same address")
	}
	if _, ok := s.Take(netip.MustParseAddr("::ffff:197.232.1.10")); ok {
		t.Fatal("the mapped form of the same address got its own slots")
	}
	rb, ok := s.Take(b)
	if !ok {
		t.Fatal("another address refused")
	}
	r1()
	r1() // twice gives back one slot only
	if _, ok := s.Take(a); !ok {
		t.Fatal("no slot after a release")
	}
	if _, ok := s.Take(a); ok {
		t.Fatal("a double release gave back two slots")
	}
	r2()
	rb()
	if n := s.Held(); n != 1 {
		t.Fatalf("%d addresses held, want 1", n)
	}
}

func TestSlotsIPv6SharesSlash64(t *testing.T) {
	s := NewSlots(1)
	if _, ok := s.Take(netip.MustParseAddr("2c0f:fe38:2000:1::1")); !ok {
		t.Fatal("first refused")
	}
	if _, ok := s.Take(netip.MustParseAddr("2c0f:fe38:2000:1:ffff::9")); ok {
		t.Fatal("same /64 not counted together")
	}
}

// After the daily key change the old generation's slots are still given
// back, and nothing about the address is kept in either.
func TestSlotsNewDayAndNoAddressKept(t *testing.T) {
	c := testkit.NewClock(time.Date(2026, 11, 29, 23, 59, 0, 0, time.UTC))
	s := newSlotsWithClock(1, c.Now)
	a := netip.MustParseAddr("197.232.1.10")
	old, ok := s.Take(a)
	if !ok {
		t.Fatal("refused")
	}
	oldGen := s.gen
	raw, _ := a.MarshalBinary()
	for k := range oldGen.held {
		if bytes.Contains(k[:], raw) || bytes.Contains(k[:], []byte(a.String())) {
			t.Fatal("slot key contains the address")
		}
	}
	c.Add(2 * time.Minute)
	if _, ok := s.Take(a); !ok {
		t.Fatal("the new day counts the old day's slot")
	}
	if s.gen == oldGen || s.gen.key == oldGen.key {
		t.Fatal("no new key on a new day")
	}
	old()
	if len(oldGen.held) != 0 {
		t.Fatal("a release after midnight did not reach the old count")
	}
}
