package seal

import (
	"crypto/sha3"
	"encoding/base32"
	"strings"
)

// ValidOnionV3 says whether host is a Tor v3 onion service address:
// 56 base32 characters then ".onion", which decode to an ed25519 public
// key, a two-byte checksum and the version byte 3, the checksum being the
// start of SHA3-256(".onion checksum" || key || version) (Tor's
// rend-spec-v3). It lives here because only this package touches hash
// primitives; a typo in --onion-address is caught at start, not by Tor
// Browser users who find nothing there.
func ValidOnionV3(host string) bool {
	name, ok := strings.CutSuffix(strings.ToLower(host), ".onion")
	if !ok || len(name) != 56 {
		return false
	}
	raw, err := base32.StdEncoding.DecodeString(strings.ToUpper(name))
	if err != nil || len(raw) != 35 || raw[34] != 3 {
		return false
	}
	key, sum := raw[:32], raw[32:34]
	h := sha3.New256()
	h.Write([]byte(".onion checksum"))
	h.Write(key)
	h.Write([]byte{3})
	want := h.Sum(nil)
	return want[0] == sum[0] && want[1] == sum[1]
}
