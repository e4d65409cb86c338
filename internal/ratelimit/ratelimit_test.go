package ratelimit

import (
	"bytes"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/salama-ke/salama/internal/testkit"
)

func TestBurstThenRefill(t *testing.T) {
	c := testkit.NewClock(time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC))
	l := newWithClock(Rule{Burst: 3, Every: time.Minute}, c.Now)
	a := netip.MustParseAddr("197.232.1.10")
	for i := range 3 {
		if ok, _ := l.Allow(a); !ok {
			t.Fatalf("request %d refused within burst", i+1)
		}
	}
	ok, wait := l.Allow(a)
	if ok || wait <= 0 || wait > time.Minute {
		t.Fatalf("4th request: ok=%v wait=%v, want refused with wait in (0, 1m]", ok, wait)
	}
	if ok, _ := l.Allow(netip.MustParseAddr("197.232.1.11")); !ok {
		t.Fatal("another address was limited")
	}
	c.Add(time.Minute)
	if ok, _ := l.Allow(a); !ok {
		t.Fatal("no token after one refill period")
	}
	if ok, _ := l.Allow(a); ok {
		t.Fatal("more than one token refilled in one period")
	}
}

func TestIPv6SharesSlash64(t *testing.T) {
	c := testkit.NewClock(time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC))
	l := newWithClock(Rule{Burst: 1, Every: time.Hour}, c.Now)
	if ok, _ := l.Allow(netip.MustParseAddr("2c0f:fe38:2000:1::1")); !ok {
		t.Fatal("first refused")
	}
	if ok, _ := l.Allow(netip.MustParseAddr("2c0f:fe38:2000:1:ffff::9")); ok {
		t.Fatal("same /64 not limited together")
	}
	if ok, _ := l.Allow(netip.MustParseAddr("2c0f:fe38:2000:2::1")); !ok {
		t.Fatal("another /64 limited")
	}
	if ok, _ := l.Allow(netip.MustParseAddr("::ffff:10.0.0.1")); !ok {
		t.Fatal("mapped IPv4 refused")
	}
	if ok, _ := l.Allow(netip.MustParseAddr("10.0.0.1")); ok {
		t.Fatal("mapped and plain IPv4 counted apart")
	}
}

func TestKeyRotatesDaily(t *testing.T) {
	c := testkit.NewClock(time.Date(2026, 11, 29, 23, 59, 0, 0, time.UTC))
	l := newWithClock(Rule{Burst: 1, Every: 24 * time.Hour}, c.Now)
	a := netip.MustParseAddr("197.232.1.10")
	l.Allow(a)
	k1 := l.key
	c.Add(2 * time.Minute)
	if ok, _ := l.Allow(a); !ok {
		t.Fatal("bucket survived the daily key change")
	}
	if k1 == l.key {
		t.Fatal("key did not rotate")
	}
}

// The limiter must hold no address: neither the bytes nor the text form of
// any address appears in its buckets' keys.
func TestNoAddressKept(t *testing.T) {
	l := New(Rule{Burst: 5, Every: time.Second})
	for i := range 50 {
		a := netip.MustParseAddr(fmt.Sprintf("197.232.%d.%d", i, i+1))
		l.Allow(a)
		raw, _ := a.MarshalBinary()
		for k := range l.buckets {
			if bytes.Contains(k[:], raw) || bytes.Contains(k[:], []byte(a.String())) {
				t.Fatalf("bucket key contains address %s", a)
			}
		}
	}
	if l.Size() != 50 {
		t.Fatalf("size %d, want 50", l.Size())
	}
}
