package totp

import (
	"net/url"
	"strconv"
	"strings"
)

// URI returns the otpauth:// key URI that authenticator apps import:
//
//	otpauth://totp/Issuer:account?secret=…&issuer=…&algorithm=SHA1&digits=6&period=30
//
// Issuer and account are percent-encoded as RFC 3986 requires, leaving only
// unreserved characters bare: a space is %20 (not "+", which some apps show
// literally) and a colon is %3A, so the one bare colon in the label is the
// issuer separator. An empty issuer is left out.
func URI(s Secret, issuer, account string) string {
	label := escape(account)
	if issuer != "" {
		label = escape(issuer) + ":" + label
	}
	var b strings.Builder
	b.WriteString("otpauth://totp/")
	b.WriteString(label)
	b.WriteString("?secret=")
	b.WriteString(s.Base32())
	if issuer != "" {
		b.WriteString("&issuer=")
		b.WriteString(escape(issuer))
	}
	b.WriteString("&algorithm=SHA1&digits=")
	b.WriteString(strconv.Itoa(Digits))
	b.WriteString("&period=")
	b.WriteString(strconv.Itoa(int(Period.Seconds())))
	return b.String()
}

// escape percent-encodes everything but RFC 3986 unreserved characters.
// url.QueryEscape already does, except that it writes a space as "+"; a
// literal "+" has become %2B by then, so the replacement touches spaces only.
func escape(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}
