package identifiers

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// Every normaliser takes what strangers type. Beyond not panicking, each
// must be idempotent: the canonical form of a canonical form is itself, or
// two reports would store two keys for one identifier depending on which
// form reached the normaliser.

var phoneSeeds = []string{"0712 345 678", "+254 (0)712 345 678", "00254712345678", "0110 123 456", "O7l2 345 678",
	"٠٧١٢٣٤٥٦٧٨", "+971501234567", "tel:+1 202 555 0143", "1234", "+", "(((", "0712345678 / 0733123456"}

func FuzzPhone(f *testing.F) {
	for _, s := range phoneSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e164, flag := Phone(s)
		if e164 == "" {
			if flag != FlagPhoneInvalid {
				t.Fatalf("Phone(%q) = %q with flag %q", s, e164, flag)
			}
			return
		}
		if e164[0] != '+' || strings.Trim(e164[1:], "0123456789") != "" || len(e164) > 16 {
			t.Fatalf("Phone(%q) = %q: not E.164", s, e164)
		}
		if again, flag2 := Phone(e164); again != e164 || flag2 != flag {
			t.Fatalf("Phone(%q) = %q %q but Phone(%q) = %q %q", s, e164, flag, e164, again, flag2)
		}
	})
}

var linkSeeds = []string{"https://t.me/Kibanda_Boss/12?x=1#f", "chat.whatsapp.com/AbC?mode=x", "wa.me/254712345678",
	"https://api.whatsapp.com/send?phone=254712345678", "tg://resolve?domain=Abc_de", "HTTP://WWW.EXAMPLE.COM:80/a/../b/?utm_source=x&b=1",
	"https://facebook.com/profile.php?id=1", "instagram.com/stories/Jane/1", "https://x.com/%41bc", "https://example.com/a%2Fb?q=%20"}

func FuzzLink(f *testing.F) {
	for _, s := range linkSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		canon, flag := Link(s)
		if canon == "" {
			if flag != FlagLinkInvalid {
				t.Fatalf("Link(%q) = %q with flag %q", s, canon, flag)
			}
			return
		}
		if !strings.HasPrefix(canon, "https://") || !utf8.ValidString(canon) {
			t.Fatalf("Link(%q) = %q", s, canon)
		}
		if again, _ := Link(canon); again != canon {
			t.Fatalf("Link(%q) = %q but Link(%q) = %q", s, canon, canon, again)
		}
	})
}

func FuzzHandle(f *testing.F) {
	for _, p := range platforms {
		f.Add(p, "@Kibanda_Boss")
		f.Add(p, "https://t.me/Kibanda_Boss")
		f.Add(p, "0712 345 678")
	}
	f.Add("", "𝐣𝐚𝐧𝐞 ")
	f.Fuzz(func(t *testing.T, platform, s string) {
		r := Normalise(TypeHandle, platform, s)
		checkResult(t, r)
		if r.Normalised == "" {
			return
		}
		// A name found in a link belongs to the link's platform.
		typ, p := r.Type, platform
		if kind := r.Keys[0].Kind; strings.HasPrefix(kind, "handle:") {
			p = strings.TrimPrefix(kind, "handle:")
		}
		if again := Normalise(typ, p, r.Normalised); again.Normalised != r.Normalised || again.Keys[0] != r.Keys[0] {
			t.Fatalf("Normalise(handle, %q, %q) = %+v but again gives %+v", platform, s, r, again)
		}
	})
}

func FuzzNormalise(f *testing.F) {
	for _, s := range append(append([]string{"@a", "www.x", "a.b/c"}, phoneSeeds...), linkSeeds...) {
		f.Add("", "", s)
		f.Add("phone", "whatsapp", s)
		f.Add("link", "telegram", s)
	}
	f.Fuzz(func(t *testing.T, typ, platform, s string) {
		r := Normalise(typ, platform, s)
		checkResult(t, r)
	})
}

func checkResult(t *testing.T, r Result) {
	t.Helper()
	if r.Type != TypePhone && r.Type != TypeHandle && r.Type != TypeLink {
		t.Fatalf("type %q", r.Type)
	}
	if (r.Normalised == "") != (len(r.Keys) == 0) {
		t.Fatalf("normalised %q with keys %v", r.Normalised, r.Keys)
	}
	for _, k := range r.Keys {
		if k.Value == "" || !utf8.ValidString(k.Value) {
			t.Fatalf("key %+v", k)
		}
		if k.Kind != KindPhone && k.Kind != KindLink && !strings.HasPrefix(k.Kind, "handle:") {
			t.Fatalf("key kind %q", k.Kind)
		}
	}
}
