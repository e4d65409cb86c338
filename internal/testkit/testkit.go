// Package testkit holds the small pieces every package's tests share: a
// settable clock, a log sink that concurrent handlers may write to and an
// SMS sender that keeps what it was asked to send. The running application
// with the demo network, logins and reports is internal/app/apptest, built
// on these.
//
// It is imported only by tests and test harnesses, never by code that ships.
package testkit

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"time"

	"github.com/salama-ke/salama/internal/totp"
)

// Clock is a settable time source, safe for concurrent use: pass its Now
// where the code under test takes a func() time.Time.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock that reads t until moved.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Add moves the clock on by d.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Ticking returns a time source that moves the clock on by d before each
// reading, for code that must see every event at a different time.
func (c *Clock) Ticking(d time.Duration) func() time.Time {
	return func() time.Time {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.t = c.t.Add(d)
		return c.t
	}
}

// Set puts the clock at t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// NextStep moves the clock to one second into the next TOTP time step, so
// that a fresh code is not a replay of the last login's.
func (c *Clock) NextStep() {
	c.mu.Lock()
	step := totp.Step(c.t)
	c.t = time.Unix((step+1)*int64(totp.Period/time.Second)+1, 0)
	c.mu.Unlock()
}

// LogBuffer collects log lines (or a child process's output) written from
// several goroutines at once.
type LogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns everything written so far.
func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// SMS is one text message an SMSRecorder was asked to send.
type SMS struct{ To, Text string }

// SMSRecorder is an SMS sender (sms.Sender) that keeps, in order, what it
// was asked to send. It is safe for concurrent use.
type SMSRecorder struct {
	mu   sync.Mutex
	sent []SMS
	fail error
}

// Send records the message, or returns the error Fail set and records
// nothing, as a provider that refuses it would.
func (r *SMSRecorder) Send(_ context.Context, to, text string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	r.sent = append(r.sent, SMS{To: to, Text: text})
	return nil
}

// Fail makes every later Send return err (nil: send again).
func (r *SMSRecorder) Fail(err error) {
	r.mu.Lock()
	r.fail = err
	r.mu.Unlock()
}

// Reset forgets what was sent so far.
func (r *SMSRecorder) Reset() {
	r.mu.Lock()
	r.sent = nil
	r.mu.Unlock()
}

// Sent returns every message sent so far, oldest first.
func (r *SMSRecorder) Sent() []SMS {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]SMS(nil), r.sent...)
}

// To returns the texts sent so far to number, oldest first.
func (r *SMSRecorder) To(number string) []string {
	var out []string
	for _, m := range r.Sent() {
		if m.To == number {
			out = append(out, m.Text)
		}
	}
	return out
}

// WithoutAlerts returns the messages sent so far, oldest first, leaving out
// those that begin "Salama: " as staff alerts do (the demo network sends
// them to its example alert number) and as the STOP and START
// confirmations do.
func (r *SMSRecorder) WithoutAlerts() []SMS {
	var out []SMS
	for _, m := range r.Sent() {
		if !strings.HasPrefix(m.Text, "Salama: ") {
			out = append(out, m)
		}
	}
	return out
}
