package ratelimit

import (
	"crypto/rand"
	"net/netip"
	"sync"
	"time"
)

// Slots bounds what one address holds at once (open connections), keyed by
// the same daily keyed hash as Limiter: it counts, it never keeps an
// address.
//
// When the day's key changes, counting starts again under the new key; what
// was taken under the old one is still given back to the old count, so an
// address may briefly hold up to twice Max across midnight.
type Slots struct {
	max int
	now func() time.Time

	mu  sync.Mutex
	gen *slotGen
}

type slotGen struct {
	key  [32]byte
	day  int64
	held map[[32]byte]int
}

// NewSlots returns slots allowing max at once per address.
func NewSlots(max int) *Slots { return newSlotsWithClock(max, time.Now) }

func newSlotsWithClock(max int, now func() time.Time) *Slots {
	return &Slots{max: max, now: now}
}

// Take reserves one slot for addr. When addr already holds Max it reports
// false; otherwise release gives the slot back (calling it more than once
// gives back one slot only).
func (s *Slots) Take(addr netip.Addr) (release func(), ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if day := s.now().Unix() / 86400; s.gen == nil || s.gen.day != day {
		g := &slotGen{day: day, held: map[[32]byte]int{}}
		if _, err := rand.Read(g.key[:]); err != nil {
			panic(err)
		}
		s.gen = g
	}
	g := s.gen
	k := keyedHash(&g.key, addr)
	if g.held[k] >= s.max {
		return nil, false
	}
	g.held[k]++
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			if g.held[k]--; g.held[k] <= 0 {
				delete(g.held, k) // an address holding nothing leaves no trace
			}
		})
	}, true
}

// Held is the number of addresses holding a slot, for tests and metrics.
func (s *Slots) Held() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gen == nil {
		return 0
	}
	return len(s.gen.held)
}
