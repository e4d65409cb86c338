package ussd_test

import (
	"strings"
	"testing"

	"github.com/salama-ke/salama/internal/store/storetest"
)

// Through the real callback: service names on the help-numbers screen are
// cut at the end of a word, never inside one; and a caseworker's message
// with accents and emoji reads in plain ASCII on the phone (é → e, emoji
// gone), never as '?'.
func TestUSSDWordsWholeAndPlain(t *testing.T) {
	t.Parallel()
	storetest.EachDB(t, func(t *testing.T, db storetest.DB) {
		g := newGateway(t, db)
		ctx := g.env.Ctx()
		svcs, _, err := g.env.App.Reporting.Directory(ctx)
		if err != nil {
			t.Fatal(err)
		}
		cut := 0
		for _, county := range []string{"Kisumu", "Nairobi", "Mombasa", "Nakuru"} {
			c := g.dial("+254700000701")
			c.press("3")
			c.press("1")
			screen := c.press(county)
			for _, line := range strings.Split(screen, "\n") {
				name, _, ok := strings.Cut(line, "...")
				if !ok {
					continue
				}
				cut++
				whole := false
				for _, s := range svcs {
					if rest, ok := strings.CutPrefix(s.Name, name); ok && rest != "" && strings.ContainsRune(" ,-(/", rune(rest[0])) {
						whole = true
					}
				}
				if !whole {
					t.Errorf("%s: %q is not a service's name cut after a word:\n%s", county, name, screen)
				}
			}
		}
		if cut == 0 {
			t.Log("no name needed cutting on these screens")
		}

		receipt := g.newReceipt()
		p := g.env.Principal("demo-caseworker")
		defer p.Close()
		if err := g.env.App.Casework.SendMessage(ctx, p, g.env.ReportOfReceipt(receipt), "Habari Amélie 😊 tutakupigia simu kesho. Ça va? Straße 👍🏽"); err != nil {
			t.Fatal(err)
		}
		c := g.dial("+254700000702")
		c.press("2")
		c.press(receipt)
		screen := c.press("1")
		if !strings.Contains(screen, "Habari Amelie tutakupigia simu kesho. Ca va? Strasse") || strings.Contains(screen, "??") {
			t.Errorf("message screen:\n%s", screen)
		}
		for _, r := range screen {
			if r >= 0x7f {
				t.Errorf("message screen holds %q:\n%s", r, screen)
				break
			}
		}
	})
}
