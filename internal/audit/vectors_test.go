package audit_test

import (
	"encoding/hex"
	"testing"
	"time"

	"github.com/salama-ke/salama/internal/audit"
	"github.com/salama-ke/salama/internal/seal"
	"github.com/salama-ke/salama/internal/store"
)

// Fixed vectors for the entry encoding, so that a refactor cannot silently
// change what verifies. Computed independently with Python's hashlib
// (struct.pack('>I'/'>q') for lengths and integers) and, for the signatures,
// Python's cryptography package with the RFC 8032 TEST 2 seed.
func TestVectorEntryHash(t *testing.T) {
	key, err := seal.LoadOrCreateSigningKey("", "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb")
	if err != nil {
		t.Fatal(err)
	}
	prev := make([]byte, 32)
	for i := range prev {
		prev[i] = byte(i)
	}
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) // 1767225600
	tests := []struct {
		name      string
		e         store.AuditEntry
		hash, sig string
	}{
		{"first entry, empty fields",
			store.AuditEntry{Seq: 1, At: at, Actor: "system", Action: "report.purged", ReportID: "r-0001", PrevHash: make([]byte, 32)},
			"55a28f9cc15f1f62b9d42f0c5ff37d6f4e5e9826f962e56ac08d5ed3acc7da71",
			"a268603d7932c0cc7e360050222ac529123b34f00afa7c9520e571d33341c49935d11fef5fa41e41fa668d5a102a80b39e73fc30cec10725388874ac27d2c500"},
		{"every field, non-ASCII detail",
			store.AuditEntry{Seq: 42, At: at, Actor: "user:u-123", OrgID: "org-1", Action: "report.status_changed", ReportID: "r-abc",
				Detail: "status=in_review→closed reason=resolved", PrevHash: prev},
			"8d195c6301251c6d4842f01fcba98c412c14c8bf0a9e07752f1d3e7ed32eab65",
			"9dc23ec1aa0b32459aa8afeb9d5062286c74b36fcf9246c1923c3fdcb00f2b2f1d92f128de5eb455fb73cba33bcc5c0416962af539efaec9fc673ef092dc5604"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := audit.EntryHash(tt.e)
			if got := hex.EncodeToString(h); got != tt.hash {
				t.Fatalf("hash = %s, want %s", got, tt.hash)
			}
			sig := key.Sign(h)
			if got := hex.EncodeToString(sig); got != tt.sig {
				t.Fatalf("signature = %s, want %s", got, tt.sig)
			}
			e := tt.e
			e.Hash, e.Sig = h, sig
			if err := audit.CheckEntry(e, key.Public()); err != nil {
				t.Fatal(err)
			}
			// The hash and signature are not part of what is hashed.
			e.Hash, e.Sig = []byte("x"), []byte("y")
			if got := hex.EncodeToString(audit.EntryHash(e)); got != tt.hash {
				t.Error("Hash or Sig changed the hash")
			}
		})
	}
}

// TestEntryHashFieldsBound checks that every field is in the hash and that
// moving bytes between neighbouring fields changes it.
func TestEntryHashFieldsBound(t *testing.T) {
	base := store.AuditEntry{Seq: 7, At: time.Unix(1767225600, 0), Actor: "user:a", OrgID: "o", Action: "logout",
		ReportID: "r", Detail: "count=1", PrevHash: make([]byte, 32)}
	h0 := hex.EncodeToString(audit.EntryHash(base))
	edits := map[string]func(e *store.AuditEntry){
		"seq":           func(e *store.AuditEntry) { e.Seq++ },
		"at":            func(e *store.AuditEntry) { e.At = e.At.Add(time.Second) },
		"actor":         func(e *store.AuditEntry) { e.Actor = "user:b" },
		"org":           func(e *store.AuditEntry) { e.OrgID = "p" },
		"action":        func(e *store.AuditEntry) { e.Action = "login.ok" },
		"report":        func(e *store.AuditEntry) { e.ReportID = "s" },
		"detail":        func(e *store.AuditEntry) { e.Detail = "count=2" },
		"prev":          func(e *store.AuditEntry) { e.PrevHash = append(make([]byte, 31), 1) },
		"actor→org":     func(e *store.AuditEntry) { e.Actor, e.OrgID = "user:", "ao" },
		"report→detail": func(e *store.AuditEntry) { e.ReportID, e.Detail = "rcount=1", "" },
	}
	for name, edit := range edits {
		e := base
		edit(&e)
		if hex.EncodeToString(audit.EntryHash(e)) == h0 {
			t.Errorf("%s: hash unchanged", name)
		}
	}
}
