package totp

import (
	"net/url"
	"strings"
	"testing"
)

func TestURI(t *testing.T) {
	tests := []struct {
		issuer, account string
		want            string
	}{
		{
			"Salama", "wanjiru@example.org",
			"otpauth://totp/Salama:wanjiru%40example.org?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Salama&algorithm=SHA1&digits=6&period=30",
		},
		{
			"Salama Kenya: Console", "jane doe:admin",
			"otpauth://totp/Salama%20Kenya%3A%20Console:jane%20doe%3Aadmin?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Salama%20Kenya%3A%20Console&algorithm=SHA1&digits=6&period=30",
		},
		{
			"A&B=C?#/+", "x+y/z?&#%",
			"otpauth://totp/A%26B%3DC%3F%23%2F%2B:x%2By%2Fz%3F%26%23%25?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=A%26B%3DC%3F%23%2F%2B&algorithm=SHA1&digits=6&period=30",
		},
		{
			"", "solo",
			"otpauth://totp/solo?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&algorithm=SHA1&digits=6&period=30",
		},
	}
	for _, tc := range tests {
		got := URI(rfcSecret, tc.issuer, tc.account)
		if got != tc.want {
			t.Errorf("URI(%q, %q)\n got %s\nwant %s", tc.issuer, tc.account, got, tc.want)
		}
	}
}

// Whatever the issuer and account hold, a standard URL parser gets them
// back, the label has exactly one bare colon, and the query has exactly the
// five parameters.
func TestURIRoundTrip(t *testing.T) {
	for _, tc := range []struct{ issuer, account string }{
		{"Salama Kenya: Console", "jane doe:admin"},
		{"Shirika la Msaada", "amina+test@example.org"},
		{"a&issuer=evil", "b&secret=AAAA"},
		{"Ünïcödé ✓", "名前"},
		{"%20", "%3A"},
		{"tab\there", "new\nline"},
	} {
		u, err := url.Parse(URI(rfcSecret, tc.issuer, tc.account))
		if err != nil {
			t.Fatalf("%q/%q: %v", tc.issuer, tc.account, err)
		}
		if u.Scheme != "otpauth" || u.Host != "totp" {
			t.Errorf("scheme/host %q/%q", u.Scheme, u.Host)
		}
		if n := strings.Count(u.EscapedPath(), ":"); n != 1 {
			t.Errorf("label %q has %d bare colons", u.EscapedPath(), n)
		}
		if want := "/" + tc.issuer + ":" + tc.account; u.Path != want {
			t.Errorf("label %q, want %q", u.Path, want)
		}
		if strings.ContainsAny(u.RawQuery, "+ ") {
			t.Errorf("query %q has a + or a space", u.RawQuery)
		}
		q := u.Query()
		if len(q) != 5 {
			t.Errorf("query has %d parameters: %v", len(q), q)
		}
		for k, want := range map[string]string{
			"secret": rfcSecret.Base32(), "issuer": tc.issuer,
			"algorithm": "SHA1", "digits": "6", "period": "30",
		} {
			if v := q[k]; len(v) != 1 || v[0] != want {
				t.Errorf("%s = %q, want %q", k, v, want)
			}
		}
	}
}
