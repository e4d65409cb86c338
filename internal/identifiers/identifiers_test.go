package identifiers

import (
	"slices"
	"testing"
)

func TestPhone(t *testing.T) {
	for _, tc := range []struct {
		in, want, flag string
	}{
		// The ways one Safaricom number is written.
		{"0712 345 678", "+254712345678", ""},
		{"0712-345-678", "+254712345678", ""},
		{"0712345678", "+254712345678", ""},
		{"712345678", "+254712345678", ""},
		{"+254712345678", "+254712345678", ""},
		{"+254 712 345 678", "+254712345678", ""},
		{"254712345678", "+254712345678", ""},
		{"254 0712345678", "+254712345678", ""},
		{"+254 (0)712 345 678", "+254712345678", ""},
		{"+254 0712 345 678", "+254712345678", ""},
		{"(0712) 345.678", "+254712345678", ""},
		{"00254712345678", "+254712345678", ""},
		{"000254712345678", "+254712345678", ""}, // Kenya's own international prefix
		{"tel:+254712345678", "+254712345678", ""},
		{"  0712 345 678  ", "+254712345678", ""},
		// Disguised, as in adverts.
		{"O712 345 678", "+254712345678", ""},
		{"07l2 345 678", "+254712345678", ""},
		{"０７１２ ３４５ ６７８", "+254712345678", ""},           // full-width digits
		{"٠٧١٢٣٤٥٦٧٨", "+254712345678", ""},             // Arabic-Indic digits
		{"0712\u200b345\u200b678", "+254712345678", ""}, // zero-width spaces
		// The 01xx ranges (Safaricom 0110–0115, Airtel 0100–0102).
		{"0110 123 456", "+254110123456", ""},
		{"0115-123-456", "+254115123456", ""},
		{"0100 123456", "+254100123456", ""},
		{"+254 110 123 456", "+254110123456", ""},
		// Other Kenyan numbers.
		{"0733 123 456", "+254733123456", ""}, // Airtel
		{"0770 123 456", "+254770123456", ""}, // Telkom
		{"020 444 5555", "+254204445555", ""}, // Nairobi landline
		{"0800 720 000", "+254800720000", ""}, // toll-free
		// Abroad: where trafficked people are taken, and neighbours.
		{"+971 50 123 4567", "+971501234567", ""},
		{"+966 50 123 4567", "+966501234567", ""},
		{"+256 772 123456", "+256772123456", ""},
		{"00 255 754 123 456", "+255754123456", ""},
		// Possible lengths in no known range: matched, but flagged.
		{"0712 345 67", "+25471234567", FlagPhoneUnverified},
		// Not phone numbers: kept as typed, not matched.
		{"", "", FlagPhoneInvalid},
		{"1234", "", FlagPhoneInvalid},
		{"+2547", "", FlagPhoneInvalid},
		{"071234567890", "", FlagPhoneInvalid},
		{"0712345678 / 0733123456", "", FlagPhoneInvalid},
		{"call me", "", FlagPhoneInvalid},
		{"0800 SAFARI", "", FlagPhoneInvalid}, // no keypad words
		{"+254+712345678", "", FlagPhoneInvalid},
		{"0712345678 ext 4", "", FlagPhoneInvalid},
	} {
		got, flag := Phone(tc.in)
		if got != tc.want || flag != tc.flag {
			t.Errorf("Phone(%q) = %q, %q; want %q, %q", tc.in, got, flag, tc.want, tc.flag)
		}
	}
}

func TestHandle(t *testing.T) {
	for _, tc := range []struct {
		platform, in, want, flag string
	}{
		{PlatformTelegram, "@Kibanda_Boss", "kibanda_boss", ""},
		{PlatformTelegram, "kibanda_boss", "kibanda_boss", ""},
		{PlatformTelegram, " @@KIBANDA_BOSS ", "kibanda_boss", ""},
		{PlatformTelegram, "https://t.me/Kibanda_Boss", "kibanda_boss", ""},
		{PlatformTelegram, "kib", "kib", FlagHandleUnusual}, // under 5 characters
		{PlatformInstagram, "@Jane.Doe_", "jane.doe_", ""},
		{PlatformInstagram, "instagram.com/Jane.Doe_/", "jane.doe_", ""},
		{PlatformInstagram, "𝐣𝐚𝐧𝐞", "jane", ""}, // mathematical bold letters
		{PlatformTikTok, "@Mrembo.Nairobi", "mrembo.nairobi", ""},
		{PlatformTikTok, "https://www.tiktok.com/@Mrembo.Nairobi/video/7300000000000000000", "mrembo.nairobi", ""},
		{PlatformX, "@NairobiEscorts", "nairobiescorts", ""},
		{PlatformX, "https://twitter.com/NairobiEscorts/status/1", "nairobiescorts", ""},
		{PlatformX, "this_name_is_far_too_long", "this_name_is_far_too_long", FlagHandleUnusual},
		{PlatformFacebook, "Jane.Doe.5", "janedoe5", ""}, // Facebook ignores dots
		{PlatformFacebook, "https://m.facebook.com/jane.doe.5?mibextid=abc", "janedoe5", ""},
		{PlatformFacebook, "https://www.facebook.com/profile.php?id=100089765432", "100089765432", ""},
		{PlatformSnapchat, "@Sweet-Girl.254", "sweet-girl.254", ""},
		{PlatformSnapchat, "snapchat.com/add/Sweet-Girl.254", "sweet-girl.254", ""},
		{PlatformOther, "@Mama  Pima", "mama pima", ""},
		{"", "@Someone", "someone", ""},
		{PlatformTelegram, "@", "", FlagEmpty},
	} {
		got, flag := Handle(tc.platform, tc.in)
		if got != tc.want || flag != tc.flag {
			t.Errorf("Handle(%q, %q) = %q, %q; want %q, %q", tc.platform, tc.in, got, flag, tc.want, tc.flag)
		}
	}
}

func TestLink(t *testing.T) {
	for _, tc := range []struct {
		in, want string
	}{
		{"https://example.com/path", "https://example.com/path"},
		{"HTTP://WWW.Example.COM/Path/", "https://example.com/Path"}, // host lower-cased, path kept
		{"example.com/a/../b/", "https://example.com/b"},
		{"https://example.com:443/x#section", "https://example.com/x"},
		{"https://example.com:8080/x", "https://example.com:8080/x"},
		{"https://example.com/x?utm_source=wa&utm_medium=x&b=2&a=1&fbclid=Iw0&gclid=1", "https://example.com/x?a=1&b=2"},
		{"<https://example.com/x>.", "https://example.com/x"},
		// Invite links, kept whole (codes are case-sensitive).
		{"https://chat.whatsapp.com/AbCdEf123GhIjK", "https://chat.whatsapp.com/AbCdEf123GhIjK"},
		{"chat.whatsapp.com/AbCdEf123GhIjK?mode=ac_t", "https://chat.whatsapp.com/AbCdEf123GhIjK"},
		{"https://t.me/+AbCdEf_123", "https://t.me/+AbCdEf_123"},
		{"https://t.me/joinchat/AbCdEf_123", "https://t.me/joinchat/AbCdEf_123"},
		{"telegram.me/joinchat/AbCdEf_123", "https://t.me/joinchat/AbCdEf_123"},
		{"tg://join?invite=AbCdEf_123", "https://t.me/+AbCdEf_123"},
		{"https://whatsapp.com/channel/0029VaAbCdEf", "https://whatsapp.com/channel/0029VaAbCdEf"},
		// Profiles: the username lower-cased, post codes kept.
		{"https://t.me/Kibanda_Boss", "https://t.me/kibanda_boss"},
		{"https://t.me/Kibanda_Boss/152", "https://t.me/kibanda_boss/152"},
		{"tg://resolve?domain=Kibanda_Boss", "https://t.me/kibanda_boss"},
		{"https://www.instagram.com/p/CxAbCdE/?igsh=MTc4MmM1YmI2Ng==", "https://instagram.com/p/CxAbCdE"},
		{"https://www.instagram.com/Jane.Doe_/?hl=en", "https://instagram.com/jane.doe_"},
		{"https://vm.tiktok.com/ZMAbCdEf/", "https://vm.tiktok.com/ZMAbCdEf"},
		{"https://x.com/NairobiEscorts/status/1?s=20&t=abc", "https://x.com/nairobiescorts/status/1"},
		{"https://mobile.twitter.com/NairobiEscorts", "https://x.com/nairobiescorts"},
		{"https://web.facebook.com/groups/123456/?ref=share", "https://facebook.com/groups/123456"},
		{"https://www.facebook.com/profile.php?id=100089765432&mibextid=ZbWKwL", "https://facebook.com/profile.php?id=100089765432"},
		{"https://youtu.be/dQw4w9WgXcQ?si=abc", "https://youtu.be/dQw4w9WgXcQ"},
		{"https://www.youtube.com/watch?v=dQw4w9WgXcQ&feature=share", "https://youtube.com/watch?v=dQw4w9WgXcQ"},
		// WhatsApp click-to-chat links name a phone number.
		{"https://wa.me/254712345678?text=Hi", "https://wa.me/254712345678"},
		{"https://api.whatsapp.com/send?phone=254712345678&text=Hi", "https://wa.me/254712345678"},
		{"whatsapp://send?phone=+254712345678", "https://wa.me/254712345678"},
		// Not links.
		{"", ""},
		{"not a link", ""},
		{"javascript:alert(1)", ""},
		{"ftp://example.com/x", ""},
		{"https://user:pass@example.com/", ""},
		{"https://localhost/x", ""},
		{"https://-bad-.com/", ""},
	} {
		got, flag := Link(tc.in)
		if got != tc.want || (got == "") != (flag == FlagLinkInvalid) {
			t.Errorf("Link(%q) = %q, %q; want %q", tc.in, got, flag, tc.want)
		}
	}
}

// Normalise decides the type when none is given, corrects a plainly wrong
// one, and derives the username or number a link names, so a link and a
// typed handle or number match.
func TestNormalise(t *testing.T) {
	for _, tc := range []struct {
		typ, platform, in string
		wantType, norm    string
		keys              []Key
	}{
		{"phone", "", "0712 345 678", TypePhone, "+254712345678", []Key{{KindPhone, "+254712345678"}}},
		{"", "", "0712 345 678", TypePhone, "+254712345678", []Key{{KindPhone, "+254712345678"}}},
		{"", "telegram", "@Kibanda_Boss", TypeHandle, "kibanda_boss", []Key{{"handle:telegram", "kibanda_boss"}}},
		{"", "", "t.me/Kibanda_Boss", TypeLink, "https://t.me/kibanda_boss",
			[]Key{{KindLink, "https://t.me/kibanda_boss"}, {"handle:telegram", "kibanda_boss"}}},
		{"handle", "telegram", "https://t.me/Kibanda_Boss", TypeHandle, "kibanda_boss",
			[]Key{{"handle:telegram", "kibanda_boss"}, {KindLink, "https://t.me/kibanda_boss"}}},
		{"phone", "whatsapp", "https://wa.me/254712345678", TypeLink, "https://wa.me/254712345678",
			[]Key{{KindLink, "https://wa.me/254712345678"}, {KindPhone, "+254712345678"}}},
		{"handle", "whatsapp", "0712 345 678", TypeHandle, "+254712345678", []Key{{KindPhone, "+254712345678"}}},
		{"handle", "telegram", "+254 712 345 678", TypeHandle, "+254712345678", []Key{{KindPhone, "+254712345678"}}},
		{"link", "", "0712 345 678", TypePhone, "+254712345678", []Key{{KindPhone, "+254712345678"}}},
		{"handle", "instagram", "https://chat.whatsapp.com/AbC", TypeLink, "https://chat.whatsapp.com/AbC",
			[]Key{{KindLink, "https://chat.whatsapp.com/AbC"}}},
		{"handle", "myspace", "@Someone", TypeHandle, "someone", []Key{{"handle:other", "someone"}}},
		{"phone", "", "no number", TypePhone, "", nil},
		{"link", "", "", TypeLink, "", nil},
		{"weird", "", "@x_y_z_w", TypeHandle, "x_y_z_w", []Key{{"handle:other", "x_y_z_w"}}},
	} {
		r := Normalise(tc.typ, tc.platform, tc.in)
		if r.Type != tc.wantType || r.Normalised != tc.norm || !slices.Equal(r.Keys, tc.keys) {
			t.Errorf("Normalise(%q, %q, %q) = %+v; want type %s, %q, keys %v", tc.typ, tc.platform, tc.in, r, tc.wantType, tc.norm, tc.keys)
		}
	}
}

// The point of it all (issue 6): two ways of writing one number give one
// key; another number does not.
func TestSameNumberSameKey(t *testing.T) {
	a := Normalise(TypePhone, PlatformWhatsApp, "0712 345 678").Keys
	b := Normalise(TypePhone, "", "+254712345678").Keys
	c := Normalise(TypePhone, "", "0712 345 679").Keys
	if len(a) != 1 || !slices.Equal(a, b) {
		t.Errorf("0712 345 678 → %v, +254712345678 → %v: want one equal key", a, b)
	}
	if slices.Equal(a, c) {
		t.Errorf("different numbers share a key: %v", c)
	}
}

func TestLongInputIsCut(t *testing.T) {
	long := make([]byte, 100000)
	for i := range long {
		long[i] = 'a'
	}
	r := Normalise("", "", string(long))
	if len(r.Normalised) > MaxInput {
		t.Errorf("normalised %d bytes from a long input", len(r.Normalised))
	}
}
