package seal

import (
	"bytes"
	"context"
	"testing"
)

// BenchmarkReceiptKeys measures one receipt derivation at the production
// parameters: the cryptographic floor of a report submission and of every
// receipt login (SPEC §8 compares server CPU per report with it).
func BenchmarkReceiptKeys(b *testing.B) {
	rs, err := NewReceipts(NewKDF(1), NewNetworkSecretForTest(), []byte("salama-test-network-salt"), DefaultKDFParams)
	if err != nil {
		b.Fatal(err)
	}
	r, _ := ParseReceipt("4821 7730 1195 6604")
	ctx := context.Background()
	for b.Loop() {
		ring, err := rs.Keys(ctx, r)
		if err != nil {
			b.Fatal(err)
		}
		ring.Destroy()
	}
}

// BenchmarkReceiptKeysParallel shows queueing: with N slots, throughput
// stops growing past N concurrent callers while memory stays bounded.
func BenchmarkReceiptKeysParallel(b *testing.B) {
	rs, err := NewReceipts(NewKDF(0), NewNetworkSecretForTest(), []byte("salama-test-network-salt"), DefaultKDFParams)
	if err != nil {
		b.Fatal(err)
	}
	r, _ := ParseReceipt("4821 7730 1195 6604")
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			ring, err := rs.Keys(context.Background(), r)
			if err != nil {
				b.Error(err)
				return
			}
			ring.Destroy()
		}
	})
}

func BenchmarkSealNarrative10KB(b *testing.B) {
	dk := mustDataKey(b)
	narrative := bytes.Repeat([]byte("Nilitumiwa ujumbe. "), 10_000/19+1)[:10_000]
	b.SetBytes(int64(len(narrative)))
	for b.Loop() {
		if _, err := dk.Seal("report-1", "narrative", narrative); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpenNarrative10KB(b *testing.B) {
	dk := mustDataKey(b)
	s, _ := dk.Seal("report-1", "narrative", make([]byte, 10_000))
	b.SetBytes(10_000)
	for b.Loop() {
		if _, err := dk.Open("report-1", "narrative", s); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOrgWrapDataKey measures the age hybrid (ML-KEM-768 + X25519) wrap
// done once per report for its organisation.
func BenchmarkOrgWrapDataKey(b *testing.B) {
	org, _ := GenerateOrgIdentity()
	r := org.Recipient()
	dk := mustDataKey(b)
	for b.Loop() {
		if _, err := r.WrapDataKey(dk); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOrgUnwrapDataKey(b *testing.B) {
	org, _ := GenerateOrgIdentity()
	w, _ := org.Recipient().WrapDataKey(mustDataKey(b))
	for b.Loop() {
		if _, err := org.UnwrapDataKey(w); err != nil {
			b.Fatal(err)
		}
	}
}
