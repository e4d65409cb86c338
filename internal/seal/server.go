package seal

// domainServerSealed separates values sealed under the network secret from
// every other AEAD use in this package.
const domainServerSealed = "salama/server-sealed"

// Seal seals a small value the server must read back by itself, with nobody
// logged in: a survivor's phone number in a queued SMS job, a staff alert
// address. The key is HKDF-Expand(secret, "salama/server-seal/" + purpose),
// and purpose and id (the row the value belongs to) are bound as associated
// data, so a sealed value opens only for the purpose and row it was sealed
// for.
//
// What it protects against: a database dump or a backup alone reads
// nothing, as the network secret is never in the database. What it does not:
// whoever also has the network secret (the data directory, or the
// environment) opens it, as the server does. Use it only for what the server
// must act on unattended; what caseworkers read is sealed under a report's
// data key.
func (s *NetworkSecret) Seal(purpose, id string, plaintext []byte) ([]byte, error) {
	s.mustLive()
	var key [KeySize]byte
	copy(key[:], s.subkey("salama/server-seal/"+purpose))
	defer clear(key[:])
	return sealAEAD(&key, domainServerSealed, purpose, id, plaintext)
}

// Open reverses Seal with the same purpose and id. A value sealed before a
// rotation of the network secret opens under the generation it was sealed
// with (see Previous). Any failure returns ErrOpen.
func (s *NetworkSecret) Open(purpose, id string, sealed []byte) ([]byte, error) {
	if s == nil || !s.live {
		return nil, ErrDestroyed
	}
	pt, err := s.open1(purpose, id, sealed)
	if err == nil || len(s.previous) == 0 {
		return pt, err
	}
	for _, g := range s.Previous() {
		if pt, err := g.open1(purpose, id, sealed); err == nil {
			return pt, nil
		}
	}
	return nil, ErrOpen
}

func (s *NetworkSecret) open1(purpose, id string, sealed []byte) ([]byte, error) {
	var key [KeySize]byte
	copy(key[:], s.subkey("salama/server-seal/"+purpose))
	defer clear(key[:])
	return openAEAD(&key, domainServerSealed, purpose, id, sealed)
}
