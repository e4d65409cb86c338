package ussd

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/salama-ke/salama/internal/locale"
	"github.com/salama-ke/salama/internal/store"
)

// A receipt typed with '*' between its groups arrives as four inputs; it
// opens the report, and every later screen (which reads the receipt from
// the request again) finds it whole.
func TestCodeTypedWithStars(t *testing.T) {
	for _, lang := range locale.Langs {
		t.Run(string(lang), func(t *testing.T) {
			g := newRig(t, lang)
			r := g.reports.add(store.StatusInReview, "Hello from the helpers.")
			p := g.dial(testPhone)
			p.press("2")
			d := r.Digits()
			if s := p.press(d[:4] + "*" + d[4:8] + "*" + d[8:12] + "*" + d[12:]); s.End || !strings.Contains(s.Text, "12/03") {
				t.Fatalf("status:\n%s", s)
			}
			if s := p.press("1"); !strings.Contains(s.Text, "Hello from the helpers.") {
				t.Fatalf("message:\n%s", s)
			}
			// And the slow way, after a restart of the server.
			g.restart(lang)
			p.press("0")
			if s := p.press("1"); !strings.Contains(s.Text, "Hello from the helpers.") {
				t.Fatalf("message after a restart:\n%s", s)
			}
		})
	}
}

// FuzzAnswersWithStar types any answers, each of which may contain '*',
// as the gateway sends them (joined with '*'): whatever they are, the
// session acts on each answer once and whole, never restarting at the
// menu, and every screen is within the limits.
func FuzzAnswersWithStar(f *testing.F) {
	f.Add("1\x001\x003\x00Homa*Bay\x002\x004\x001")
	f.Add("2\x00CODE4*CODE8\x001\x002\x00call*me*at*10")
	f.Add("1\x00*\x00**\x001*2\x00")
	f.Add("3\x001\x00Taita*Taveta")
	f.Fuzz(func(t *testing.T, script string) {
		g := newRig(t, locale.English)
		code := g.reports.add(store.StatusInReview, "A message from the helper.")
		d := code.Digits()
		script = strings.NewReplacer("CODE4", d[:4], "CODE8", d[4:]).Replace(script)
		answers := strings.Split(script, "\x00")
		if len(answers) > 30 {
			answers = answers[:30]
		}
		var text string
		ctx := context.Background()
		for i, a := range answers {
			if i > 0 {
				text += "*"
			}
			text += a
			req, err := ParseRequest(url.Values{"sessionId": {"fuzz-star"}, "text": {text}, "phoneNumber": {testPhone}})
			if err != nil {
				return // too long: refused whole, nothing to follow
			}
			r := g.h.Answer(ctx, req)
			checkScreen(t, r)
			if r.End {
				return
			}
			rows := g.sessions.all()
			if len(rows) != 1 {
				t.Fatalf("%d session rows", len(rows))
			}
			st, err := decodeState(rows[0])
			if err != nil {
				t.Fatal(err)
			}
			if st.Problem == "ussd.problem.restart" {
				t.Fatalf("answer %d (%q) restarted the session", i, a)
			}
			if want := len(req.Inputs()); st.Seen != want {
				t.Fatalf("after answer %d the state has seen %d inputs, want %d", i, st.Seen, want)
			}
		}
	})
}
