package seal

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestParseReceipt(t *testing.T) {
	const want = "4821773011956604"
	tests := []struct {
		name, in string
		ok       bool
	}{
		{"plain", "4821773011956604", true},
		{"grouped by spaces", "4821 7730 1195 6604", true},
		{"dashes", "4821-7730-1195-6604", true},
		{"dots", "4821.7730.1195.6604", true},
		{"no-break spaces", "4821\u00a07730\u00a01195\u00a06604", true},
		{"narrow no-break spaces", "4821\u202f7730\u202f1195\u202f6604", true},
		{"en dashes", "4821\u20137730\u20131195\u20136604", true},
		{"mixed and doubled", " 4821  7730-1195.6604\n", true},
		{"uneven groups", "48 217 7301 195 6604", true},
		{"tabs", "4821\t7730\t1195\t6604", true},
		{"15 digits", "482177301195660", false},
		{"17 digits", "48217730119566041", false},
		{"17 digits grouped", "4821 7730 1195 6604 1", false},
		{"letter", "4821 7730 1195 660a", false},
		{"letter O for zero", "4821 7730 1195 66O4", false},
		{"Arabic-Indic digits", "٤٨٢١٧٧٣٠١١٩٥٦٦٠٤", false},
		{"Eastern Arabic digit among ASCII", "4821 7730 1195 660٤", false},
		{"full-width digits", "４８２１７７３０１１９５６６０４", false},
		{"empty", "", false},
		{"only separators", " - . ", false},
		{"underscore", "4821_7730_1195_6604", false},
		{"slash", "4821/7730/1195/6604", false},
		{"plus sign", "+4821773011956604", false},
		{"invalid UTF-8", "4821773011956604\xff", false},
		{"NUL", "4821773011956604\x00", false},
		{"very long", strings.Repeat(" ", 200) + want, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseReceipt(tt.in)
			if !tt.ok {
				if !errors.Is(err, ErrReceiptFormat) {
					t.Fatalf("err = %v, want ErrReceiptFormat", err)
				}
				if r != (Receipt{}) {
					t.Fatal("a refused receipt is not the zero value")
				}
				if digits := strings.Map(func(c rune) rune {
					if c >= '0' && c <= '9' {
						return c
					}
					return -1
				}, tt.in); len(digits) >= 4 && strings.Contains(err.Error(), digits[:4]) {
					t.Fatalf("error text %q contains input", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Digits() != want {
				t.Fatalf("Digits() = %q", r.Digits())
			}
			if r.String() != "4821 7730 1195 6604" {
				t.Fatalf("String() = %q", r.String())
			}
		})
	}
}

func TestReceiptZeroValue(t *testing.T) {
	var r Receipt
	if r.String() != "" || r.Digits() != "" {
		t.Fatal("zero receipt prints digits")
	}
}

func TestReceiptLeadingZeros(t *testing.T) {
	r := receiptFromNumber(42)
	if r.Digits() != "0000000000000042" || r.String() != "0000 0000 0000 0042" {
		t.Fatalf("got %q / %q", r.Digits(), r.String())
	}
	p, err := ParseReceipt(r.String())
	if err != nil || p != r {
		t.Fatalf("round trip: %v", err)
	}
	if receiptFromNumber(receiptSpace-1).Digits() != "9999999999999999" {
		t.Fatal("largest receipt")
	}
}

// TestNewReceiptDistribution is a sanity check, not a statistical test: over
// a few thousand draws every position takes every digit, in roughly equal
// shares (expected 500 each; the bounds are about 7 standard deviations).
func TestNewReceiptDistribution(t *testing.T) {
	const draws = 5000
	var counts [receiptDigits][10]int
	seen := map[Receipt]bool{}
	for range draws {
		r, err := NewReceipt()
		if err != nil {
			t.Fatal(err)
		}
		if seen[r] {
			t.Fatal("duplicate receipt in 5000 draws")
		}
		seen[r] = true
		if _, err := ParseReceipt(r.String()); err != nil {
			t.Fatal(err)
		}
		for i, c := range r.Digits() {
			counts[i][c-'0']++
		}
	}
	for pos := range counts {
		for d, n := range counts[pos] {
			if n < 350 || n > 650 {
				t.Errorf("position %d digit %d drawn %d times of %d", pos, d, n, draws)
			}
		}
	}
}

func TestReceiptFromSeed(t *testing.T) {
	if _, err := ReceiptFromSeed(make([]byte, 31)); !errors.Is(err, ErrInvalidInput) {
		t.Fatalf("short seed: err = %v", err)
	}
	seed := make([]byte, 40)
	for i := range seed {
		seed[i] = byte(i * 7)
	}
	a, _ := ReceiptFromSeed(seed)
	b, _ := ReceiptFromSeed(seed[:32])
	if a != b {
		t.Fatal("bytes past the first 32 changed the receipt")
	}
	seed[31] ^= 1
	c, _ := ReceiptFromSeed(seed)
	if a == c {
		t.Fatal("different seeds, same receipt")
	}
}

func TestReceiptKeysWrongReceiptFails(t *testing.T) {
	k := NewKDF(2)
	ctx := context.Background()
	salt := []byte("salama-test-network-salt")
	r, _ := NewReceipt()
	keys, err := k.receiptV1(ctx, r, salt, TestKDFParams)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys.Lookup) != 32 {
		t.Fatalf("lookup is %d bytes", len(keys.Lookup))
	}
	dk := mustDataKey(t)
	w, err := keys.WrapDataKey("report-1", dk)
	if err != nil {
		t.Fatal(err)
	}
	// The survivor types the receipt back with other separators.
	typed, err := ParseReceipt(strings.ReplaceAll(r.String(), " ", "-"))
	if err != nil {
		t.Fatal(err)
	}
	again, _ := k.receiptV1(ctx, typed, salt, TestKDFParams)
	if string(again.Lookup) != string(keys.Lookup) {
		t.Fatal("same receipt, different lookup key")
	}
	got, err := again.UnwrapDataKey("report-1", w)
	if err != nil || got.b != dk.b {
		t.Fatalf("same receipt cannot unwrap: %v", err)
	}

	// One digit off: another lookup key, and the wrap does not open.
	d := []byte(r.Digits())
	d[15] = '0' + (d[15]-'0'+1)%10
	wrong, _ := ParseReceipt(string(d))
	wk, _ := k.receiptV1(ctx, wrong, salt, TestKDFParams)
	if string(wk.Lookup) == string(keys.Lookup) {
		t.Fatal("wrong receipt, same lookup key")
	}
	if _, err := wk.UnwrapDataKey("report-1", w); !errors.Is(err, ErrOpen) {
		t.Fatalf("wrong receipt unwrap: err = %v", err)
	}
	// Another network salt: another lookup key.
	ok, _ := k.receiptV1(ctx, r, []byte("another-network-salt"), TestKDFParams)
	if string(ok.Lookup) == string(keys.Lookup) {
		t.Fatal("salt ignored")
	}
	if _, err := k.receiptV1(ctx, r, []byte("short"), TestKDFParams); !errors.Is(err, ErrInvalidInput) {
		t.Fatalf("short salt: err = %v", err)
	}
}

// The network secret is part of every current receipt key: the same
// receipt, salt and parameters under another secret give another lookup key,
// and a wrap written under one secret does not open under the other, nor
// under the argon2id output alone (what a database dump can compute).
func TestReceiptsNeedTheNetworkSecret(t *testing.T) {
	ctx := context.Background()
	k := NewKDF(2)
	salt := []byte("salama-test-network-salt")
	r, _ := NewReceipt()
	mine, err := NewReceipts(k, NewNetworkSecretForTest(), salt, TestKDFParams)
	if err != nil {
		t.Fatal(err)
	}
	theirs, _ := NewReceipts(k, NewNetworkSecretForTest(), salt, TestKDFParams)
	ring, err := mine.Keys(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	defer ring.Destroy()
	other, _ := theirs.Keys(ctx, r)
	defer other.Destroy()
	dk := mustDataKey(t)
	w, err := ring.Current().WrapDataKey("report-1", dk)
	if err != nil {
		t.Fatal(err)
	}
	if string(other.Current().Lookup) == string(ring.Current().Lookup) {
		t.Fatal("another network secret gives the same lookup key")
	}
	if _, err := other.Current().UnwrapDataKey("report-1", w); !errors.Is(err, ErrOpen) {
		t.Fatalf("another secret opens the wrap: %v", err)
	}
	v1, _ := ring.Version(ReceiptV1)
	if string(v1.Lookup) == string(ring.Current().Lookup) {
		t.Fatal("v2 lookup equals the bare argon2id half")
	}
	if _, err := v1.UnwrapDataKey("report-1", w); !errors.Is(err, ErrOpen) {
		t.Fatalf("the bare argon2id half opens a v2 wrap: %v", err)
	}
	// The v1 keys are the same under any secret: they never depended on it.
	ov1, _ := other.Version(ReceiptV1)
	if string(ov1.Lookup) != string(v1.Lookup) {
		t.Fatal("v1 lookup depends on the network secret")
	}
	// A v1 wrap opens under v1 keys only.
	w1, _ := v1.WrapDataKey("report-1", dk)
	if got, err := v1.UnwrapDataKey("report-1", w1); err != nil || got.b != dk.b {
		t.Fatalf("v1 wrap does not open: %v", err)
	}
	if _, err := ring.Current().UnwrapDataKey("report-1", w1); !errors.Is(err, ErrOpen) {
		t.Fatalf("v2 keys open a v1 wrap: %v", err)
	}
	again, _ := mine.Keys(ctx, r)
	if got, err := again.Current().UnwrapDataKey("report-1", w); err != nil || got.b != dk.b {
		t.Fatalf("same receipt and secret cannot unwrap: %v", err)
	}
	again.Destroy()
	if _, err := again.Current().UnwrapDataKey("report-1", w); !errors.Is(err, ErrDestroyed) {
		t.Fatalf("destroyed ring still opens: %v", err)
	}

	for name, f := range map[string]func() (*Receipts, error){
		"short salt": func() (*Receipts, error) {
			return NewReceipts(k, NewNetworkSecretForTest(), []byte("short"), TestKDFParams)
		},
		"no secret": func() (*Receipts, error) { return NewReceipts(k, nil, salt, TestKDFParams) },
		"no kdf":    func() (*Receipts, error) { return NewReceipts(nil, NewNetworkSecretForTest(), salt, TestKDFParams) },
	} {
		if _, err := f(); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	if _, err := NewReceipts(k, NewNetworkSecretForTest(), salt, KDFParams{Memory: 1024, Time: 3, Threads: 1}); !errors.Is(err, ErrWeakParams) {
		t.Errorf("weak params: err = %v", err)
	}
	if _, err := mine.Keys(ctx, Receipt{}); !errors.Is(err, ErrReceiptFormat) {
		t.Errorf("zero receipt: err = %v", err)
	}
}
