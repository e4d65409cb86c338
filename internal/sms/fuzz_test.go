package sms

import (
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/salama-ke/salama/internal/locale"
)

// FuzzInbound parses any callback and answers it: the reply is always one
// or two single-segment SMS in the GSM 7-bit alphabet.
func FuzzInbound(f *testing.F) {
	f.Add("+254711000111", "HELP nairobi")
	f.Add("0711000111", "msaada homa bay")
	f.Add("", "HELP")
	f.Add("+254711000111", "saidia \xff\xfe kis")
	f.Add("+254711000111", strings.Repeat("help ", 300))
	svcs := demoServices()
	f.Fuzz(func(t *testing.T, from, text string) {
		in, err := ParseInbound(url.Values{"from": {from}, "text": {text}})
		if err != nil {
			return
		}
		if !strings.HasPrefix(in.From, "+") || !utf8.ValidString(in.Text) {
			t.Fatalf("accepted %+v", in)
		}
		cat := testCatalog()
		k := ParseKeyword(cat, in.Text, locale.English)
		msgs := HelpReply(cat.Printer(k.Lang), k, svcs, "*384*123#")
		if len(msgs) < 1 || len(msgs) > 2 {
			t.Fatalf("%d messages", len(msgs))
		}
		for _, m := range msgs {
			if utf8.RuneCountInString(m) > MaxSingle || !IsPlain(m) {
				t.Fatalf("message %q", m)
			}
		}
	})
}

func FuzzNormalisePhone(f *testing.F) {
	for _, s := range []string{"0712 345 678", "+254712345678", "00254712345678", "+44 7700 900123", "(0712) 345-678", "+"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := NormalisePhone(s)
		if !ok {
			return
		}
		if got[0] != '+' || len(got) < 9 || len(got) > 16 {
			t.Fatalf("NormalisePhone(%q) = %q", s, got)
		}
		for _, r := range got[1:] {
			if r < '0' || r > '9' {
				t.Fatalf("NormalisePhone(%q) = %q", s, got)
			}
		}
		if again, ok := NormalisePhone(got); !ok || again != got {
			t.Fatalf("not idempotent: %q -> %q -> %q", s, got, again)
		}
	})
}

func FuzzPlain(f *testing.F) {
	f.Add("Murang’a – “safe” 😀 \xff")
	f.Fuzz(func(t *testing.T, s string) {
		p := Plain(s)
		if !IsPlain(p) || !utf8.ValidString(p) {
			t.Fatalf("Plain(%q) = %q", s, p)
		}
		if Plain(p) != p {
			t.Fatalf("Plain not idempotent on %q", s)
		}
	})
}
