package sms

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/salama-ke/salama/internal/jobs"
	"github.com/salama-ke/salama/internal/locale"
	"github.com/salama-ke/salama/internal/seal"
	"github.com/salama-ke/salama/internal/store"
	"github.com/salama-ke/salama/internal/store/storetest"
	"github.com/salama-ke/salama/internal/testkit"
)

func TestParseStopWords(t *testing.T) {
	cat := testCatalog()
	for text, want := range map[string]Keyword{
		"STOP":              {Stop: true, Lang: locale.English},
		" stop. ":           {Stop: true, Lang: locale.English},
		"Acha":              {Stop: true, Lang: locale.Kiswahili},
		"ACHA!":             {Stop: true, Lang: locale.Kiswahili},
		"start":             {Start: true, Lang: locale.English},
		"Anza":              {Start: true, Lang: locale.Kiswahili},
		"stop harassing":    {Lang: locale.English},
		"acha nikuambie":    {Lang: locale.English},
		"please stop":       {Lang: locale.English},
		"HELP":              {Help: true, Lang: locale.English},
		"stopstop":          {Lang: locale.English},
		"S T O P":           {Lang: locale.English},
		"":                  {Lang: locale.English},
		"stop\u00a0":        {Stop: true, Lang: locale.English},
		"msaada mombasa":    {Help: true, Lang: locale.Kiswahili, Typed: "mombasa", County: "mombasa"},
		"anza ripoti yangu": {Lang: locale.English},
	} {
		if got := ParseKeyword(cat, text, locale.English); got != want {
			t.Errorf("ParseKeyword(%q) = %+v, want %+v", text, got, want)
		}
	}
}

// The confirmations are one segment each, in both languages, and say how
// to undo.
func TestStopReplyFits(t *testing.T) {
	cat := testCatalog()
	for _, l := range locale.Langs {
		for _, stop := range []bool{true, false} {
			m := StopReply(cat, l, stop)
			undo := []string{"STOP", "ACHA"}
			if stop {
				undo = []string{"START", "ANZA"}
			}
			if !oneSegment(m) || strings.Contains(m, "sms.") || !strings.Contains(m, undo[0]) || !strings.Contains(m, undo[1]) {
				t.Errorf("%s stop=%v (%d chars):\n%s", l, stop, len(m), m)
			}
			if first := cat.Printer(l).T(map[bool]string{true: "sms.stop.done", false: "sms.start.done"}[stop]); !strings.HasPrefix(m, first) {
				t.Errorf("%s stop=%v: not in the keyword's language first:\n%s", l, stop, m)
			}
		}
	}
}

// STOP is honoured and confirmed once; another STOP changes nothing and
// gets no SMS; START undoes it, confirmed once. Only the blind index of the
// number is kept.
func TestStopAndStart(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		rec := &testkit.SMSRecorder{}
		secret := seal.NewNetworkSecretForTest()
		h := NewResponder(Responder{Store: st, Sender: rec, Catalog: testCatalog(), USSDCode: "*384*123#", Secret: secret,
			Log: slog.New(slog.DiscardHandler)})
		q := jobs.New(jobs.Config{Store: st, Logger: slog.New(slog.DiscardHandler), Now: func() time.Time { return time.Now().Add(time.Minute) }})
		h.Register(q)
		n := 0
		send := func(from, text string) []string {
			t.Helper()
			n++
			form := url.Values{"from": {from}, "to": {"22384"}, "text": {text}, "id": {fmt.Sprintf("ATXid_stop_%d", n)}}
			rr := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodPost, "/gw/x/sms", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			before := len(rec.Sent())
			h.ServeHTTP(rr, req)
			if rr.Code != 200 {
				t.Fatalf("%q: HTTP %d", text, rr.Code)
			}
			if _, err := q.RunDue(ctx); err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, s := range rec.Sent()[before:] {
				out = append(out, s.Text)
			}
			return out
		}
		const phone = "+254722000333"
		stopped := func() bool {
			ok, err := st.SMSStopped(ctx, StopKey(secret, phone))
			if err != nil {
				t.Fatal(err)
			}
			return ok
		}
		if got := send("0722 000 333", "Acha"); len(got) != 1 || !strings.HasPrefix(got[0], "Salama: hatutatuma SMS") || !stopped() {
			t.Fatalf("ACHA: %q, stopped %v", got, stopped())
		}
		if got := send(phone, "STOP"); len(got) != 0 || !stopped() {
			t.Errorf("STOP again: %q", got)
		}
		if got := send(phone, "start"); len(got) != 1 || !strings.HasPrefix(got[0], "Salama: SMS to this number are on again") || stopped() {
			t.Errorf("START: %q, stopped %v", got, stopped())
		}
		if got := send(phone, "ANZA"); len(got) != 0 || stopped() {
			t.Errorf("START again: %q", got)
		}
		// Another number is not touched.
		if ok, _ := st.SMSStopped(ctx, StopKey(secret, "+254722000334")); ok {
			t.Error("another number is stopped")
		}
	})
}
