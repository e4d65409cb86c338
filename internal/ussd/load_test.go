package ussd

import (
	"strings"
	"testing"
	"time"

	"github.com/salama-ke/salama/internal/locale"
	"github.com/salama-ke/salama/internal/store"
)

// A check session runs argon2id once, on the code screen: the status, every
// page of the message and the reply read the report through the data key
// kept (wrapped) in the session's state. Before, every screen ran it again.
func TestCheckOpensReceiptOnce(t *testing.T) {
	msg := strings.Repeat("We read your report and we want to help you find a safe place soon. ", 5)
	for _, lang := range locale.Langs {
		t.Run(string(lang), func(t *testing.T) {
			g := newRig(t, lang)
			r := g.reports.add(store.StatusInReview, msg)
			p := g.dial(testPhone)
			p.press("2")
			if s := p.press(r.String()); s.End || !strings.Contains(s.Text, "12/03") {
				t.Fatalf("status:\n%s", s)
			}
			p.press("1")
			p.press("1")
			p.send() // the gateway repeats a request
			p.press("0")
			p.press("2")
			if s := p.press("Asante sana"); !s.End {
				t.Fatalf("after the reply:\n%s", s)
			}
			if g.reports.opens != 1 {
				t.Errorf("the receipt was opened %d times in one session, want once", g.reports.opens)
			}
			if g.reports.resumes < 4 {
				t.Errorf("%d screens read the report from the kept key, want at least 4", g.reports.resumes)
			}
			if got := g.reports.reports[r].replies; len(got) != 1 || got[0] != "Asante sana" {
				t.Errorf("replies %q", got)
			}
			neverHolds(t, "session state", g.sessions.all(), r.Digits(), "fake-")
		})
	}
}

// The kept key is no use to another process (a restart, a second server):
// the next screen takes the slow way once, then keeps a key of its own.
func TestCheckKeptKeyAfterRestart(t *testing.T) {
	g := newRig(t, locale.English)
	r := g.reports.add(store.StatusInReview, "Hello from the helpers.")
	p := g.dial(testPhone)
	p.press("2")
	p.press(r.String())
	g.restart(locale.English)
	if s := p.press("1"); !strings.Contains(s.Text, "Hello from the helpers.") {
		t.Fatalf("message after a restart:\n%s", s)
	}
	p.press("0")
	if s := p.press("1"); !strings.Contains(s.Text, "Hello from the helpers.") {
		t.Fatalf("message again:\n%s", s)
	}
	if g.reports.opens != 2 {
		t.Errorf("opened %d times, want 2 (the code screen, then once after the restart)", g.reports.opens)
	}
}

// When argon2id cannot answer within the deadline, the survivor is told the
// service is busy, in her language, on an END screen, instead of the
// gateway dropping the request; nothing is lost, and the same request sent
// again once the queue has room answers as usual.
func TestCheckBusyWhenQueueFull(t *testing.T) {
	for _, tc := range []struct {
		lang locale.Lang
		want string
	}{{locale.English, "dial again in a minute"}, {locale.Kiswahili, "piga tena baada ya dakika moja"}} {
		t.Run(string(tc.lang), func(t *testing.T) {
			g := newRig(t, tc.lang)
			g.h.Deadline = 20 * time.Millisecond
			r := g.reports.add(store.StatusNew, "")
			p := g.dial(testPhone)
			p.press("2")
			before := g.sessions.all()
			g.reports.slow = true
			s := p.press(r.String())
			if !s.End || !strings.Contains(s.Text, tc.want) {
				t.Fatalf("busy screen:\n%s", s)
			}
			if after := g.sessions.all(); strings.Join(after, "") != strings.Join(before, "") {
				t.Errorf("the state moved on a request that ran out of time:\n%s\n%s", before, after)
			}
			if !strings.Contains(g.logs.String(), "answered busy") {
				t.Error("the busy answer is not logged")
			}
			g.reports.slow = false
			if s := p.send(); s.End || !strings.Contains(s.Text, p.g.h.Catalog.Printer(tc.lang).T("ussd.status.new")) {
				t.Errorf("the request again, with room:\n%s", s)
			}
		})
	}
}
