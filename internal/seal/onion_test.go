package seal

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha3"
	"encoding/base32"
	"strings"
	"testing"
)

func TestValidOnionV3(t *testing.T) {
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha3.Sum256(append(append([]byte(".onion checksum"), pub...), 3))
	made := strings.ToLower(base32.StdEncoding.EncodeToString(append(append([]byte(pub), sum[:2]...), 3))) + ".onion"
	for _, ok := range []string{
		made,
		strings.ToUpper(made[:10]) + made[10:],
		"duckduckgogg42xjoc72x3sjasowoarfbgcmvfimaftt6twagswzczad.onion", // DuckDuckGo's
		"2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid.onion", // the Tor Project's
	} {
		if !ValidOnionV3(ok) {
			t.Errorf("%s refused", ok)
		}
	}
	typo := []byte(made)
	typo[3] = map[bool]byte{true: 'b', false: 'a'}[typo[3] == 'a']
	for _, bad := range []string{
		string(typo), "", ".onion", "example.org", made[:55] + ".onion", made + ".onion", "expyuzz4wqqyqhjn.onion", // v2, retired
		strings.TrimSuffix(made, ".onion"), "http://" + made, made[:54] + "1a.onion",
	} {
		if ValidOnionV3(bad) {
			t.Errorf("%q accepted", bad)
		}
	}
}

func FuzzValidOnionV3(f *testing.F) {
	f.Add("duckduckgogg42xjoc72x3sjasowoarfbgcmvfimaftt6twagswzczad.onion")
	f.Add("x.onion")
	f.Fuzz(func(t *testing.T, s string) { ValidOnionV3(s) })
}
