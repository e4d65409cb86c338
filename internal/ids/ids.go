// Package ids draws the random identifiers Salama gives things: record ids
// and the case references people read aloud. Nothing is sequential, so no
// identifier says how many reports exist or when one came.
package ids

import (
	"crypto/rand"
	"encoding/hex"
)

// New returns 128 random bits in hex: a record id.
func New() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return hex.EncodeToString(b)
}

// caseAlphabet leaves out 0/O, 1/I/L and U so a reference read aloud over
// the phone is not misheard.
const caseAlphabet = "23456789ABCDEFGHJKMNPQRSTVWXYZ"

// CaseRef returns a random case reference such as K7Q4-92XM.
func CaseRef() string {
	out := make([]byte, 0, 9)
	var b [1]byte
	for len(out) < 9 {
		if len(out) == 4 {
			out = append(out, '-')
			continue
		}
		if _, err := rand.Read(b[:]); err != nil {
			panic(err)
		}
		if int(b[0]) >= 256-256%len(caseAlphabet) {
			continue // reject to keep the draw uniform
		}
		out = append(out, caseAlphabet[int(b[0])%len(caseAlphabet)])
	}
	return string(out)
}
