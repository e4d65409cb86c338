package ussd

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/salama-ke/salama/internal/locale"
	"github.com/salama-ke/salama/internal/store"
)

func FuzzParseRequest(f *testing.F) {
	f.Add("ATUid_1", "", "+254712345678")
	f.Add("ATUid_1", "1*1*3*nakuru*1*4*1", "+254712345678")
	f.Add("", "1", "")
	f.Add("s", "\xff*\x00*"+strings.Repeat("9", 100), "0712")
	f.Fuzz(func(t *testing.T, id, text, phone string) {
		r, err := ParseRequest(url.Values{"sessionId": {id}, "text": {text}, "phoneNumber": {phone}})
		if err != nil {
			return
		}
		if r.SessionID == "" || len(r.Text) > maxText || len(r.Inputs()) > maxInputs {
			t.Fatalf("accepted %+v", r)
		}
		if strings.Join(r.Inputs(), "*") != r.Text {
			t.Fatalf("inputs do not rebuild the text")
		}
	})
}

// FuzzConversation sends any sequence of requests for one session: each is
// the previous text plus an answer, or a text of its own (out of order,
// replayed, made up). Every answer must be one screen within the limits.
func FuzzConversation(f *testing.F) {
	f.Add("1\x001\x003\x00nakuru\x001\x004\x001", false)
	f.Add("2\x000000 0000 0000 0001\x000\x0000", false)
	f.Add("3\x001\x005\x009\x009\x001", false)
	f.Add("1*1\x00\x00zz\x00\xff", true)
	f.Add("4\x001\x002\x00kis\x002\x001\x001\x002", false)
	f.Fuzz(func(t *testing.T, script string, raw bool) {
		g := newRig(t, locale.English)
		code := g.reports.add(store.StatusInReview, "A message from the helper that is long enough to need a second page on a small screen, and then some more words.")
		script = strings.ReplaceAll(script, "CODE", code.Digits())
		steps := strings.Split(script, "\x00")
		if len(steps) > 40 {
			steps = steps[:40]
		}
		var inputs []string
		ctx := context.Background()
		for i, s := range steps {
			text := ""
			if raw && i%2 == 1 {
				text = s // a text of its own
			} else if i > 0 || s != "" {
				inputs = append(inputs, s)
				text = strings.Join(inputs, "*")
			}
			req, err := ParseRequest(url.Values{"sessionId": {"fuzz"}, "text": {text}, "phoneNumber": {testPhone}})
			var r Response
			if err != nil {
				r = g.h.failEnd(locale.English, "ussd.error")
			} else {
				r = g.h.Answer(ctx, req)
			}
			checkScreen(t, r)
		}
	})
}
