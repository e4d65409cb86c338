// Package ratelimit slows repeated requests from one network address without
// keeping the address. Buckets are keyed by HMAC-SHA-256 of the address under
// a random key that lives only in memory and is replaced every day, so
// neither a memory dump after the day nor anything on disk links a bucket to
// an address. IPv6 addresses are masked to their /64, which is what one
// subscriber usually gets.
//
// It must never log or store an address.
package ratelimit

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"net/netip"
	"sync"
	"time"
)

// Rule is a token bucket: Burst requests at once, then one every Every.
type Rule struct {
	Burst int
	Every time.Duration
}

// Limiter applies one rule per address.
type Limiter struct {
	rule Rule
	now  func() time.Time

	mu      sync.Mutex
	key     [32]byte
	keyDay  int64
	buckets map[[32]byte]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

// New returns a limiter for rule.
func New(rule Rule) *Limiter { return newWithClock(rule, time.Now) }

func newWithClock(rule Rule, now func() time.Time) *Limiter {
	return &Limiter{rule: rule, now: now, buckets: map[[32]byte]*bucket{}}
}

// Allow takes one token for addr and reports whether it was available, and
// if not, how long until one is.
func (l *Limiter) Allow(addr netip.Addr) (bool, time.Duration) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if day := now.Unix() / 86400; day != l.keyDay {
		// A new day: a new key, and the old buckets (keyed by the old key)
		// are forgotten with it.
		if _, err := rand.Read(l.key[:]); err != nil {
			panic(err)
		}
		l.keyDay = day
		clear(l.buckets)
	}
	k := l.hash(addr)
	b := l.buckets[k]
	if b == nil {
		if len(l.buckets) > 1_000_000 {
			l.sweep(now)
		}
		b = &bucket{tokens: float64(l.rule.Burst), at: now}
		l.buckets[k] = b
	}
	b.tokens = min(float64(l.rule.Burst), b.tokens+now.Sub(b.at).Seconds()/l.rule.Every.Seconds())
	b.at = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) * float64(l.rule.Every))
}

// sweep drops full buckets, which carry no information.
func (l *Limiter) sweep(now time.Time) {
	full := time.Duration(l.rule.Burst) * l.rule.Every
	for k, b := range l.buckets {
		if now.Sub(b.at) >= full {
			delete(l.buckets, k)
		}
	}
}

func (l *Limiter) hash(addr netip.Addr) [32]byte { return keyedHash(&l.key, addr) }

// keyedHash is the one way an address becomes a key, for Limiter and Slots
// alike: HMAC-SHA-256 under the day's key, IPv6 masked to its /64.
func keyedHash(key *[32]byte, addr netip.Addr) [32]byte {
	addr = addr.Unmap()
	if addr.Is6() {
		p, _ := addr.Prefix(64)
		addr = p.Addr()
	}
	b, _ := addr.MarshalBinary()
	m := hmac.New(sha256.New, key[:])
	m.Write(b)
	var out [32]byte
	m.Sum(out[:0])
	return out
}

// Size is the number of buckets held, for tests and metrics.
func (l *Limiter) Size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}
