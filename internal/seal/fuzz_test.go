package seal

import (
	"errors"
	"testing"
)

func FuzzParseReceipt(f *testing.F) {
	for _, s := range []string{
		"4821 7730 1195 6604", "4821-7730-1195-6604", "4821\u00a07730\u00a01195\u00a06604",
		"482177301195660", "48217730119566041", "٤٨٢١٧٧٣٠١١٩٥٦٦٠٤", "", "\xff", "0000 0000 0000 0000",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseReceipt(s)
		if err != nil {
			if !errors.Is(err, ErrReceiptFormat) {
				t.Fatalf("unexpected error type: %v", err)
			}
			return
		}
		if len(r.Digits()) != 16 {
			t.Fatalf("accepted receipt has %d digits", len(r.Digits()))
		}
		again, err := ParseReceipt(r.String())
		if err != nil || again != r {
			t.Fatalf("String→Parse round trip failed: %v", err)
		}
		if digits, err := ParseReceipt(r.Digits()); err != nil || digits != r {
			t.Fatalf("Digits→Parse round trip failed: %v", err)
		}
	})
}

func FuzzOpen(f *testing.F) {
	dk := &DataKey{live: true}
	copy(dk.b[:], seq(0, 32))
	valid, err := dk.Seal("r-0001", "narrative", []byte("seed"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(valid), "r-0001", "narrative")
	f.Add([]byte{}, "r", "f")
	f.Add([]byte{formatVersion}, "r", "f")
	f.Add(make([]byte, sealOverhead), "r", "f")
	f.Fuzz(func(t *testing.T, b []byte, reportID, field string) {
		pt, err := dk.Open(reportID, field, Sealed(b))
		if err != nil {
			if !errors.Is(err, ErrOpen) {
				t.Fatalf("unexpected error type: %v", err)
			}
			return
		}
		// Only a genuine seal may open.
		if reportID != "r-0001" || field != "narrative" || string(pt) != "seed" {
			t.Fatalf("forged input opened: %q", pt)
		}
	})
}

func FuzzParseKDFParams(f *testing.F) {
	for _, s := range []string{"m=65536,t=3,p=1", "m=1024,t=1,p=1", "m=0,t=0,p=0", "m=65536,t=3,p=256", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseKDFParams(s)
		if err != nil {
			if !errors.Is(err, ErrParamsFormat) && !errors.Is(err, ErrWeakParams) {
				t.Fatalf("unexpected error type: %v", err)
			}
			return
		}
		if p.String() != s {
			t.Fatalf("accepted %q but it encodes as %q", s, p)
		}
		if p.Validate() != nil {
			t.Fatal("accepted invalid params")
		}
	})
}
