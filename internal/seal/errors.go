package seal

import "errors"

// Errors a caller may need to branch on. Functions wrap them with %w and add
// context that never contains a secret or the caller's input.
var (
	// ErrOpen means a sealed or wrapped value could not be opened: wrong key,
	// wrong report id, field or purpose, or tampered bytes. The causes are
	// deliberately not distinguished.
	ErrOpen = errors.New("seal: cannot open sealed data")

	// ErrDestroyed means a key was used after Destroy, or was never created
	// by this package (a zero value).
	ErrDestroyed = errors.New("seal: key destroyed or not initialised")

	// ErrInvalidInput is a programming error: a key of the wrong length, a
	// salt or seed that is too short, an empty report id or field name.
	ErrInvalidInput = errors.New("seal: invalid input")

	// ErrReceiptFormat means a typed receipt is not 16 ASCII digits
	// (separators aside). Safe to show to a survivor as "check the code".
	ErrReceiptFormat = errors.New("seal: a receipt is 16 digits")

	// ErrRecipientFormat means an organisation public key does not parse.
	ErrRecipientFormat = errors.New("seal: malformed organisation public key")

	// ErrParamsFormat means stored argon2id parameters do not parse.
	ErrParamsFormat = errors.New("seal: malformed argon2id parameters")

	// ErrWeakParams means argon2id parameters are below the production floor
	// (and are not exactly TestKDFParams), or absurdly large.
	ErrWeakParams = errors.New("seal: argon2id parameters out of range")

	// ErrNetworkSecret means the network secret could not be loaded: bad
	// environment value, or a file with the wrong length or permissions.
	ErrNetworkSecret = errors.New("seal: unusable network secret")
)
