package sms

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/salama-ke/salama/internal/directory"
	"github.com/salama-ke/salama/internal/jobs"
	"github.com/salama-ke/salama/internal/locale"
	"github.com/salama-ke/salama/internal/seal"
	"github.com/salama-ke/salama/internal/store"
	"github.com/salama-ke/salama/internal/store/storetest"
	"github.com/salama-ke/salama/internal/testkit"
)

var testCatalog = sync.OnceValue(locale.MustLoad)

func TestNormalisePhone(t *testing.T) {
	for in, want := range map[string]string{
		"+254712345678":          "+254712345678",
		"0712 345 678":           "+254712345678",
		"0712-345-678":           "+254712345678",
		"712345678":              "+254712345678",
		"254712345678":           "+254712345678",
		"+254 (0)712 345678":     "+254712345678",
		"0110 123 456":           "+254110123456",
		"00254712345678":         "+254712345678",
		"+256 772 123456":        "+256772123456",
		"+44 7700 900123":        "+447700900123",
		"":                       "",
		"0202 345 678":           "", // a Nairobi landline
		"12345":                  "",
		"+2547123456789":         "", // one digit too many
		"0712 345 67":            "",
		"07123456789":            "",
		"phone: 0712345678":      "",
		"+254 712 345 678 ext 4": "",
		"++254712345678":         "",
		strings.Repeat("7", 50):  "",
	} {
		got, ok := NormalisePhone(in)
		if got != want || ok != (want != "") {
			t.Errorf("NormalisePhone(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

func TestPlain(t *testing.T) {
	for in, want := range map[string]string{
		"Hello, Nairobi!":          "Hello, Nairobi!",
		"Murang’a – “safe”":        `Murang'a - "safe"`,
		"Café [demo] {x} ~ € | \\": "Café (demo) (x) - EUR / /",
		"emoji 😀 here":             "emoji here",
		"Şule Öztürk ❤️":           "Sule Öztürk",
		"Ōkubo 東京":                 "Okubo ??",
		"tab\there\r\nline":        "tab here\nline",
		"bad \xff byte":            "bad ? byte",
		"zero\u200bwidth":          "zerowidth",
		"Ñandú ¿sí?":               "Ñandu ¿si?",
	} {
		got := Plain(in)
		if got != want {
			t.Errorf("Plain(%q) = %q, want %q", in, got, want)
		}
		if !IsPlain(got) {
			t.Errorf("Plain(%q) = %q is not plain", in, got)
		}
	}
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"Nairobi Women's Clinic", 10, "Nairobi..."},
		{"Nairobi Women's Clinic", 22, "Nairobi Women's Clinic"},
		// A word is never cut in two while one ends in the second half.
		{"Example Child Protection Centre, Kisumu", 34, "Example Child Protection..."},
		{"Haki Legal Aid Nairobi - a very long name", 24, "Haki Legal Aid..."},
		{"Haki Legal Aid Nairobi - a very long name", 25, "Haki Legal Aid Nairobi..."},
		// One long word has nowhere else to go.
		{"Supercalifragilisticexpialidocious", 12, "Supercali..."},
		{"ab", 2, "ab"},
	} {
		if got := Truncate(tc.in, tc.n); got != tc.want || utf8.RuneCountInString(got) > tc.n {
			t.Errorf("Truncate(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
	if Segments(strings.Repeat("a", 160)) != 1 || Segments(strings.Repeat("a", 161)) != 2 || Segments(strings.Repeat("a", 307)) != 3 {
		t.Error("Segments")
	}
}

// USSD screens are plain ASCII: accents go, emoji go, look-alikes become
// their plain form.
func TestASCII(t *testing.T) {
	for in, want := range map[string]string{
		"Hello, Nairobi!":               "Hello, Nairobi!",
		"Café Amélie, Ñandú ¿sí?":       "Cafe Amelie, Nandu ?si?",
		"Straße Ærø Łódź":               "Strasse AEro Lodz",
		"Murang’a – “safe”":             `Murang'a - "safe"`,
		"Clinic 😀 Nairobi 👍🏽":           "Clinic Nairobi",
		"family 👨‍👩‍👧 here":             "family here",
		"flag 🇰🇪 ok ✅":                  "flag ok",
		"ﬁne Ｆull ²":                    "fine Full 2",
		"tab\there\r\nline":             "tab here\nline",
		"bad \xff byte":                 "bad ? byte",
		"line one \U0001F600\nline two": "line one\nline two",
		"东京":                            "??",
	} {
		got := ASCII(in)
		if got != want {
			t.Errorf("ASCII(%q) = %q, want %q", in, got, want)
		}
		for _, r := range got {
			if r != '\n' && (r < 0x20 || r >= 0x7f) {
				t.Errorf("ASCII(%q) = %q holds %q", in, got, r)
			}
		}
	}
}

func FuzzASCII(f *testing.F) {
	for _, s := range []string{"Café 😀", "\xff\xfe", "👨‍👩‍👧", "ﬁ", "a\r\nb"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := ASCII(s)
		for _, r := range got {
			if r != '\n' && (r < 0x20 || r >= 0x7f) {
				t.Fatalf("ASCII(%q) = %q holds %q", s, got, r)
			}
		}
		if !IsPlain(got) {
			t.Fatalf("ASCII(%q) = %q is not in the GSM default alphabet", s, got)
		}
		if again := ASCII(got); again != got {
			t.Fatalf("ASCII is not stable: %q then %q", got, again)
		}
		if p := Plain(s); !IsPlain(p) {
			t.Fatalf("Plain(%q) = %q is not plain", s, p)
		}
	})
}

func TestMatchCounties(t *testing.T) {
	cat := testCatalog()
	for in, want := range map[string]string{
		"nairobi": "nairobi", "NAIROBI": "nairobi", "Nai": "nairobi", "murang'a": "murang-a", "muranga": "murang-a",
		"homa bay": "homa-bay", "HomaBay": "homa-bay", "pokot": "west-pokot", "Pokot Magharibi": "west-pokot",
		"taita": "taita-taveta", "kisii": "kisii", "kisu": "kisumu", "nyeri": "nyeri", "trans": "trans-nzoia",
		"elgeyo": "elgeyo-marakwet", "marakwet": "elgeyo-marakwet", "uasin": "uasin-gishu", "tharaka": "tharaka-nithi",
	} {
		if got := MatchCounties(cat, in); len(got) != 1 || got[0] != want {
			t.Errorf("MatchCounties(%q) = %v, want [%s]", in, got, want)
		}
	}
	for in, n := range map[string]int{"kis": 2, "nya": 2, "k": 10, "": 0, "123": 0, "zz": 0, "ma": 6} {
		if got := MatchCounties(cat, in); len(got) != n {
			t.Errorf("MatchCounties(%q) = %v, want %d", in, got, n)
		}
	}
	// Every county's name, typed in full in either language, finds it alone.
	for _, c := range directory.Counties() {
		for _, l := range locale.Langs {
			name := cat.Printer(l).T(c.Key())
			if got := MatchCounties(cat, name); len(got) != 1 || got[0] != c.Slug {
				t.Errorf("%s name %q matches %v", l, name, got)
			}
		}
	}
}

func TestParseKeyword(t *testing.T) {
	cat := testCatalog()
	for _, tc := range []struct {
		text          string
		help          bool
		lang          locale.Lang
		typed, county string
	}{
		{"HELP", true, locale.English, "", ""},
		{"help nakuru", true, locale.English, "nakuru", "nakuru"},
		{"Msaada, Homa Bay!", true, locale.Kiswahili, "Homa Bay", "homa-bay"},
		{"  saidia\nMombasa ", true, locale.Kiswahili, "Mombasa", "mombasa"},
		{"HELP: kis", true, locale.English, "kis", ""},
		{"help atlantis", true, locale.English, "atlantis", ""},
		{"hello", false, locale.English, "", ""},
		{"", false, locale.English, "", ""},
		{"Naomba msaada", false, locale.English, "", ""},
	} {
		k := ParseKeyword(cat, tc.text, locale.English)
		if k.Help != tc.help || k.Lang != tc.lang || k.Typed != tc.typed || k.County != tc.county {
			t.Errorf("ParseKeyword(%q) = %+v", tc.text, k)
		}
	}
}

func demoServices() []directory.Service {
	var out []directory.Service
	for _, o := range directory.DemoNetwork() {
		for _, s := range o.Services {
			s.OrgID = o.Slug
			out = append(out, s)
		}
	}
	return out
}

// gsm7 is the GSM 03.38 default alphabet, written out here again rather
// than taken from gsm.go, so that the test does not trust what it checks.
const gsm7 = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
	"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"

// oneSegment reports whether m travels as one SMS: at most 160 characters,
// every one in the default alphabet (one character outside it makes the
// whole message UCS-2, 70 a segment).
func oneSegment(m string) bool {
	for _, r := range m {
		if !strings.ContainsRune(gsm7, r) {
			return false
		}
	}
	return utf8.RuneCountInString(m) <= 160
}

// Every help reply, for every county in both languages, is one or two SMS of
// one segment each in the GSM 7-bit alphabet, carries the national lines,
// and names the USSD code (a long one too), and the reply to a bare HELP
// says how to ask for a county.
func TestHelpReplyEveryCounty(t *testing.T) {
	cat := testCatalog()
	svcs := demoServices()
	for _, code := range []string{"*384*123#", "*384*123456#"} {
		for _, l := range locale.Langs {
			p := cat.Printer(l)
			check := func(name string, msgs []string, wantCounty bool) {
				t.Helper()
				if len(msgs) == 0 || len(msgs) > 2 || (len(msgs) == 2) != wantCounty {
					t.Errorf("%s %s: %d messages", l, name, len(msgs))
				}
				for _, m := range msgs {
					if !oneSegment(m) || strings.Contains(m, "?") || strings.Contains(m, "sms.") || strings.Contains(m, "{") {
						t.Errorf("%s %s: not one plain segment (%d chars):\n%s", l, name, utf8.RuneCountInString(m), m)
					}
				}
				if !strings.Contains(msgs[0], "999") || !strings.Contains(msgs[0], "1195") || !strings.Contains(msgs[0], "116") {
					t.Errorf("%s %s: national lines missing:\n%s", l, name, msgs[0])
				}
				if !strings.Contains(msgs[0], code) {
					t.Errorf("%s %s: the USSD code %s is not named:\n%s", l, name, code, msgs[0])
				}
			}
			help := HelpReply(p, Keyword{Help: true, Lang: l}, svcs, code)
			check("no county", help, false)
			if hint := p.T("sms.help.county_hint"); !strings.Contains(help[0], hint) {
				t.Errorf("%s: a bare HELP is not told how to ask for a county:\n%s", l, help[0])
			}
			check("usage", HelpReply(p, Keyword{Lang: l}, svcs, code), false)
			check("unknown county", HelpReply(p, Keyword{Help: true, Lang: l, Typed: "atlantis"}, svcs, code), false)
			for _, c := range directory.Counties() {
				check(c.Slug, HelpReply(p, Keyword{Help: true, Lang: l, Typed: c.Slug, County: c.Slug}, svcs, code), true)
			}
		}
	}
	// A county with demo services lists them with numbers.
	msgs := HelpReply(cat.Printer(locale.English), ParseKeyword(cat, "HELP nairobi", locale.English), svcs, "")
	if len(msgs) != 2 || !strings.Contains(msgs[1], "Help in Nairobi") || !strings.Contains(msgs[1], "0") {
		t.Errorf("Nairobi: %q", msgs)
	}
}

func TestResponder(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		rec := &testkit.SMSRecorder{}
		var logs bytes.Buffer
		h := NewResponder(Responder{Store: st, Sender: rec, Catalog: testCatalog(), USSDCode: "*384*123#", Secret: seal.NewNetworkSecretForTest(),
			Services: func(context.Context) ([]directory.Service, error) { return demoServices(), nil },
			Log:      slog.New(slog.NewTextHandler(&logs, nil))})
		// The worker's clock runs a minute ahead: the second SMS of an
		// answer is due a second after the first.
		q := jobs.New(jobs.Config{Store: st, Logger: slog.New(slog.NewTextHandler(&logs, nil)), Now: func() time.Time { return time.Now().Add(time.Minute) }})
		h.Register(q)
		run := func() {
			t.Helper()
			if _, err := q.RunDue(ctx); err != nil {
				t.Fatal(err)
			}
		}
		post := func(form url.Values) int {
			rr := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodPost, "/gw/x/sms", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			h.ServeHTTP(rr, req)
			return rr.Code
		}
		n := 0
		form := func(from, text string) url.Values {
			n++
			return url.Values{"from": {from}, "to": {"22384"}, "text": {text}, "date": {"2026-03-12 10:00:00"}, "id": {fmt.Sprintf("ATXid_%d", n)}, "linkId": {"xyz"}}
		}
		// Answered by a job, not inside the callback.
		f := form("+254711000111", "MSAADA Kisumu")
		if c := post(f); c != 200 {
			t.Fatalf("status %d", c)
		}
		if len(rec.Sent()) != 0 {
			t.Fatal("the reply went out inside the callback")
		}
		run()
		if len(rec.Sent()) != 2 || rec.Sent()[0].To != "+254711000111" || !strings.Contains(rec.Sent()[0].Text, "Bure, saa zote") || !strings.Contains(rec.Sent()[0].Text, "*384*123#") ||
			!strings.Contains(rec.Sent()[1].Text, "Msaada katika Kisumu") {
			t.Errorf("sent %q", rec.Sent())
		}
		// The same message posted again (the provider did not hear our
		// 200): no second reply.
		if c := post(f); c != 200 {
			t.Fatalf("status %d", c)
		}
		run()
		if len(rec.Sent()) != 2 {
			t.Errorf("a message posted twice was answered twice: %d SMS", len(rec.Sent()))
		}
		// No sender, garbage: answered 200, nothing sent.
		rec.Reset()
		for _, f := range []url.Values{form("", "HELP"), form("not a number", "HELP"), form("+254711000111", strings.Repeat("x", 5000))} {
			if c := post(f); c != 200 {
				t.Errorf("status %d", c)
			}
		}
		run()
		if len(rec.Sent()) != 0 {
			t.Errorf("sent %d messages for bad requests", len(rec.Sent()))
		}
		// Three answers to one number, then silence for a while.
		for range 5 {
			post(form("+254722000222", "help"))
		}
		run()
		if len(rec.Sent()) != 3 {
			t.Errorf("%d answers to one number in a burst, want 3", len(rec.Sent()))
		}
		// A provider refusal fails the job for good, without number or text
		// in the log or the job's error.
		rec.Fail(ErrRejected)
		post(form("+254733000333", "HELP nairobi"))
		run()
		failed, err := st.Jobs(ctx, store.JobFailed, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(failed) == 0 || failed[0].Kind != JobReply || len(failed[0].Payload) != 0 {
			t.Errorf("refused reply: %+v", failed)
		}
		for _, secret := range []string{"711000111", "722000222", "733000333", "Kisumu", "nairobi", "MSAADA"} {
			if strings.Contains(logs.String(), secret) {
				t.Errorf("log holds %q:\n%s", secret, logs.String())
			}
			for _, j := range failed {
				if strings.Contains(j.LastError, secret) {
					t.Errorf("job error holds %q", secret)
				}
			}
		}
		if !strings.Contains(logs.String(), "failed for good") {
			t.Errorf("failure not logged:\n%s", logs.String())
		}
		// No job payload left behind holds the numbers in clear.
		all, _ := st.Jobs(ctx, "", 100)
		for _, j := range all {
			for _, secret := range []string{"711000111", "733000333", "Kisumu"} {
				if strings.Contains(string(j.Payload), secret) {
					t.Errorf("job %s payload holds %q", j.Kind, secret)
				}
			}
		}
	})
}

func TestAfricasTalking(t *testing.T) {
	type call struct {
		form   url.Values
		apiKey string
	}
	var calls []call
	answer := `{"SMSMessageData":{"Message":"Sent to 1/1 Total Cost: KES 0.8000","Recipients":[{"statusCode":101,"number":"+254711000111","status":"Success","cost":"KES 0.8000","messageId":"ATXid_1"}]}}`
	status := http.StatusCreated
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/version1/messaging" || r.Header.Get("Accept") != "application/json" {
			http.Error(w, "wrong request", 400)
			return
		}
		r.ParseForm()
		calls = append(calls, call{r.PostForm, r.Header.Get("apiKey")})
		w.WriteHeader(status)
		io.WriteString(w, answer)
	}))
	defer srv.Close()
	at, err := NewAfricasTalking("salama", "secret-key", "SALAMA", srv.URL+"/version1/messaging")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := at.Send(ctx, "+254711000111", "Hello"); err != nil {
		t.Fatal(err)
	}
	want := url.Values{"username": {"salama"}, "to": {"+254711000111"}, "message": {"Hello"}, "from": {"SALAMA"}}
	if len(calls) != 1 || calls[0].apiKey != "secret-key" || calls[0].form.Encode() != want.Encode() {
		t.Errorf("request %+v", calls)
	}

	// Refusals and failures: errors that name neither the number nor the text.
	for _, tc := range []struct {
		status   int
		answer   string
		rejected bool
	}{
		{201, `{"SMSMessageData":{"Message":"Sent to 0/1","Recipients":[{"statusCode":403,"number":"+254711000111","status":"InvalidPhoneNumber"}]}}`, true},
		{201, `{"SMSMessageData":{"Message":"InvalidSenderId","Recipients":[]}}`, true},
		{401, `The supplied authentication is invalid`, true},
		{400, `Invalid phone number +254711000111`, true},
		{500, `oops`, false},
		{503, `Service Unavailable`, false},
		{429, `Too Many Requests`, false},
		{408, `Request Timeout`, false},
		{201, `{"SMSMessageData":{"Message":"Sent to 0/1","Recipients":[{"statusCode":500,"number":"+254711000111","status":"InternalServerError"}]}}`, false},
		{201, `{"SMSMessageData":{"Message":"Sent to 0/1","Recipients":[{"statusCode":405,"number":"+254711000111","status":"InsufficientBalance"}]}}`, false},
		{201, `not json +254711000111`, false},
	} {
		status, answer = tc.status, tc.answer
		err := at.Send(ctx, "+254711000111", "Hello secret words")
		if err == nil || errors.Is(err, ErrRejected) != tc.rejected {
			t.Errorf("HTTP %d %s: %v", tc.status, tc.answer, err)
			continue
		}
		if strings.Contains(err.Error(), "711000111") || strings.Contains(err.Error(), "secret") {
			t.Errorf("error names the number, text or key: %v", err)
		}
	}
	// A server that never answers: the context ends it.
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer slow.Close()
	defer close(release)
	at2, _ := NewAfricasTalking("u", "k", "", slow.URL)
	cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if err := at2.Send(cctx, "+254711000111", "x"); err == nil {
		t.Error("no error from a server that never answered")
	}
	if _, err := NewAfricasTalking("", "k", "", ""); err == nil {
		t.Error("no username accepted")
	}
	if _, err := NewAfricasTalking("u", "k", "", "ftp://x"); err == nil {
		t.Error("ftp endpoint accepted")
	}
	if a, _ := NewAfricasTalking("u", "k", "", ""); a.Endpoint != ATEndpoint {
		t.Errorf("default endpoint %q", a.Endpoint)
	}
}

// The nudge's wording is checked at start; the queue and the sending are
// tested through the console (internal/console/nudge_test.go).
func TestNudgerWording(t *testing.T) {
	secret := seal.NewNetworkSecretForTest()
	st := storetest.Open(t, store.SQLite)
	rec := &testkit.SMSRecorder{}
	n, err := NewNudger(NudgeConfig{Store: st, Sender: rec, USSDCode: "*384*123#", Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	if want := "You have a new message. Dial *384*123# and choose 2. / Una ujumbe mpya. Piga *384*123# uchague 2."; n.Text() != want {
		t.Errorf("nudge %q", n.Text())
	}
	var nilNudger *Nudger
	if err := nilNudger.Queue(context.Background(), nil, "r", "m", "0712345678"); err != nil {
		t.Errorf("nil nudger: %v", err)
	}
	if _, err := NewNudger(NudgeConfig{Sender: rec, Secret: secret, USSDCode: "*1#"}); err == nil {
		t.Error("a nudger without the store")
	}
	for _, tc := range []struct {
		wording, code string
	}{
		{"Dial {ussd}", ""},                         // no code
		{"Ujumbe mpya 😀", "*1#"},                    // not GSM
		{strings.Repeat("x", 161), ""},              // too long
		{"Your code is 4821 7730 1195 6604", "*1#"}, // looks like a receipt
	} {
		if _, err := NewNudger(NudgeConfig{Store: st, Sender: rec, Secret: secret, Wording: tc.wording, USSDCode: tc.code}); err == nil {
			t.Errorf("wording %q accepted", tc.wording)
		}
	}
	custom, err := NewNudger(NudgeConfig{Store: st, Sender: rec, Secret: secret, Wording: "Mama Mboga: your order is ready, dial {ussd}", USSDCode: "*384*9#"})
	if err != nil || custom.Text() != "Mama Mboga: your order is ready, dial *384*9#" {
		t.Errorf("custom wording %q %v", custom.Text(), err)
	}
}

func TestLogSender(t *testing.T) {
	var logs bytes.Buffer
	s := LogSender{Log: slog.New(slog.NewTextHandler(&logs, nil))}
	if err := s.Send(context.Background(), "+254712345678", "Your secret message"); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logs.String(), "712345678") || strings.Contains(logs.String(), "secret") || !strings.Contains(logs.String(), "sms sent") {
		t.Errorf("log: %s", logs.String())
	}
}
