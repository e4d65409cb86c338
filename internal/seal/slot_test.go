package seal

import (
	"context"
	"testing"
	"time"
)

// Work that borrows a slot (a screenshot's decoding) and argon2id share one
// bound: while the only slot is lent, an evaluation waits its turn.
func TestSlotSharesTheBound(t *testing.T) {
	k := NewKDF(1)
	release, err := k.Slot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, _, err := k.Password(context.Background(), "a password", make([]byte, SaltSize), TestKDFParams)
		done <- err
	}()
	for k.Queued() != 1 {
		time.Sleep(time.Millisecond)
	}
	select {
	case <-done:
		t.Fatal("an evaluation ran while the only slot was lent")
	case <-time.After(20 * time.Millisecond):
	}
	release()
	release() // giving it back twice gives back one slot
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// Both slots free again: two borrowers at once on a KDF of two.
	k2 := NewKDF(2)
	r1, _ := k2.Slot(context.Background())
	r2, _ := k2.Slot(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := k2.Slot(ctx); err == nil {
		t.Fatal("a third slot on a KDF of two")
	}
	r1()
	r2()
}
