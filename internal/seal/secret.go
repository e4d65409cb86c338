package seal

// domainUserSecret separates small secrets a user's key protects (the TOTP
// secret) from every other use of the same key.
const domainUserSecret = "salama/user-secret"

// SealSecret seals a small secret that belongs to a user (their TOTP secret)
// under the user's key-encryption key, bound to the user's id and the
// secret's name. Without the password nothing in the database opens it.
func (k *Key) SealSecret(userID, name string, secret []byte) ([]byte, error) {
	if k == nil || !k.live {
		return nil, ErrDestroyed
	}
	return sealAEAD(&k.b, domainUserSecret, userID, name, secret)
}

// OpenSecret reverses SealSecret with the same user id and name. Any failure
// returns ErrOpen.
func (k *Key) OpenSecret(userID, name string, sealed []byte) ([]byte, error) {
	if k == nil || !k.live {
		return nil, ErrDestroyed
	}
	return openAEAD(&k.b, domainUserSecret, userID, name, sealed)
}
