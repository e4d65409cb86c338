package seal

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"fmt"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/argon2"
)

// KDFParams are argon2id parameters. They are stored with every hash (see
// [KDFParams.String]) so that they can be raised later without breaking
// existing passwords.
type KDFParams struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8  // lanes
}

// DefaultKDFParams are the production parameters fixed by SPEC §6
// (m=64 MiB, t=3, p=1). They are also the floor: weaker parameters are
// refused unless they equal TestKDFParams exactly.
var DefaultKDFParams = KDFParams{Memory: 64 * 1024, Time: 3, Threads: 1}

// TestKDFParams are tiny parameters FOR TESTS ONLY, so that a test suite can
// log in and submit reports quickly. They are the one exception to the floor,
// and offer no protection against offline guessing: production code must
// never select them.
var TestKDFParams = KDFParams{Memory: 1024, Time: 1, Threads: 1}

// Ceilings, so that a corrupted parameter string cannot make one evaluation
// eat the machine.
const (
	maxKDFMemory = 4 << 20 // KiB = 4 GiB
	maxKDFTime   = 64
)

const (
	// SaltSize is the size of salts returned by NewSalt, and the minimum
	// accepted by the KDF.
	SaltSize     = 16
	verifierSize = 32
	kdfOutput    = 64
)

// String encodes p as "m=65536,t=3,p=1".
func (p KDFParams) String() string {
	return fmt.Sprintf("m=%d,t=%d,p=%d", p.Memory, p.Time, p.Threads)
}

// ParseKDFParams parses the canonical encoding written by [KDFParams.String]
// and refuses parameters that fail [KDFParams.Validate].
func ParseKDFParams(s string) (KDFParams, error) {
	var p KDFParams
	parts := strings.Split(s, ",")
	if len(parts) != 3 {
		return KDFParams{}, ErrParamsFormat
	}
	var vals [3]uint64
	for i, prefix := range [...]string{"m=", "t=", "p="} {
		v, ok := strings.CutPrefix(parts[i], prefix)
		if !ok {
			return KDFParams{}, ErrParamsFormat
		}
		bits := 32
		if i == 2 {
			bits = 8
		}
		n, err := strconv.ParseUint(v, 10, bits)
		if err != nil {
			return KDFParams{}, ErrParamsFormat
		}
		vals[i] = n
	}
	p = KDFParams{Memory: uint32(vals[0]), Time: uint32(vals[1]), Threads: uint8(vals[2])}
	// One spelling per parameter set: no leading zeros or other variants.
	if p.String() != s {
		return KDFParams{}, ErrParamsFormat
	}
	if err := p.Validate(); err != nil {
		return KDFParams{}, err
	}
	return p, nil
}

// Validate refuses parameters below DefaultKDFParams in any dimension,
// unless they are exactly TestKDFParams, and parameters above sane ceilings.
func (p KDFParams) Validate() error {
	if p == TestKDFParams {
		return nil
	}
	floor := KDFParams{Memory: 64 * 1024, Time: 3, Threads: 1} // not DefaultKDFParams: a var can be reassigned
	if p.Memory < floor.Memory || p.Time < floor.Time || p.Threads < floor.Threads {
		return fmt.Errorf("%w: %s is below the floor %s", ErrWeakParams, p, floor)
	}
	if p.Memory > maxKDFMemory || p.Time > maxKDFTime {
		return fmt.Errorf("%w: %s is above the ceiling", ErrWeakParams, p)
	}
	return nil
}

// KDF runs argon2id. Each evaluation holds Memory KiB for its duration, so a
// KDF bounds how many run at once; the others wait their turn (or until their
// context ends) and are never refused for being busy. Use one KDF per
// process. The zero value is usable and allows runtime.NumCPU() at once.
type KDF struct {
	once     sync.Once
	max      int
	sem      chan struct{}
	inFlight atomic.Int64
	queued   atomic.Int64
	done     atomic.Int64
	// waits and waited count the turns taken through Slot and the time
	// spent queueing for them, for the metrics (WaitTotals).
	waits  atomic.Int64
	waited atomic.Int64 // nanoseconds

	// testHook, when set by a test before use, runs while a slot is held.
	testHook func()
}

// NewKDF returns a KDF that runs at most maxConcurrent evaluations at once;
// maxConcurrent <= 0 means runtime.NumCPU().
func NewKDF(maxConcurrent int) *KDF {
	k := &KDF{max: maxConcurrent}
	k.init()
	return k
}

func (k *KDF) init() {
	k.once.Do(func() {
		if k.max <= 0 {
			k.max = runtime.NumCPU()
		}
		k.sem = make(chan struct{}, k.max)
	})
}

// InFlight reports how many evaluations are running now.
func (k *KDF) InFlight() int { return int(k.inFlight.Load()) }

// Queued reports how many callers are waiting for a slot.
func (k *KDF) Queued() int { return int(k.queued.Load()) }

// Evaluations reports how many argon2id evaluations this KDF has run since it
// was made: a count for metrics, and the way a test proves that a code path
// paid the full cost (an unknown username at login must cost what a known
// one does) without measuring time.
func (k *KDF) Evaluations() int64 { return k.done.Load() }

// WaitTotals reports how many turns were given through Slot (evaluations
// and screenshot decodes) and how long they waited for it in all: the
// metrics' argon2id queue wait (the mean is waited/turns).
func (k *KDF) WaitTotals() (turns int64, waited time.Duration) {
	return k.waits.Load(), time.Duration(k.waited.Load())
}

// Slot waits for one of the KDF's slots, as an evaluation does (in the same
// queue, until ctx ends), and returns the function that gives it back.
// Other work that needs, like argon2id, a CPU and up to an evaluation's
// memory (making the display copy of a screenshot) takes its slots from
// here, so that the two together never hold more memory than the bound on
// concurrent evaluations promises.
func (k *KDF) Slot(ctx context.Context) (release func(), err error) {
	k.init()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	k.queued.Add(1)
	start := time.Now()
	select {
	case k.sem <- struct{}{}:
		k.queued.Add(-1)
		k.waited.Add(int64(time.Since(start)))
		k.waits.Add(1)
	case <-ctx.Done():
		k.queued.Add(-1)
		return nil, ctx.Err()
	}
	var once sync.Once
	return func() { once.Do(func() { <-k.sem }) }, nil
}

// derive64 returns argon2id(secret, salt, p) as two 32-byte halves. It waits
// for a slot, returning ctx.Err() if ctx ends first; once running, an
// evaluation cannot be interrupted.
func (k *KDF) derive64(ctx context.Context, secret, salt []byte, p KDFParams) (first, second []byte, err error) {
	if err := p.Validate(); err != nil {
		return nil, nil, err
	}
	if len(salt) < SaltSize {
		return nil, nil, fmt.Errorf("%w: salt shorter than %d bytes", ErrInvalidInput, SaltSize)
	}
	release, err := k.Slot(ctx)
	if err != nil {
		return nil, nil, err
	}
	defer release()
	k.inFlight.Add(1)
	defer k.inFlight.Add(-1)
	if k.testHook != nil {
		k.testHook()
	}
	out := argon2.IDKey(secret, salt, p.Time, p.Memory, p.Threads, kdfOutput)
	k.done.Add(1)
	// The evaluation's memory block (Memory KiB) is garbage now. Collect it
	// and give it back to the system while this slot is still held, so that
	// resident memory stays near what the bound on concurrent evaluations
	// promises (SPEC §8's memory budget): a block only collected stays
	// resident, free, until the scavenger's slow turn, and the decodes that
	// share these slots (Slot) allocate blocks of other sizes beside it.
	debug.FreeOSMemory()
	return out[: kdfOutput/2 : kdfOutput/2], out[kdfOutput/2:], nil
}

// NewSalt returns SaltSize random bytes, one per user password.
func NewSalt() ([]byte, error) {
	s := make([]byte, SaltSize)
	if _, err := rand.Read(s); err != nil {
		return nil, fmt.Errorf("seal: reading randomness: %w", err)
	}
	return s, nil
}

// Password derives a user's verifier and key-encryption key from password:
// argon2id(password, salt, p) gives 64 bytes; the first 32 are the verifier,
// stored and compared with [VerifierEqual], the last 32 the KEK that unwraps
// the organisation key. Params are validated as by [KDFParams.Validate].
func (k *KDF) Password(ctx context.Context, password string, salt []byte, p KDFParams) (verifier []byte, kek *Key, err error) {
	pw := []byte(password)
	defer clear(pw)
	v, w, err := k.derive64(ctx, pw, salt, p)
	if err != nil {
		return nil, nil, err
	}
	kek, err = KeyFromBytes(w)
	clear(w)
	if err != nil {
		return nil, nil, err
	}
	return v, kek, nil
}

// VerifierEqual compares two password verifiers in constant time. Anything
// that is not a 32-byte verifier (a missing one, say) never matches.
func VerifierEqual(a, b []byte) bool {
	if len(a) != verifierSize || len(b) != verifierSize {
		return false
	}
	return subtle.ConstantTimeCompare(a, b) == 1
}
