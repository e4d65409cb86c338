package seal

import (
	"bytes"
	"errors"
	"testing"
)

func TestHolderWrapsOrgIdentity(t *testing.T) {
	org, _ := GenerateOrgIdentity()
	h, err := GenerateHolderIdentity()
	if err != nil {
		t.Fatal(err)
	}
	r, err := ParseHolderRecipient(h.Recipient().String())
	if err != nil {
		t.Fatal(err)
	}
	w, err := r.WrapOrgIdentity("org_1", 2, org)
	if err != nil {
		t.Fatal(err)
	}
	got, err := h.UnwrapOrgIdentity("org_1", 2, w)
	if err != nil || got.Recipient().String() != org.Recipient().String() {
		t.Fatalf("unwrap: %v", err)
	}
	other, _ := GenerateHolderIdentity()
	for name, try := range map[string]func() (*OrgIdentity, error){
		"another organisation": func() (*OrgIdentity, error) { return h.UnwrapOrgIdentity("org_2", 2, w) },
		"another generation":   func() (*OrgIdentity, error) { return h.UnwrapOrgIdentity("org_1", 1, w) },
		"another holder":       func() (*OrgIdentity, error) { return other.UnwrapOrgIdentity("org_1", 2, w) },
		"truncated":            func() (*OrgIdentity, error) { return h.UnwrapOrgIdentity("org_1", 2, w[:len(w)-1]) },
	} {
		if _, err := try(); !errors.Is(err, ErrOpen) {
			t.Errorf("%s: %v, want ErrOpen", name, err)
		}
	}

	// The chain: an older generation wrapped to the newer organisation key.
	next, _ := GenerateOrgIdentity()
	c, err := next.Recipient().WrapOrgIdentity("org_1", 1, org)
	if err != nil {
		t.Fatal(err)
	}
	if back, err := next.UnwrapOrgIdentity("org_1", 1, c); err != nil || back.Recipient().String() != org.Recipient().String() {
		t.Errorf("chain: %v", err)
	}
	if _, err := org.UnwrapOrgIdentity("org_1", 1, c); !errors.Is(err, ErrOpen) {
		t.Errorf("the old key opens the chain to itself: %v", err)
	}

	// A holder's private key sealed under a password's key.
	k, _ := NewKey()
	sealed, err := k.WrapHolderIdentity("usr_1", "holder", h)
	if err != nil {
		t.Fatal(err)
	}
	if back, err := k.UnwrapHolderIdentity("usr_1", "holder", sealed); err != nil || back.Recipient().String() != h.Recipient().String() {
		t.Errorf("holder identity: %v", err)
	}
	if _, err := k.UnwrapHolderIdentity("usr_2", "holder", sealed); !errors.Is(err, ErrOpen) {
		t.Errorf("another owner: %v", err)
	}
	// Domain separation: an organisation identity sealed under the same key
	// does not open as a holder identity.
	oi, _ := k.WrapOrgIdentity("usr_1", "holder", org)
	if _, err := k.UnwrapHolderIdentity("usr_1", "holder", oi); !errors.Is(err, ErrOpen) {
		t.Errorf("an organisation identity opened as a holder identity: %v", err)
	}
}

func TestNetworkSecretKey(t *testing.T) {
	s := NewNetworkSecretForTest()
	a, _ := s.Key("org-rekey/org_1/1")
	b, _ := s.Key("org-rekey/org_1/1")
	c, _ := s.Key("org-rekey/org_1/2")
	if !bytes.Equal(a.Bytes(), b.Bytes()) || bytes.Equal(a.Bytes(), c.Bytes()) {
		t.Error("derived keys are not one per purpose")
	}
	if bytes.Equal(a.Bytes(), s.MAC("org-rekey/org_1/1", nil)) {
		t.Error("a derived key equals a MAC")
	}
	other, _ := NewNetworkSecretForTest().Key("org-rekey/org_1/1")
	if bytes.Equal(a.Bytes(), other.Bytes()) {
		t.Error("two secrets derive the same key")
	}
}
