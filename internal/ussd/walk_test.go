package ussd

import (
	"fmt"
	"strings"
	"testing"

	"github.com/salama-ke/salama/internal/report"

	"github.com/salama-ke/salama/internal/locale"
	"github.com/salama-ke/salama/internal/store"
)

// TestWalkEveryScreen follows every menu from the first screen, in both
// languages, pressing every key and typing names, codes and messages, and
// checks each screen it meets (length, alphabet, no missing words). Each
// distinct screen is expanded once, from a copy of the session that reached
// it.
func TestWalkEveryScreen(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("We are here for you and we will call at a safe time. ", 12)
	for _, lang := range locale.Langs {
		t.Run(string(lang), func(t *testing.T) {
			t.Parallel()
			g := newRig(t, lang)
			withMsg := g.reports.add(store.StatusInReview, long)
			noMsg := g.reports.add(store.StatusClosed, "")
			referred := g.reports.add(store.StatusReferred, "Short.")
			fresh := g.reports.add(store.StatusNew, "Habari")
			odd := g.reports.add("some_future_status", "")
			keysToTry := []string{"1", "2", "3", "4", "5", "6", "7", "8", "9", "0", "00", "x", "",
				"nai", "k", "kis", "pokot", "zzz", withMsg.Digits(), noMsg.String(), referred.Digits(), fresh.Digits(), odd.Digits(),
				"1234", "Asante sana", strings.Repeat("m", 300)}

			seen := map[string]bool{}
			ends := 0
			phones := 0
			queue := []*phone{g.dial(testPhone)}
			for len(queue) > 0 {
				p := queue[0]
				queue = queue[1:]
				r := p.last()
				// Receipts differ each time: one sent screen stands for all.
				key := receiptRE.ReplaceAllString(r.String(), "RECEIPT")
				if seen[key] {
					continue
				}
				seen[key] = true
				if r.End {
					ends++
					continue
				}
				// Every question but the main menu says how to go back.
				menu, back := false, false
				for _, l := range locale.Langs {
					pr := g.h.Catalog.Printer(l)
					menu = menu || strings.Contains(r.Text, "\n1 "+pr.T("ussd.menu.report"))
					back = back || strings.Contains(r.Text, "\n"+pr.T("ussd.back"))
				}
				if !menu && !back {
					t.Errorf("no back hint after %q:\n%s", p.inputs, r)
				}
				if len(p.inputs) >= 12 {
					continue
				}
				for _, in := range keysToTry {
					// A new number per branch: receipts typed count
					// against the phone's limit.
					phones++
					q := p.fork(fmt.Sprintf("+2547%08d", phones))
					q.press(in)
					queue = append(queue, q)
				}
			}
			if len(seen)-ends < 40 || ends < 5 {
				t.Errorf("walked %d CON and %d END screens; the walk is not reaching the menus", len(seen)-ends, ends)
			}
			t.Logf("%s: %d distinct screens (%d END) in %d requests", lang, len(seen), ends, phones)
		})
	}
}

// TestEveryReceiptScreen sends a report with every combination of answers
// that changes the last screen, and checks the receipt and the most urgent
// help are on it.
func TestEveryReceiptScreen(t *testing.T) {
	t.Parallel()
	for _, lang := range locale.Langs {
		t.Run(string(lang), func(t *testing.T) {
			t.Parallel()
			g := newRig(t, lang)
			reported := 0
			// branch answers every screen of a report with each of choices,
			// from a copy of the session so far.
			var branch func(p *phone, level int, answers []int)
			levels := []int{len(whomChoices), len(whatChoices), 5, len(dangerChoices), len(helpChoices), 3}
			counties := []string{"1", "2", "turkana", "6", "7"}
			branch = func(p *phone, level int, answers []int) {
				if level == len(levels) {
					reported++
					g.checkReceiptScreen(p.last(), answers)
					return
				}
				for i := range levels[level] {
					in := fmt.Sprint(i + 1)
					num := testPhone
					switch level {
					case 2:
						in = counties[i]
					case 5: // code only; SMS to this phone; SMS without a number
						in = fmt.Sprint(min(i, 1) + 1)
						if i == 2 {
							num = ""
						}
					}
					q := p.fork(num)
					q.press(in)
					branch(q, level+1, append(answers, i))
				}
			}
			start := g.dial(testPhone)
			start.press("1")
			branch(start, 0, nil)
			if len(g.reports.inputs) != reported {
				t.Errorf("%d reports for %d conversations", len(g.reports.inputs), reported)
			}
		})
	}
}

func (g *rig) checkReceiptScreen(r Response, answers []int) {
	t := g.t
	if !r.End || !receiptRE.MatchString(r.Text) {
		t.Fatalf("no receipt:\n%s", r)
	}
	lines := strings.Split(r.Text, "\n")
	about, what, danger := whomChoices[answers[0]], whatChoices[answers[1]], dangerChoices[answers[3]]
	switch {
	case danger == "yes":
		if !strings.Contains(lines[2], "999") {
			t.Errorf("danger: third line is not the emergency line:\n%s", r)
		}
	case what == report.CategorySexualViolence:
		if !strings.Contains(lines[2], "PEP") {
			t.Errorf("sexual violence: third line is not the 72-hour line:\n%s", r)
		}
	case about == report.AboutChild:
		if !strings.Contains(lines[2], "116") {
			t.Errorf("child: third line is not 116:\n%s", r)
		}
	default:
		if !strings.Contains(r.Text, "999") {
			t.Errorf("no emergency numbers:\n%s", r)
		}
	}
}
