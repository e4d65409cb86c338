package ussd_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/salama-ke/salama/internal/app"
	"github.com/salama-ke/salama/internal/store/storetest"
)

// Through the real callback: a check session runs argon2id once (the code
// screen), never again on the status or message screens; and when the
// argon2id queue is full the caller gets "busy, dial again" before the
// deadline instead of nothing, with nothing lost: the same request answers
// once the queue has room.
func TestUSSDCheckArgonOncePerSessionAndBusy(t *testing.T) {
	t.Parallel()
	storetest.EachDB(t, func(t *testing.T, db storetest.DB) {
		g := newGatewayWith(t, db, func(o *app.Options) {
			o.KDFConcurrency = 1
			// Long enough for one (test-sized) argon2id on a loaded machine
			// under -race; the full queue waits it out twice.
			o.Gateway.USSDDeadline = 2 * time.Second
		})
		receipt := g.newReceipt()
		id := g.env.ReportOfReceipt(receipt)
		p := g.env.Principal("demo-caseworker")
		defer p.Close()
		if err := g.env.App.Casework.SendMessage(g.env.Ctx(), p, id, "We read your report. Neno-8841"); err != nil {
			t.Fatal(err)
		}
		kdf := g.env.App.KDF
		const phone = "+254700000501"
		c := g.dial(phone)
		c.press("2")
		before := kdf.Evaluations()
		if s := c.press(receipt); !strings.Contains(s, "Newest message") {
			t.Fatalf("status:\n%s", s)
		}
		if n := kdf.Evaluations() - before; n != 1 {
			t.Errorf("the code screen ran argon2id %d times, want 1", n)
		}
		before = kdf.Evaluations()
		if s := c.press("1"); !strings.Contains(s, "Neno-8841") {
			t.Fatalf("message:\n%s", s)
		}
		c.press("0")
		c.press("1")
		if n := kdf.Evaluations() - before; n != 0 {
			t.Errorf("the screens after the code ran argon2id %d times, want 0", n)
		}
		if g.contains(receipt) || g.contains(strings.ReplaceAll(receipt, " ", "")) {
			t.Error("the database holds the receipt")
		}

		// The queue is full (another evaluation holds the only slot).
		release, err := kdf.Slot(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct{ lang, want string }{{"en", "dial again in a minute"}, {"sw", "piga tena baada ya dakika moja"}} {
			c := g.dial("+254700000502")
			if tc.lang == "sw" {
				c.press("4")
			}
			c.press("2")
			if s := c.press(receipt); !strings.HasPrefix(s, "END ") || !strings.Contains(s, tc.want) {
				release()
				t.Fatalf("%s: full queue:\n%s", tc.lang, s)
			}
		}
		c = g.dial("+254700000503")
		c.press("2")
		c.press(receipt)
		release()
		if s := c.send(); !strings.HasPrefix(s, "CON ") || !strings.Contains(s, "Newest message") {
			t.Errorf("the same request with room in the queue:\n%s", s)
		}
	})
}
