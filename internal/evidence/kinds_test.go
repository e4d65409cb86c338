package evidence_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/salama-ke/salama/internal/evidence"
	et "github.com/salama-ke/salama/internal/evidence/evidencetest"
)

// Every kind Salama takes is recognised from its bytes, and everything
// else, or a kind whose structure does not hold, is refused with the reason.
func TestCheckRecognisesByContent(t *testing.T) {
	waZip := et.Zip("WhatsApp Chat with Boss.txt", "IMG-20260312-WA0001.jpg")(et.WhatsAppAndroid("Boss: pay now"), et.Photo(t, 8, 8, 1))
	for _, c := range []struct {
		name string
		data []byte
		ct   string
		err  error
	}{
		{"jpeg", et.Photo(t, 20, 10, 1), evidence.JPEG, nil},
		{"png", et.PNG(t, et.TwoColours(8, 8)), evidence.PNG, nil},
		{"pdf", et.PDF(), evidence.PDF, nil},
		{"opus", et.Ogg(5), evidence.Ogg, nil},
		{"m4a", et.M4A(false), evidence.M4A, nil},
		{"adts", et.ADTS(6), evidence.AAC, nil},
		{"mp3", et.MP3(6, false), evidence.MP3, nil},
		{"mp3 with id3", et.MP3(6, true), evidence.MP3, nil},
		{"whatsapp android", et.WhatsAppAndroid("Boss: hi"), evidence.WhatsAppText, nil},
		{"whatsapp ios zip", et.Zip("_chat.txt")(et.WhatsAppIOS("Boss: hi")), evidence.WhatsAppZip, nil},
		{"whatsapp zip with media", waZip, evidence.WhatsAppZip, nil},
		{"telegram", et.Telegram([2]string{"Boss", "hi"}), evidence.TelegramJSON, nil},

		{"exe", et.EXE(), "", evidence.ErrUnknownType},
		{"empty", nil, "", evidence.ErrUnknownType},
		{"pdf cut off", et.PDF()[:200], evidence.PDF, evidence.ErrBrokenFile},
		{"pdf header only", []byte("%PDF-1.4\n%%EOF\n      "), evidence.PDF, evidence.ErrBrokenFile},
		{"ogg cut off", et.Ogg(5)[:100], evidence.Ogg, evidence.ErrBrokenFile},
		{"ogg video", append([]byte("OggS\x00\x02"), make([]byte, 21)...), evidence.Ogg, evidence.ErrUnknownType},
		{"mp4 video", et.M4A(true), evidence.M4A, evidence.ErrVideo},
		{"mp4 box lies", append(et.M4A(false)[:40], 0xff, 0xff, 0xff, 0xff, 'm', 'o', 'o', 'v'), evidence.M4A, evidence.ErrBrokenFile},
		{"mp3 one sync", []byte{0xff, 0xfb, 0x90, 0x64, 1, 2, 3}, evidence.MP3, evidence.ErrBrokenFile},
		{"plain text", []byte("Dear sir, this is a letter.\nNothing else.\n"), evidence.WhatsAppText, evidence.ErrNotChat},
		{"json not telegram", []byte(`{"a": 1}`), evidence.TelegramJSON, evidence.ErrNotChat},
		{"zip without chat", et.Zip("a.jpg", "b.jpg")([]byte("x"), []byte("y")), evidence.WhatsAppZip, evidence.ErrNotChat},
		{"zip traversal", et.Zip("../../etc/_chat.txt")(et.WhatsAppAndroid("Boss: hi")), evidence.WhatsAppZip, evidence.ErrBrokenFile},
		{"zip absolute", et.Zip("/tmp/_chat.txt")(et.WhatsAppAndroid("Boss: hi")), evidence.WhatsAppZip, evidence.ErrBrokenFile},
		{"zip bomb", et.ZipBomb(evidence.ChatMaxText + 1<<20), evidence.WhatsAppZip, evidence.ErrBomb},
		{"zip cut off", waZip[:len(waZip)/2], evidence.WhatsAppZip, evidence.ErrBrokenFile},
	} {
		ct, err := evidence.Check(c.data)
		if ct != c.ct || !errors.Is(err, c.err) {
			t.Errorf("%s: Check = %q, %v; want %q, %v", c.name, ct, err, c.ct, c.err)
		}
	}
}

// A zip that lists more entries than allowed is refused from its end
// record, before archive/zip allocates anything per entry.
func TestZipTooManyEntries(t *testing.T) {
	names := make([]string, evidence.ZipMaxEntries+1)
	data := make([][]byte, len(names))
	for i := range names {
		names[i] = strings.Repeat("x", 3) + string(rune('a'+i%26)) + "/" + itoa(i) + ".jpg"
		data[i] = []byte{1}
	}
	names[0] = "_chat.txt"
	data[0] = et.WhatsAppAndroid("Boss: hi")
	if _, err := evidence.Check(et.Zip(names...)(data...)); !errors.Is(err, evidence.ErrBomb) {
		t.Fatalf("zip of %d entries: %v", len(names), err)
	}
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

// A chat reads as a conversation: senders, times, multi-line messages,
// notices; and the numbers, usernames and links in it are found.
func TestReadChat(t *testing.T) {
	android := et.WhatsAppAndroid("+254 712 345 678: Send the photos or I post them <script>alert(1)</script>",
		"Me: who is this?", "+254 712 345 678: ask @pimp_boss or t.me/otherguy\nor call 0733-111-222")
	c, err := evidence.ReadChat(evidence.WhatsAppText, android)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Messages) != 4 || c.Messages[0].From != "" || c.Messages[1].From != "+254 712 345 678" ||
		!strings.Contains(c.Messages[1].Text, "<script>") || c.Messages[3].Text != "ask @pimp_boss or t.me/otherguy\nor call 0733-111-222" ||
		c.Messages[1].At != "12/03/2026, 21:11" {
		t.Errorf("android chat: %+v", c.Messages)
	}
	want := []evidence.Found{{"phone", "whatsapp", "+254 712 345 678"}, {"phone", "whatsapp", "0733-111-222"}, {"link", "", "t.me/otherguy"}, {"handle", "", "@pimp_boss"}}
	if !equalFound(c.Found, want) {
		t.Errorf("found %+v, want %+v", c.Found, want)
	}

	for name, data := range map[string][]byte{
		"german":  []byte("12.03.26, 21:14 - Boss: hallo\n"),
		"us 12h":  []byte("3/12/26, 9:14\u202fPM - Boss: hi\n"),
		"ios":     et.WhatsAppIOS("Boss: hi"),
		"iso":     []byte("2026-03-12 21:14 - Boss: hi\n"),
		"pm dots": []byte("12/03/2026, 9:14 p.m. - Boss: hi\n"),
	} {
		c, err := evidence.ReadChat(evidence.WhatsAppText, data)
		if err != nil || c.Messages[len(c.Messages)-1].From != "Boss" {
			t.Errorf("%s: %v %+v", name, err, c)
		}
	}

	tg, err := evidence.ReadChat(evidence.TelegramJSON, et.Telegram([2]string{"Boss", "pay @collector"}, [2]string{"Me", "no"}))
	if err != nil || len(tg.Messages) != 2 || tg.Messages[1].Text != "no" || tg.Messages[0].At != "2026-03-12 21:10:05" ||
		!equalFound(tg.Found, []evidence.Found{{"handle", "telegram", "@collector"}}) {
		t.Errorf("telegram: %v %+v", err, tg)
	}

	z, err := evidence.ReadChat(evidence.WhatsAppZip, et.Zip("_chat.txt", "00000003-AUDIO.opus")(et.WhatsAppIOS("Boss: hi"), et.Ogg(2)))
	if err != nil || z.Media != 1 || len(z.Messages) != 2 {
		t.Errorf("zip: %v %+v", err, z)
	}
}

func equalFound(a, b []evidence.Found) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// A chat of more messages than ChatMaxMessages is kept up to there, marked.
func TestChatTruncated(t *testing.T) {
	var b bytes.Buffer
	for range evidence.ChatMaxMessages + 10 {
		b.WriteString("12/03/2026, 21:14 - Boss: hi\n")
	}
	c, err := evidence.ReadChat(evidence.WhatsAppText, b.Bytes())
	if err != nil || len(c.Messages) != evidence.ChatMaxMessages || !c.Truncated {
		t.Fatalf("%v: %d messages, truncated %v", err, len(c.Messages), c.Truncated)
	}
}

// Seeds: one well-formed file of each kind and a few broken ones.
func seeds(f *testing.F) {
	for _, s := range [][]byte{
		et.PDF(), et.Ogg(3), et.M4A(false), et.M4A(true), et.ADTS(4), et.MP3(4, true), et.MP3(4, false),
		et.WhatsAppAndroid("Boss: +254712345678 @x t.me/abc"), et.WhatsAppIOS("Boss: hi\nmore"),
		et.Telegram([2]string{"Boss", "hi"}, [2]string{"Me", "@boss"}),
		et.Zip("_chat.txt", "a.jpg")(et.WhatsAppIOS("Boss: hi"), []byte("x")),
		et.Zip("result.json")(et.Telegram([2]string{"Boss", "hi"})),
		et.EXE(), []byte("ID3\x04\x00\x10\x00\x00\x00\x00"), []byte("\x00\x00\x00\x01ftypM4A "),
	} {
		f.Add(s)
	}
}

// FuzzCheck: no input makes a sniffer or a chat reader panic, loop, or
// say a file is fine and then fail to read it as its kind.
func FuzzCheck(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		ct, err := evidence.Check(data)
		if err != nil {
			return
		}
		if evidence.KindOf(ct) == evidence.KindOther {
			t.Fatalf("accepted %q, which is no kind", ct)
		}
		if evidence.KindOf(ct) == evidence.KindChat {
			c, err := evidence.ReadChat(ct, data)
			if err != nil {
				t.Fatalf("Check accepted a chat ReadChat refuses: %v", err)
			}
			if len(c.Messages) == 0 && c.App == "whatsapp" || len(c.Messages) > evidence.ChatMaxMessages || len(c.Found) > evidence.ChatMaxFound {
				t.Fatalf("chat out of bounds: %d messages, %d found", len(c.Messages), len(c.Found))
			}
		}
	})
}

// FuzzReadChat runs each chat reader on any input.
func FuzzReadChat(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, ct := range []string{evidence.WhatsAppText, evidence.WhatsAppZip, evidence.TelegramJSON} {
			c, err := evidence.ReadChat(ct, data)
			if err == nil && (len(c.Messages) > evidence.ChatMaxMessages || len(c.Found) > evidence.ChatMaxFound) {
				t.Fatalf("%s out of bounds", ct)
			}
		}
	})
}

// A chat of long messages is kept for the console up to ChatMaxShown of
// text, marked cut.
func TestChatShownBounded(t *testing.T) {
	long := strings.Repeat("maneno ", 1000)
	var b bytes.Buffer
	for b.Len() < 3*evidence.ChatMaxShown {
		b.WriteString("12/03/2026, 21:14 - Boss: " + long + "\n" + long + "\n")
	}
	c, err := evidence.ReadChat(evidence.WhatsAppText, b.Bytes())
	if err != nil || !c.Truncated {
		t.Fatalf("%v, truncated %v", err, c.Truncated)
	}
	shown := 0
	for _, m := range c.Messages {
		shown += len(m.At) + len(m.From) + len(m.Text)
	}
	if shown > evidence.ChatMaxShown || shown < evidence.ChatMaxShown/2 {
		t.Errorf("%d bytes shown, want up to %d", shown, evidence.ChatMaxShown)
	}
}

// A message of a million short continuation lines is read in time linear
// in its size (adding each line to the text was quadratic: minutes).
func TestChatManyContinuationLines(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("12/03/2026, 21:14 - Boss: start\n")
	for b.Len() < 4<<20 {
		b.WriteString("x\n")
	}
	allocs := testing.AllocsPerRun(1, func() {
		c, err := evidence.ReadChat(evidence.WhatsAppText, b.Bytes())
		if err != nil || len(c.Messages) != 1 || len(c.Messages[0].Text) > evidence.ChatMaxShown || !c.Truncated {
			t.Fatalf("%v %d", err, len(c.Messages))
		}
	})
	// A builder grows by doubling: a few dozen allocations, not one per line.
	if allocs > 10000 {
		t.Errorf("%v allocations for one message of many lines", allocs)
	}
}
