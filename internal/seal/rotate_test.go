package seal

import (
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// Vectors for the rotated blind index and the fingerprint, computed with
// Python's hmac and a hand-written HKDF-Expand:
//
//	fp = HMAC(HKDF-Expand(g, "salama/fingerprint", 32), "salama network secret fingerprint v1")
//	b2 = HMAC(HKDF-Expand(g2, "salama/blind-index/rekey", 32), b1)
func TestVectorRotatedBlindIndex(t *testing.T) {
	g1, g2 := seq(0, 32), seq(32, 32)
	s1 := newNetworkSecret(g1)
	if got, want := s1.Fingerprint(), "48060960ea5e72124d88ddef0198eef631ce82f79990071134dfc3ba3e35cd4d"; got != want {
		t.Errorf("fingerprint = %s, want %s", got, want)
	}
	s2 := newNetworkSecret(g2)
	s2.setPrevious([][networkSecretSize]byte{[networkSecretSize]byte(g1)})
	const b1 = "0ebd23e424cd53aa9d9ab9d4209a593c5b90e8ddf59c21c1895a4d323c30a39c"
	if got := hex.EncodeToString(s1.BlindIndex("phone", "+254712345678")); got != b1 {
		t.Errorf("generation 1 = %s, want %s", got, b1)
	}
	const b2 = "f0641af19824dff28bc715ca024109ec0d4cad5147b0c3b1b2694ac451066e42"
	if got := hex.EncodeToString(s2.BlindIndex("phone", "+254712345678")); got != b2 {
		t.Errorf("generation 2 = %s, want %s", got, b2)
	}
	if got := hex.EncodeToString(s2.RekeyBlindIndex(unhex(t, b1))); got != b2 {
		t.Errorf("re-keyed = %s, want %s", got, b2)
	}
}

// Across rotations, re-keying what is stored gives what the new secret
// computes for a new report, and the earlier generations survive the trip
// through the database (sealed under the current one) and a restart.
func TestRotateKeepsTheBlindIndexConsistent(t *testing.T) {
	s := NewNetworkSecretForTest()
	stored := s.BlindIndex("handle:telegram", "kibanda_boss")
	fp := s.Fingerprint()
	for gen := 2; gen <= 4; gen++ {
		next, err := s.Rotate()
		if err != nil {
			t.Fatal(err)
		}
		if next.Generations() != gen || next.Fingerprint() == fp {
			t.Fatalf("generation %d: Generations %d, fingerprint unchanged %v", gen, next.Generations(), next.Fingerprint() == fp)
		}
		stored = next.RekeyBlindIndex(stored)
		if !bytes.Equal(stored, next.BlindIndex("handle:telegram", "kibanda_boss")) {
			t.Fatalf("generation %d: the re-keyed index differs from a fresh one", gen)
		}
		// A restart: the current secret from its file, the others from
		// the database.
		dir := t.TempDir()
		path := filepath.Join(dir, NetworkSecretFile)
		if err := next.WriteFile(path); err != nil {
			t.Fatal(err)
		}
		if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
			t.Fatalf("mode %v", fi.Mode())
		}
		sealed, err := next.SealPrevious()
		if err != nil {
			t.Fatal(err)
		}
		loaded, err := LoadNetworkSecret(dir, "")
		if err != nil {
			t.Fatal(err)
		}
		if loaded.Generations() != 1 || bytes.Equal(loaded.BlindIndex("handle:telegram", "kibanda_boss"), stored) {
			t.Fatal("the file alone computes the rotated index")
		}
		if err := loaded.OpenPrevious(sealed); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(loaded.BlindIndex("handle:telegram", "kibanda_boss"), stored) || loaded.Generations() != gen {
			t.Fatalf("generation %d after a restart computes another index", gen)
		}
		if len(loaded.Previous()) != gen-1 || loaded.Previous()[0].Fingerprint() != s.Fingerprint() {
			t.Fatal("Previous is not newest first")
		}
		// An earlier generation does not open the keyring.
		if err := s.OpenPrevious(sealed); !errors.Is(err, ErrOpen) {
			t.Fatalf("an earlier generation opened the keyring: %v", err)
		}
		s, fp = next, next.Fingerprint()
	}
	// The MACs use the current generation only.
	fresh := newNetworkSecret(s.b[:])
	if !bytes.Equal(fresh.MAC("csrf", []byte("x")), s.MAC("csrf", []byte("x"))) {
		t.Error("a MAC depends on earlier generations")
	}
}

func TestLoadNetworkSecretNeverCreates(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadNetworkSecret(dir, ""); !errors.Is(err, ErrNoNetworkSecret) {
		t.Fatalf("err = %v, want ErrNoNetworkSecret", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatal("LoadNetworkSecret created a file")
	}
}

func TestSigningKeyFilesAndHex(t *testing.T) {
	k, err := GenerateSigningKey()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), SigningKeyFile)
	if err := k.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	again, err := ReadSigningKeyFile(path)
	if err != nil || !again.Public().Equal(k.Public()) {
		t.Fatalf("read back: %v", err)
	}
	env, err := LoadSigningKey("", k.Hex())
	if err != nil || !env.Public().Equal(k.Public()) {
		t.Fatalf("from Hex: %v", err)
	}
	p, err := ParsePublicKeyHex(k.Public().Hex())
	if err != nil || !p.Equal(k.Public()) || p.Equal(NewSigningKeyForTest().Public()) {
		t.Fatalf("ParsePublicKeyHex: %v", err)
	}
	if _, err := ParsePublicKeyHex("abcd"); !errors.Is(err, ErrPublicKeyFormat) {
		t.Fatalf("short key: %v", err)
	}
}

// A value the server sealed for itself before a rotation (a queued SMS's
// phone number, a staff alert address) still opens after it.
func TestServerSealedValuesSurviveRotation(t *testing.T) {
	s := NewNetworkSecretForTest()
	sealed, err := s.Seal("sms-nudge", "job-1", []byte("+254712345678"))
	if err != nil {
		t.Fatal(err)
	}
	next, err := s.Rotate()
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := next.Open("sms-nudge", "job-1", sealed); err != nil || string(pt) != "+254712345678" {
		t.Fatalf("after the rotation: %q, %v", pt, err)
	}
	if _, err := next.Open("sms-nudge", "job-2", sealed); !errors.Is(err, ErrOpen) {
		t.Fatalf("another row: %v", err)
	}
	fresh, _ := next.Seal("sms-nudge", "job-3", []byte("x"))
	if _, err := s.Open("sms-nudge", "job-3", fresh); !errors.Is(err, ErrOpen) {
		t.Fatal("the old generation opens what the new one sealed")
	}
}
