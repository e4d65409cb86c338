package seal

import (
	"errors"
	"strings"
	"testing"
)

func TestOrgWrapRoundTrip(t *testing.T) {
	org, err := GenerateOrgIdentity()
	if err != nil {
		t.Fatal(err)
	}
	rcpt, err := ParseOrgRecipient(org.Recipient().String())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(rcpt.String(), "age1pq1") {
		t.Fatalf("recipient is not a hybrid post-quantum key: %.12s…", rcpt.String())
	}
	dk := mustDataKey(t)
	w, err := rcpt.WrapDataKey(dk)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(w), "age-encryption.org/v1\n-> mlkem768x25519 ") {
		t.Fatalf("not a binary age file with one hybrid stanza: %.40q", w)
	}
	if strings.Count(string(w), "\n-> ") != 1 {
		t.Fatal("age file has more than one recipient stanza")
	}
	got, err := org.UnwrapDataKey(w)
	if err != nil {
		t.Fatal(err)
	}
	if got.b != dk.b {
		t.Fatal("unwrapped data key differs")
	}

	other, _ := GenerateOrgIdentity()
	if _, err := other.UnwrapDataKey(w); !errors.Is(err, ErrOpen) {
		t.Fatalf("other organisation: err = %v, want ErrOpen", err)
	}
}

func TestWrapOrgIdentityRoundTripAndBinding(t *testing.T) {
	org, _ := GenerateOrgIdentity()
	kek := mustKey(t)
	w, err := kek.WrapOrgIdentity("org-1", "user:42", org)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(w), "AGE-SECRET-KEY") {
		t.Fatal("private key visible in wrap")
	}
	got, err := kek.UnwrapOrgIdentity("org-1", "user:42", w)
	if err != nil {
		t.Fatal(err)
	}
	if got.Recipient().String() != org.Recipient().String() {
		t.Fatal("unwrapped identity has another public key")
	}
	// The unwrapped identity opens what was wrapped to the original.
	dk := mustDataKey(t)
	aw, _ := org.Recipient().WrapDataKey(dk)
	if _, err := got.UnwrapDataKey(aw); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name           string
		key            *Key
		orgID, purpose string
	}{
		{"other org", kek, "org-2", "user:42"},
		{"other purpose", kek, "org-1", "user:43"},
		{"wrong key", mustKey(t), "org-1", "user:42"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.key.UnwrapOrgIdentity(tt.orgID, tt.purpose, w); !errors.Is(err, ErrOpen) {
				t.Fatalf("err = %v, want ErrOpen", err)
			}
		})
	}
}

func TestParseOrgRecipientRefuses(t *testing.T) {
	classic := "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p" // X25519, not post-quantum
	tests := []string{
		"",
		"age1pq1",
		"not a key",
		classic,
		"AGE-SECRET-KEY-PQ-1JNDCSG2X3CKZL0VLWUYJCTKNG04AVSDPU3EUGNYEC4L897LN2HJSRPUX83",
	}
	for _, s := range tests {
		_, err := ParseOrgRecipient(s)
		if !errors.Is(err, ErrRecipientFormat) {
			t.Errorf("ParseOrgRecipient(%.20q): err = %v, want ErrRecipientFormat", s, err)
			continue
		}
		if s != "" && strings.Contains(err.Error(), s) {
			t.Errorf("error text contains the input")
		}
	}
}

func TestZeroOrgValuesRefuse(t *testing.T) {
	var o OrgIdentity
	if o.Recipient() != nil {
		t.Error("zero identity has a recipient")
	}
	if _, err := o.UnwrapDataKey([]byte("x")); !errors.Is(err, ErrDestroyed) {
		t.Errorf("zero identity unwrap: err = %v", err)
	}
	var r OrgRecipient
	if _, err := r.WrapDataKey(mustDataKey(t)); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("zero recipient wrap: err = %v", err)
	}
	if r.String() != "" {
		t.Error("zero recipient has a string")
	}
	k := mustKey(t)
	if _, err := k.WrapOrgIdentity("o", "p", nil); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("wrap nil identity: err = %v", err)
	}
	org, _ := GenerateOrgIdentity()
	dead := mustDataKey(t)
	dead.Destroy()
	if _, err := org.Recipient().WrapDataKey(dead); !errors.Is(err, ErrDestroyed) {
		t.Errorf("wrap destroyed data key: err = %v", err)
	}
}
