package seal

import "context"

// receiptV1 is the ReceiptV1 derivation alone, for this package's tests of
// the argon2id pool.
func (k *KDF) receiptV1(ctx context.Context, r Receipt, networkSalt []byte, p KDFParams) (ReceiptKeys, error) {
	if !r.valid() {
		return ReceiptKeys{}, ErrReceiptFormat
	}
	a, b, err := k.derive64(ctx, r.d[:], networkSalt, p)
	if err != nil {
		return ReceiptKeys{}, err
	}
	defer clear(b)
	return receiptKeys(ReceiptV1, a, b)
}
