package reporting_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/salama-ke/salama/internal/orgs"
	"github.com/salama-ke/salama/internal/reporting"
	"github.com/salama-ke/salama/internal/seal"
	"github.com/salama-ke/salama/internal/store"
	"github.com/salama-ke/salama/internal/store/storetest"
)

// env is a reporting service over a fresh database with one intake
// organisation, and the network secret it was given.
type env struct {
	svc    *reporting.Service
	st     *store.Store
	db     storetest.DB
	secret *seal.NetworkSecret
}

func newEnv(t *testing.T, db storetest.DB) *env {
	t.Helper()
	ctx := context.Background()
	st := db.Open(t)
	kdf := seal.NewKDF(2)
	if _, err := orgs.Create(ctx, st, kdf, seal.TestKDFParams, orgs.New{Name: "Intake (test)", Intake: true}, time.Now()); err != nil {
		t.Fatal(err)
	}
	secret := seal.NewNetworkSecretForTest()
	svc := reporting.New(reporting.Config{Store: st, KDF: kdf, KDFParams: seal.TestKDFParams, ReceiptSalt: []byte("0123456789abcdef"), Secret: secret})
	return &env{svc: svc, st: st, db: db, secret: secret}
}

func (e *env) submit(t *testing.T, in reporting.Input) *reporting.Submission {
	t.Helper()
	in.Token = e.svc.NewToken()
	sub, err := e.svc.Submit(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	return sub
}

func report(match bool, ids ...reporting.Identifier) reporting.Input {
	in := reporting.NewInput(reporting.KindReport)
	in.About, in.What, in.Narrative = "me", []string{"sextortion"}, "He posts my photos."
	in.Identifiers, in.AllowMatch = ids, match
	return in
}

func phone(v string) reporting.Identifier { return reporting.Identifier{Type: "phone", Value: v} }

// matches maps a report's blind-index kinds to "N other reports".
func (e *env) matches(t *testing.T, reportID string) map[string]int {
	t.Helper()
	ms, err := e.st.Matches(context.Background(), reportID)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, m := range ms {
		out[m.Kind] = m.Reports
	}
	return out
}

// Issue 6, done when: two reports naming 0712 345 678 and +254712345678 are
// linked, a third with another number is not; a report whose survivor did
// not agree to matching takes no part; a tip always does.
func TestReportsNamingOneNumberAreLinked(t *testing.T) {
	storetest.EachDB(t, func(t *testing.T, db storetest.DB) {
		e := newEnv(t, db)
		a := e.submit(t, report(true, reporting.Identifier{Type: "phone", Platform: "whatsapp", Value: "0712 345 678"}))
		b := e.submit(t, report(true, phone("+254712345678"), reporting.Identifier{Type: "handle", Platform: "telegram", Value: "@Kibanda_Boss"}))
		c := e.submit(t, report(true, phone("0722 000 111")))
		d := e.submit(t, report(false, phone("0712345678")))
		tip := reporting.NewInput(reporting.KindTip) // a tip matches without being asked
		tip.Identifiers = []reporting.Identifier{{Type: "link", Value: "https://wa.me/254712345678?text=Habari"}}
		f := e.submit(t, tip)

		for _, tc := range []struct {
			name string
			id   string
			want map[string]int
		}{
			{"0712 345 678", a.Report.ID, map[string]int{"phone": 2}},                        // b and the tip
			{"+254712345678", b.Report.ID, map[string]int{"phone": 2, "handle:telegram": 0}}, // a and the tip
			{"another number", c.Report.ID, map[string]int{"phone": 0}},
			{"no consent", d.Report.ID, map[string]int{}},
			{"tip with a wa.me link", f.Report.ID, map[string]int{"phone": 2, "link": 0}},
		} {
			if got := e.matches(t, tc.id); fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
			}
		}
		if r, _ := e.st.Report(context.Background(), f.Report.ID); !r.ConsentMatch {
			t.Error("a tip is not marked as taking part in matching")
		}

		// The sealed identifiers keep what was typed and add the
		// normalised form, which the survivor's own page can open.
		receipt, _ := seal.ParseReceipt(a.Receipt.String())
		cookie, err := e.svc.LogIn(context.Background(), receipt)
		if err != nil {
			t.Fatal(err)
		}
		sess, err := e.svc.Session(context.Background(), cookie)
		if err != nil {
			t.Fatal(err)
		}
		defer sess.Close()
		v, err := sess.View(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(v.Identifiers) != 1 || v.Identifiers[0].Value != "0712 345 678" || v.Identifiers[0].Normalised != "+254712345678" {
			t.Errorf("sealed identifiers %+v", v.Identifiers)
		}
	})
}

// Issue 6, done when: a database dump plus a list of every Kenyan mobile
// number, without the network secret, cannot confirm any match.
//
// The whole space is about 2 × 10⁸ numbers (07xx and 01xx, 9 digits after
// the 0): if the index were any unkeyed hash of a number, hashing all of them
// would take a laptop a minute. This test takes two slices of 10,000
// numbers each that contain the numbers reported, and every encoding an
// attacker would try (E.164, 0-prefixed, 254-prefixed, 9 digits; plain
// SHA-256, SHA-256 of kind and value, HMAC-SHA-256 with an empty key, our
// exact construction under a guessed all-zero secret or another random
// one). None of the 520,000 digests equals a stored blind index. With
// the network secret the same slices find both numbers, so the stored index
// does hold them: the test is not vacuous.
func TestBlindIndexNeedsTheSecret(t *testing.T) {
	t.Parallel()
	storetest.EachDB(t, func(t *testing.T, db storetest.DB) {
		e := newEnv(t, db)
		e.submit(t, report(true, phone("0712 345 678")))
		e.submit(t, report(true, phone("0110-123-456"), reporting.Identifier{Type: "handle", Platform: "instagram", Value: "@mrembo_nairobi"}))

		// The attacker's copy of the database.
		dump := map[string]string{} // blind → kind
		raw := openRaw(t, db)
		rows, err := raw.Query(`SELECT kind, blind FROM identifiers`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var kind string
			var blind []byte
			if err := rows.Scan(&kind, &blind); err != nil {
				t.Fatal(err)
			}
			dump[string(blind)] = kind
		}
		rows.Close()
		if len(dump) != 3 {
			t.Fatalf("%d rows in the dumped index, want 3", len(dump))
		}

		var candidates []string // E.164
		for _, prefix := range []string{"+25471234", "+25411012"} {
			for n := range 10000 {
				candidates = append(candidates, fmt.Sprintf("%s%04d", prefix, n))
			}
		}
		zero, err := seal.LoadOrCreateNetworkSecret("", strings.Repeat("00", 32))
		if err != nil {
			t.Fatal(err)
		}
		guesses := []*seal.NetworkSecret{zero, seal.NewNetworkSecretForTest()}
		tried := 0
		for _, c := range candidates {
			digits := c[1:]
			for _, enc := range []string{c, digits, "0" + digits[3:], digits[3:]} {
				var digests [][]byte
				for _, msg := range [][]byte{[]byte(enc), []byte("phone" + enc), lp("phone", enc)} {
					h := sha256.Sum256(msg)
					m := hmac.New(sha256.New, nil)
					m.Write(msg)
					digests = append(digests, h[:], m.Sum(nil))
				}
				if enc == c { // the construction itself only ever sees E.164
					for _, g := range guesses {
						digests = append(digests, g.BlindIndex("phone", enc))
					}
				}
				for _, d := range digests {
					tried++
					if _, ok := dump[string(d)]; ok {
						t.Fatalf("without the secret, %s (as %q) was confirmed against the dump", c, enc)
					}
				}
			}
		}
		if tried < 500_000 {
			t.Fatalf("only %d digests tried", tried)
		}

		// With the secret, the same list finds exactly the two numbers.
		var found []string
		for _, c := range candidates {
			if dump[string(e.secret.BlindIndex("phone", c))] == "phone" {
				found = append(found, c)
			}
		}
		if fmt.Sprint(found) != "[+254712345678 +254110123456]" {
			t.Errorf("with the secret the list finds %v", found)
		}
	})
}

// lp is the blind index's own message layout (4-byte length of the kind,
// the kind, the value), for an attacker who read the source.
func lp(kind, v string) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(len(kind)))
	return append(append(b, kind...), v...)
}

// openRaw opens the database as someone holding a copy of it would,
// without the application.
func openRaw(t *testing.T, db storetest.DB) *sql.DB {
	t.Helper()
	driver, dsn := "pgx", db.DSN
	if db.Engine == store.SQLite {
		driver, dsn = "sqlite", db.DataDir+"/"+store.FileName
	}
	raw, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return raw
}
