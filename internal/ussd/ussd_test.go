package ussd

import (
	"context"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/salama-ke/salama/internal/locale"
	"github.com/salama-ke/salama/internal/sms"
	"github.com/salama-ke/salama/internal/store"
)

var leftover = regexp.MustCompile(`ussd\.[a-z_.]+|\{\d\}`)

// checkScreen holds for every screen the handler ever sends.
func checkScreen(t testing.TB, r Response) {
	t.Helper()
	s := r.String()
	if n := utf8.RuneCountInString(s); n > 160 {
		t.Errorf("screen of %d characters (max 160):\n%s", n, s)
	}
	if r.Clipped {
		t.Errorf("screen had to be cut:\n%s", s)
	}
	if !sms.IsPlain(s) {
		t.Errorf("screen not in the GSM 7-bit alphabet:\n%s", s)
	}
	for _, r := range s {
		if r >= 0x7f || (r < 0x20 && r != '\n') {
			t.Errorf("screen holds %q, not plain ASCII:\n%s", r, s)
			break
		}
	}
	if m := leftover.FindString(s); m != "" {
		t.Errorf("screen shows %q (missing message or placeholder):\n%s", m, s)
	}
	if strings.TrimSpace(r.Text) == "" {
		t.Error("empty screen")
	}
}

const testPhone = "+254712345678"

var receiptRE = regexp.MustCompile(`\d{4} \d{4} \d{4} \d{4}`)

// The whole report of SPEC §4.2: seven screens after the menu, the receipt
// on the last, an END screen (it stays on the phone until dismissed).
func TestReportInSevenScreens(t *testing.T) {
	for _, tc := range []struct {
		lang               locale.Lang
		menu, whom, sent   string
		footer, dangerLine string
	}{
		{locale.English, "1 Report", "Who is this about?", "Your code", "999", "Danger now"},
		{locale.Kiswahili, "1 Ripoti", "Hii inamhusu nani?", "Namba ya ripoti", "999", "Hatari sasa"},
	} {
		t.Run(string(tc.lang), func(t *testing.T) {
			g := newRig(t, tc.lang)
			p := g.dial(testPhone)
			if !strings.Contains(p.last().Text, tc.menu) || p.last().End {
				t.Fatalf("menu:\n%s", p.last())
			}
			// Report → me → advertised → Nairobi → danger yes → shelter → code only.
			for _, in := range []string{"1", "1", "3", "1", "1", "4"} {
				if r := p.press(in); r.End {
					t.Fatalf("ended early after %q:\n%s", in, r)
				}
			}
			if !strings.Contains(p.screens[1].Text, tc.whom) {
				t.Errorf("second screen is not whom:\n%s", p.screens[1])
			}
			end := p.press("1")
			if !end.End || !strings.Contains(end.Text, tc.sent) || !receiptRE.MatchString(end.Text) {
				t.Fatalf("last screen:\n%s", end)
			}
			if !strings.Contains(end.Text, tc.dangerLine) || !strings.Contains(end.Text, tc.footer) {
				t.Errorf("help now missing on the receipt screen:\n%s", end)
			}
			if got := len(p.screens) - 1; got > 7 {
				t.Errorf("a report took %d screens after the menu, want at most 7", got)
			}
			if len(g.reports.inputs) != 1 {
				t.Fatalf("%d reports stored", len(g.reports.inputs))
			}
			in := g.reports.inputs[0]
			if in.About != "me" || !slices.Equal(in.What, []string{"advertised"}) || in.County != "nairobi" || in.Danger != "yes" ||
				!slices.Equal(in.Help, []string{"shelter"}) || in.ContactPref != "code" || in.Phone != "" || in.Kind != "report" {
				t.Errorf("stored input %+v", in)
			}
			// The gateway sends the last request again: same receipt, no
			// second report.
			again := p.send()
			if again.String() != end.String() || len(g.reports.inputs) != 1 {
				t.Errorf("repeated last request: %d reports, screen\n%s", len(g.reports.inputs), again)
			}
		})
	}
}

// A survivor in danger after sexual violence reads both urgent lines on the
// receipt screen, in either language: 999/112 and the 72-hour PEP line.
// (In Kiswahili the PEP line used to be left out for want of room.)
func TestReceiptScreenKeepsDangerAndPEP(t *testing.T) {
	for _, tc := range []struct {
		lang                 locale.Lang
		receipt, danger, pep string
	}{
		{locale.English, "Your code", "Danger now", "72h for PEP"},
		{locale.Kiswahili, "Namba ya ripoti", "Hatari sasa", "saa 72 kwa PEP"},
	} {
		t.Run(string(tc.lang), func(t *testing.T) {
			g := newRig(t, tc.lang)
			p := g.dial(testPhone)
			// Report → me → sexual violence → Nairobi → danger yes → medical.
			for _, in := range []string{"1", "1", "5", "1", "1", "1"} {
				if r := p.press(in); r.End {
					t.Fatalf("ended early after %q:\n%s", in, r)
				}
			}
			end := p.press("1")
			for _, want := range []string{tc.receipt, tc.danger, tc.pep, "1195"} {
				if !end.End || !strings.Contains(end.Text, want) {
					t.Errorf("receipt screen lacks %q:\n%s", want, end)
				}
			}
		})
	}
}

func TestContactConsent(t *testing.T) {
	for _, tc := range []struct {
		name, phone, choice string
		wantPref, wantPhone string
		wantNote            bool
	}{
		{"code only", testPhone, "1", "code", "", false},
		{"sms on this phone", testPhone, "2", "phone", testPhone, false},
		{"sms, number as 07…", "0712 345 678", "2", "phone", testPhone, false},
		{"sms, no number from the gateway", "", "2", "code", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newRig(t, locale.English)
			p := g.dial(tc.phone)
			for _, in := range []string{"1", "1", "2", "2", "2", "2"} {
				p.press(in)
			}
			end := p.press(tc.choice)
			in := g.reports.inputs[0]
			if in.ContactPref != tc.wantPref || in.Phone != tc.wantPhone {
				t.Errorf("contact %q %q, want %q %q", in.ContactPref, in.Phone, tc.wantPref, tc.wantPhone)
			}
			if got := strings.Contains(end.Text, "could not read your number"); got != tc.wantNote {
				t.Errorf("no-number note shown %v:\n%s", got, end)
			}
			neverHolds(t, "session state", g.sessions.all(), "712", "345")
		})
	}
}

func TestCountyByNameAndList(t *testing.T) {
	g := newRig(t, locale.English)
	toCounty := func() *phone {
		p := g.dial(testPhone)
		p.press("1")
		p.press("1")
		p.press("1")
		if !strings.Contains(p.last().Text, "Which county") {
			t.Fatalf("not the county screen:\n%s", p.last())
		}
		return p
	}
	for _, tc := range []struct {
		typed []string
		want  string // county stored; "" when still asking
		shows string // on the screen after the last input
	}{
		{[]string{"nakuru"}, "nakuru", "danger"},
		{[]string{"NAK"}, "nakuru", "danger"},
		{[]string{"Murang'a"}, "murang-a", "danger"},
		{[]string{"pokot"}, "west-pokot", "danger"},
		{[]string{"homa bay"}, "homa-bay", "danger"},
		// The gateway joins answers with '*': a '*' typed inside a name
		// must not split it (it used to restart at the main menu).
		{[]string{"Homa*Bay"}, "homa-bay", "danger"},
		{[]string{"*Homa**Bay*"}, "homa-bay", "danger"},
		{[]string{"5", "homa*bay"}, "homa-bay", "danger"},
		{[]string{"kis", "Homa*Bay"}, "homa-bay", "danger"},
		{[]string{"Taita*Taveta"}, "taita-taveta", "danger"},
		{[]string{"kis"}, "", "Which one?"},
		{[]string{"kis", "2"}, "kisumu", "danger"}, // Kisii, Kisumu: alphabetical
		{[]string{"nya", "nyeri"}, "nyeri", "danger"},
		{[]string{"k"}, "", "more letters"},
		{[]string{"zzzz"}, "", "did not find"},
		{[]string{"6"}, "outside", "danger"},
		{[]string{"7"}, "notsay", "danger"},
		{[]string{"8"}, "", "choose a number"},
		{[]string{"5"}, "", "County (1/6)"},
		{[]string{"5", "1"}, "baringo", "danger"},
		{[]string{"5", "9", "9", "9", "9", "9"}, "", "County (6/6)"},
		{[]string{"5", "9", "9", "9", "9", "9", "9"}, "", "choose a number"},
		{[]string{"5", "9", "0"}, "", "County (1/6)"},
		{[]string{"5", "0"}, "", "Which county"},
		{[]string{"5", "9", "9", "9", "9", "9", "6"}, "wajir", "danger"},
		{[]string{"5", "kisii"}, "kisii", "danger"},
	} {
		t.Run(strings.Join(tc.typed, ","), func(t *testing.T) {
			p := toCounty()
			for _, in := range tc.typed {
				p.press(in)
			}
			if !strings.Contains(p.last().Text, tc.shows) {
				t.Errorf("after %v:\n%s\nwant %q", tc.typed, p.last(), tc.shows)
			}
			if tc.want == "" {
				return
			}
			p.press("2")
			p.press("1")
			p.press("1")
			n := len(g.reports.inputs)
			if n == 0 || g.reports.inputs[n-1].County != tc.want {
				t.Errorf("stored county %q, want %q", g.reports.inputs[n-1].County, tc.want)
			}
		})
	}
}

func TestCheckReadReply(t *testing.T) {
	msg := "Hello, this is Wanjiru from the helpers. We read your report and we want to help you find a safe place. " +
		"Can you tell us a safe time to call? You can also come to our office in town any weekday. We will not tell anyone. " +
		"Reply here with a time, or dial again and choose 2 whenever you are ready. Take care of yourself."
	for _, lang := range locale.Langs {
		t.Run(string(lang), func(t *testing.T) {
			g := newRig(t, lang)
			withMsg := g.reports.add(store.StatusInReview, msg)
			p := g.dial(testPhone)
			p.press("2")
			if !strings.Contains(p.last().Text, "16") {
				t.Fatalf("code screen:\n%s", p.last())
			}
			status := p.press(withMsg.String())
			if status.End || !strings.Contains(status.Text, "12/03 14:05") {
				t.Fatalf("status:\n%s", status)
			}
			// Page through the message: every word arrives, in order.
			var got []string
			r := p.press("1")
			for i := 0; ; i++ {
				if i > 20 {
					t.Fatal("message never ends")
				}
				_, body, _ := strings.Cut(r.Text, "\n")
				got = append(got, strings.Split(body, "\n")[0])
				if !strings.Contains(r.Text, "\n1 ") {
					break
				}
				r = p.press("1")
			}
			if joined := strings.Join(got, " "); joined != msg {
				t.Errorf("pages joined:\n%q\nwant\n%q", joined, msg)
			}
			if len(got) < 3 {
				t.Errorf("message in %d pages; a screen cannot hold it", len(got))
			}
			// "1" on the last page asks again; "0" goes back a page.
			if r := p.press("1"); !strings.Contains(r.Text, strings.Split(got[len(got)-1], " ")[0]) {
				t.Errorf("1 on the last page:\n%s", r)
			}
			if r := p.press("0"); !strings.Contains(r.Text, got[len(got)-2]) {
				t.Errorf("back a page:\n%s", r)
			}
			p.press("2")
			reply := "Asante. Tomorrow at 10 is safe, call 0722*111 before."
			for _, part := range strings.Split(reply, "*") {
				p.inputs = append(p.inputs, part)
			}
			end := p.send()
			if !end.End {
				t.Fatalf("after reply:\n%s", end)
			}
			fr := g.reports.reports[withMsg]
			if len(fr.replies) != 1 || fr.replies[0] != reply {
				t.Errorf("replies %q, want %q (a '*' typed in a reply must not split it)", fr.replies, reply)
			}
			if again := p.send(); again.String() != end.String() || len(fr.replies) != 1 {
				t.Errorf("repeated reply request stored %d replies", len(fr.replies))
			}
			neverHolds(t, "session state or log", append(g.sessions.all(), g.logs.String()),
				withMsg.Digits(), withMsg.Digits()[:8], withMsg.String()[:9], "Tomorrow", "712345678", "Wanjiru")
		})
	}
}

func TestCheckWithoutMessageAndWrongCodes(t *testing.T) {
	g := newRig(t, locale.English)
	fresh := g.reports.add(store.StatusNew, "")
	p := g.dial(testPhone)
	p.press("2")
	if r := p.press("1234"); !strings.Contains(r.Text, "16 digits") || r.End {
		t.Errorf("short code:\n%s", r)
	}
	if r := p.press("0000 0000 0000 0001"); !strings.Contains(r.Text, "No report has that code") || r.End {
		t.Errorf("unknown code:\n%s", r)
	}
	r := p.press(fresh.Digits())
	if !strings.Contains(r.Text, "No message from a helper yet") || strings.Contains(r.Text, "1 Read") {
		t.Errorf("status without message:\n%s", r)
	}
	if r := p.press("1"); !strings.Contains(r.Text, "choose a number") {
		t.Errorf("1 without a message:\n%s", r)
	}
	if r := p.press("2"); !strings.Contains(r.Text, "Type your message") {
		t.Fatalf("reply screen:\n%s", r)
	}
	if r := p.press("   "); !strings.Contains(r.Text, "type a message first") {
		t.Errorf("empty reply:\n%s", r)
	}
	if r := p.press(strings.Repeat("a", 4001)); !strings.Contains(r.Text, "too long") {
		t.Errorf("over-long reply:\n%s", r)
	}
	if r := p.press("0"); !strings.Contains(r.Text, "received") {
		t.Errorf("back from reply:\n%s", r)
	}

	// Guessing: five wrong codes, then the phone is blocked for a while.
	g2 := newRig(t, locale.English)
	known := g2.reports.add(store.StatusNew, "")
	p = g2.dial("+254700000001")
	p.press("2")
	for i := range 5 {
		if r := p.press("1111 2222 3333 444" + string(rune('0'+i))); r.End {
			t.Fatalf("guess %d ended the session:\n%s", i, r)
		}
	}
	if r := p.press(known.Digits()); !r.End || !strings.Contains(r.Text, "Too many tries") {
		t.Errorf("sixth code:\n%s", r)
	}
	// Another phone is not blocked.
	q := g2.dial("+254700000002")
	q.press("2")
	if r := q.press(known.Digits()); r.End || !strings.Contains(r.Text, "received") {
		t.Errorf("another phone:\n%s", r)
	}
}

func TestBadInput(t *testing.T) {
	g := newRig(t, locale.English)
	ctx := context.Background()

	// Unknown choices re-ask the same screen.
	p := g.dial(testPhone)
	for _, in := range []string{"9", "x", "", "1 2", "١", "\xff\xfe", strings.Repeat("9", 500)} {
		r := p.press(in)
		if r.End || !strings.Contains(r.Text, "1 Report") {
			t.Errorf("menu after %q:\n%s", in, r)
		}
	}
	p.press("1")
	if r := p.press("7"); !strings.Contains(r.Text, "Who is this about") || !strings.Contains(r.Text, "choose a number") {
		t.Errorf("whom after 7:\n%s", r)
	}

	// Missing session id, over-long and non-UTF-8 requests.
	for name, form := range map[string]url.Values{
		"no session":  {"text": {""}, "phoneNumber": {testPhone}},
		"too long":    {"sessionId": {"s1"}, "text": {strings.Repeat("1*", 5000)}},
		"long id":     {"sessionId": {strings.Repeat("s", 300)}, "text": {""}},
		"many inputs": {"sessionId": {"s2"}, "text": {strings.Repeat("*", 450)}},
	} {
		if _, err := ParseRequest(form); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
	if r := g.h.Answer(ctx, Request{Text: "1"}); !r.End {
		t.Errorf("no session id: %s", r)
	}
	req, err := ParseRequest(url.Values{"sessionId": {"s3"}, "text": {"\xff\xfe"}})
	if err != nil || !utf8.ValidString(req.Text) {
		t.Errorf("non-UTF-8 text: %q %v", req.Text, err)
	}

	// A session we never saw, with answers: a deep code (*384*123*1*1#),
	// walked from the menu.
	if r := g.h.Answer(ctx, Request{SessionID: "unknown", Phone: testPhone, Text: "1*1"}); r.End || !strings.Contains(r.Text, "What happened") {
		t.Errorf("unknown session:\n%s", r)
	}

	// A code dialled with a choice (*384*123*2#) arrives with one input
	// and no session: the menu's choice is taken.
	if r := g.h.Answer(ctx, Request{SessionID: "shortcut", Phone: testPhone, Text: "2"}); r.End || !strings.Contains(r.Text, "16-digit") {
		t.Errorf("dialled with a choice:\n%s", r)
	}
	if r := g.h.Answer(ctx, Request{SessionID: "shortcut", Phone: testPhone, Text: "2*0"}); !strings.Contains(r.Text, "1 Report") {
		t.Errorf("after a shortcut:\n%s", r)
	}

	// Replayed and out-of-order requests.
	p = g.dial(testPhone)
	p.press("1")
	p.press("2")
	if r := p.send(); !strings.Contains(r.Text, "What happened") {
		t.Errorf("repeated request:\n%s", r)
	}
	// Two inputs more at once are one answer with a '*' in it (the
	// gateway joins answers with '*'): not a choice, so asked again, with
	// every earlier answer kept.
	p.inputs = append(p.inputs, "1", "1")
	if r := p.send(); !strings.Contains(r.Text, "What happened") || strings.Contains(r.Text, "start again") {
		t.Errorf("an answer with '*':\n%s", r)
	}
	if r := p.press("3"); !strings.Contains(r.Text, "Which county") {
		t.Errorf("after an answer with '*':\n%s", r)
	}
	p.inputs = p.inputs[:1] // an old request arrives late
	if r := p.send(); !strings.Contains(r.Text, "start again") {
		t.Errorf("old request:\n%s", r)
	}
	// And the session goes on from where it restarted.
	if r := p.press("3"); !strings.Contains(r.Text, "999 or 112") {
		t.Errorf("after a restart:\n%s", r)
	}

	// Expiry: after three idle minutes the state is gone; the answers in
	// the request are walked again from the menu, and nothing is lost.
	p = g.dial(testPhone)
	p.press("1")
	g.clock.Add(DefaultTTL + time.Second)
	if r := p.press("1"); r.End || !strings.Contains(r.Text, "What happened") {
		t.Errorf("expired:\n%s", r)
	}

	// Anything after an END screen.
	p = g.dial(testPhone)
	p.press("3")
	p.press("1")
	if r := p.press("1"); !r.End || !strings.Contains(r.Text, "Help in Nairobi") {
		t.Fatalf("help in Nairobi:\n%s", r)
	}
	if r := p.press("1"); !r.End || !strings.Contains(r.Text, "Time ran out") {
		t.Errorf("input after END:\n%s", r)
	}

	// A stored state this version cannot read starts again.
	p = g.dial(testPhone)
	for k, row := range g.sessions.rows {
		row.state = `{"v":1,"lang":"en","screen":"nowhere","seen":0}`
		g.sessions.rows[k] = row
	}
	if r := p.press("1"); r.End || !strings.Contains(r.Text, "start again") {
		t.Errorf("unreadable state:\n%s", r)
	}

	// The database fails: an END screen with the emergency numbers.
	g.sessions.fail = errFake
	if r := g.dial(testPhone).last(); !r.End || !strings.Contains(r.Text, "999") {
		t.Errorf("database down:\n%s", r)
	}
}

var errFake = &fakeErr{}

type fakeErr struct{}

func (*fakeErr) Error() string { return "fake failure" }

func TestSendFailsThenWorks(t *testing.T) {
	g := newRig(t, locale.Kiswahili)
	p := g.dial(testPhone)
	for _, in := range []string{"1", "1", "5", "1", "2", "1"} {
		p.press(in)
	}
	g.reports.failWrite = true
	r := p.press("1")
	if r.End || !strings.Contains(r.Text, "Haikutumwa") || !strings.Contains(r.Text, "1 Jaribu tena") {
		t.Fatalf("failed send:\n%s", r)
	}
	g.reports.failWrite = false
	r = p.press("1")
	if !r.End || !receiptRE.MatchString(r.Text) || len(g.reports.inputs) != 1 {
		t.Fatalf("send again:\n%s", r)
	}
	if in := g.reports.inputs[0]; in.County != "nairobi" || in.Help[0] != "medical" {
		t.Errorf("answers lost: %+v", in)
	}
	// A 72-hour line after sexual violence.
	if !strings.Contains(r.Text, "PEP") {
		t.Errorf("no post-rape care line:\n%s", r)
	}
}

func TestBackAndMenuEverywhere(t *testing.T) {
	g := newRig(t, locale.English)
	code := g.reports.add(store.StatusInReview, "A short note.")
	paths := [][]string{
		{"1"}, {"1", "1"}, {"1", "1", "1"}, {"1", "1", "1", "5"}, {"1", "1", "1", "kis"}, {"1", "1", "1", "1"},
		{"1", "1", "1", "1", "1"}, {"1", "1", "1", "1", "1", "1"}, {"2"}, {"2", code.Digits()}, {"2", code.Digits(), "1"},
		{"2", code.Digits(), "2"}, {"3"}, {"3", "1"}, {"3", "1", "5"},
	}
	for _, path := range paths {
		p := g.dial(testPhone)
		for _, in := range path {
			p.press(in)
		}
		before := p.last().Text
		if r := p.press("00"); !strings.Contains(r.Text, "1 Report") {
			t.Errorf("00 after %v:\n%s", path, r)
		}
		// "0" goes to a different screen, never ends the session. (Another
		// phone: each receipt typed counts against the phone's limit.)
		q := g.dial("+254700000009")
		for _, in := range path {
			q.press(in)
		}
		if r := q.press("0"); r.End || r.Text == before {
			t.Errorf("0 after %v stayed or ended:\n%s", path, r)
		}
	}
}

// A caller with the gateway's session id of another caller gets nothing of
// theirs: the state is under a MAC of the id, and holds no secret anyway.
func TestStateIsKeyedAndClean(t *testing.T) {
	g := newRig(t, locale.English)
	p := g.dial(testPhone)
	p.press("1")
	for k := range g.sessions.rows {
		if strings.Contains(k, p.id) {
			t.Error("session stored under its id in clear")
		}
		if len(k) != 32 {
			t.Errorf("session key of %d bytes", len(k))
		}
	}
}

func TestPaginate(t *testing.T) {
	for _, tc := range []struct {
		text string
		n    int
		want []string
	}{
		{"", 20, []string{""}},
		{"short", 20, []string{"short"}},
		{"one two three four five six", 10, []string{"one two", "three four", "five six"}},
		{"abcdefghijklmnopqrstuvwxyz", 10, []string{"abcdefghij", "klmnopqrst", "uvwxyz"}},
		{"  spaced\n\nout   words ", 20, []string{"spaced out words"}},
		{"emoji 😀 and “quotes”", 40, []string{`emoji and "quotes"`}},
	} {
		if got := paginate(tc.text, tc.n); !slices.Equal(got, tc.want) {
			t.Errorf("paginate(%q, %d) = %q, want %q", tc.text, tc.n, got, tc.want)
		}
	}
}

func TestGuard(t *testing.T) {
	if CheckToken("short") == nil || CheckToken(strings.Repeat("x", 20)) != nil {
		t.Error("CheckToken")
	}
}
