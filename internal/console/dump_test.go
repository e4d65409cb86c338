package console_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/salama-ke/salama/internal/report"
	"github.com/salama-ke/salama/internal/staff"
	"github.com/salama-ke/salama/internal/store/storetest"

	"github.com/salama-ke/salama/internal/app/apptest"
	"github.com/salama-ke/salama/internal/orgs"
	"github.com/salama-ke/salama/internal/reporting"
	"github.com/salama-ke/salama/internal/seal"
	"github.com/salama-ke/salama/internal/store"
)

// dbContains reports whether the live database holds needle anywhere, as
// text or as hex (see storetest.DB.Holds).
func (s *site) dbContains(t *testing.T, needle []byte) bool {
	t.Helper()
	return s.DB.Holds(t, needle)
}

// dump is what an attacker took: the database (a copy of the SQLite files,
// or the PostgreSQL rows) and the server's data directory, but no password,
// no receipt, no recovery code and no live cookie.
type dump struct {
	st      *store.Store
	raw     *sql.DB
	db      storetest.DB // the copied SQLite files, or the PostgreSQL rows
	dsn     string       // PostgreSQL
	secret  []byte       // network.secret
	signing []byte       // signing.key
}

func takeDump(t *testing.T, s *site) *dump {
	t.Helper()
	dir := t.TempDir()
	cp := func(from string) string {
		to := filepath.Join(dir, filepath.Base(from))
		in, err := os.Open(from)
		if os.IsNotExist(err) {
			return ""
		}
		if err != nil {
			t.Fatal(err)
		}
		defer in.Close()
		out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(out, in); err != nil {
			t.Fatal(err)
		}
		out.Close()
		return to
	}
	d := &dump{dsn: s.DB.DSN, db: storetest.DB{Engine: s.DB.Engine, DSN: s.DB.DSN}}
	if s.DB.DSN == "" {
		d.db.DataDir = dir
		for _, f := range s.App.Store.Files() {
			cp(f)
		}
	}
	for name, into := range map[string]*[]byte{seal.NetworkSecretFile: &d.secret, seal.SigningKeyFile: &d.signing} {
		b, err := os.ReadFile(cp(filepath.Join(s.DataDir, name)))
		if err != nil {
			t.Fatal(err)
		}
		if *into, err = hex.DecodeString(strings.TrimSpace(string(b))); err != nil || len(*into) != 32 {
			t.Fatalf("%s: %v", name, err)
		}
	}
	var err error
	if d.st, err = store.Open(context.Background(), d.dsn, dir); err != nil {
		t.Fatalf("open the dump: %v", err)
	}
	t.Cleanup(func() { d.st.Close() })
	if d.dsn == "" {
		d.raw, err = sql.Open("sqlite", "file:"+filepath.Join(dir, store.FileName)+"?_pragma=busy_timeout(5000)")
	} else {
		d.raw, err = sql.Open("pgx", d.dsn)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.raw.Close() })
	return d
}

// contains reports whether the dump holds needle, as it is or as hex: in
// the copied files' bytes, or in the rows' text (storetest.DB.Holds).
func (d *dump) contains(t *testing.T, needle []byte) bool {
	t.Helper()
	return d.db.Holds(t, needle)
}

// each row of a query, as byte slices and strings by column.
func (d *dump) rows(t *testing.T, q string) [][]any {
	t.Helper()
	rs, err := d.raw.Query(q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rs.Close()
	cols, _ := rs.Columns()
	var out [][]any
	for rs.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rs.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for i, v := range vals {
			if s, ok := v.(string); ok {
				vals[i] = s
			}
		}
		out = append(out, vals)
	}
	if len(out) == 0 {
		t.Fatalf("%s: no rows", q)
	}
	return out
}

func str(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []byte:
		return string(x)
	}
	return ""
}

func blob(v any) []byte {
	switch x := v.(type) {
	case string:
		return []byte(x)
	case []byte:
		return x
	}
	return nil
}

// guesses are the 32-byte keys an attacker holding the dump and the
// server's files can make up without a password, receipt or cookie.
func (d *dump) guesses(t *testing.T, extra ...[]byte) []*seal.Key {
	t.Helper()
	cands := [][]byte{d.secret, d.signing, make([]byte, 32)}
	h := sha256.Sum256(d.secret)
	cands = append(cands, h[:])
	for _, x := range extra {
		if len(x) >= 32 {
			cands = append(cands, x[:32], x[len(x)-32:])
		}
		h := sha256.Sum256(x)
		cands = append(cands, h[:])
	}
	var keys []*seal.Key
	for _, c := range cands {
		k, err := seal.KeyFromBytes(bytes.Clone(c))
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	return keys
}

// TestDumpDecryptsNothing: after a morning's activity, a copy of the
// database and the server's files, without a password, receipt, recovery
// code or live cookie, opens none of the key paths and holds nothing typed
// in clear. With a password, a live cookie, a receipt or a recovery code,
// the same dump does open, so the test is not vacuous.
func TestDumpDecryptsNothing(t *testing.T) {
	each(t, func(t *testing.T, s *site) {
		ctx := s.Ctx()
		const (
			narrative = "He keeps the photos on a flash disk in Githurai. Siri-6620"
			handle    = "@githurai_boss_6620"
			phone     = "0733 662 066"
			message   = "We will call at 6 pm as you asked. Ujumbe-6621"
			note      = "Spoke to the chief in confidence. Kumbuka-6622"
			answer    = "Thank you, 6 pm is safe. Jibu-6623"
		)
		sub := s.Submit(apptest.Report(func(in *reporting.Input) {
			in.Narrative, in.ContactPref, in.Phone = narrative, "phone", phone
			in.Identifiers = []reporting.Identifier{{Type: "handle", Platform: "instagram", Value: handle}}
			in.Files = []reporting.Upload{{ContentType: "image/png", Data: png(t)}}
		}))
		id := sub.Report.ID
		receipt := sub.Receipt.String()
		b := s.login(t, "demo-caseworker")
		csrf := b.csrf()
		for _, f := range []struct{ path, text string }{{"message", message}, {"note", note}} {
			if r := b.post("/console/reports/"+id+"/"+f.path, map[string][]string{"csrf": {csrf}, "text": {f.text}}); r.StatusCode != 303 {
				t.Fatalf("%s: %d", f.path, r.StatusCode)
			}
		}
		cs, _ := s.App.Reporting.LogIn(ctx, sub.Receipt)
		sess, _ := s.App.Reporting.Session(ctx, cs)
		if err := sess.Reply(ctx, answer); err != nil {
			t.Fatal(err)
		}
		sess.Close()
		// A password change and an enrolment, so that every kind of wrap
		// is in the dump, then a live login.
		old := s.Account("demo-caseworker")
		changed := "a brand new passphrase 6624"
		if r := b.post("/console/password", map[string][]string{"csrf": {csrf}, "old": {old.Password}, "new": {changed}, "new2": {changed}}); r.StatusCode != 200 {
			t.Fatalf("password change: %d", r.StatusCode)
		}
		acc := old
		acc.Password = changed
		s.SetAccount(acc)
		admin := s.Principal("demo-admin")
		enrolCode, err := s.App.Staff.AddMember(ctx, admin, staff.NewUser{Username: "dump.member", Role: staff.RoleCaseworker})
		if err != nil {
			t.Fatal(err)
		}
		live := s.login(t, "demo-caseworker").cookie
		if r := (&browser{s: s, t: t, ip: "10.9.9.9", cookie: live}).get("/console/reports/" + id); r.StatusCode != 200 {
			t.Fatalf("live session: %d", r.StatusCode)
		}

		d := takeDump(t, s)

		// Nothing typed, no credential, in clear.
		needles := map[string][]byte{"narrative": []byte(narrative), "narrative words": []byte("Githurai"), "identifier": []byte(handle),
			"phone": []byte(phone), "phone digits": []byte("733662066"), "message": []byte("Ujumbe-6621"), "note": []byte("Kumbuka-6622"),
			"reply": []byte("Jibu-6623"), "receipt": []byte(receipt), "receipt digits": []byte(strings.ReplaceAll(receipt, " ", "")),
			"enrolment code": []byte(enrolCode), "enrolment code, normalised": []byte(strings.ReplaceAll(enrolCode, "-", "")),
			"old password": []byte(old.Password), "new password": []byte(changed), "png": png(t)}
		if raw, err := base64.RawURLEncoding.DecodeString(live); err == nil {
			needles["live cookie"], needles["session key"] = []byte(live), raw[16:]
		}
		for _, a := range s.App.Demo.Accounts {
			needles[a.Username+" password"] = []byte(a.Password)
			needles[a.Username+" TOTP base32"] = []byte(a.TOTP.Base32())
			needles[a.Username+" TOTP raw"] = []byte(a.TOTP)
		}
		for _, o := range s.App.Demo.Orgs {
			needles[o.Org.Name+" recovery code"] = []byte(o.RecoveryCode)
			needles[o.Org.Name+" recovery code, normalised"] = []byte(strings.ReplaceAll(o.RecoveryCode, "-", ""))
		}
		// The search itself works: what is kept in clear by design is found.
		if !d.contains(t, []byte(sub.Report.CaseRef)) || !d.contains(t, []byte("demo-caseworker")) {
			t.Fatal("the dump search does not find the case reference or a username, kept in clear")
		}
		for what, n := range needles {
			if d.contains(t, n) {
				t.Errorf("the dump holds the %s in clear", what)
			}
		}

		// Every key path, tried with every key the dump and the files give.
		fails := func(what string, err error) {
			t.Helper()
			if err == nil {
				t.Errorf("%s opened without a password, receipt, recovery code or cookie", what)
			}
		}
		users := d.rows(t, `SELECT id, org_id, username, kdf_salt, kdf_params, verifier, org_key_wrap, totp_sealed, holder_wrap FROM users`)
		for _, u := range users {
			uid, org, name := str(u[0]), str(u[1]), str(u[2])
			salt, verifier, wrap, totpSealed, holderWrap := blob(u[3]), blob(u[5]), blob(u[6]), blob(u[7]), blob(u[8])
			params, err := seal.ParseKDFParams(str(u[4]))
			if err != nil {
				t.Fatal(err)
			}
			keys := d.guesses(t, salt, verifier, wrap)
			// Passwords an attacker would try first.
			for _, guess := range []string{"", name, "password", "salama", hex.EncodeToString(d.secret)} {
				_, kek, err := s.App.KDF.Password(ctx, guess, salt, params)
				if err != nil {
					t.Fatal(err)
				}
				keys = append(keys, kek)
			}
			for _, k := range keys {
				_, err := k.UnwrapOrgIdentity(org, "user:"+uid, wrap)
				fails("the organisation key of "+name, err)
				_, err = k.UnwrapHolderIdentity(uid, "holder", holderWrap)
				fails("the holder key of "+name, err)
				if len(totpSealed) > 0 {
					_, err = k.OpenSecret(uid, "totp", totpSealed)
					fails("the TOTP secret of "+name, err)
				}
			}
		}
		orgRows := d.rows(t, `SELECT id, recovery_salt, recovery_params, recovery_wrap, recovery_holder_wrap FROM organisations`)
		for _, o := range orgRows {
			params, _ := seal.ParseKDFParams(str(o[2]))
			keys := d.guesses(t, blob(o[1]), blob(o[3]), blob(o[4]))
			_, kek, _ := s.App.KDF.Password(ctx, "", blob(o[1]), params)
			for _, k := range append(keys, kek) {
				_, err := k.UnwrapOrgIdentity(str(o[0]), "recovery", blob(o[3]))
				fails("an organisation key under its recovery code", err)
				_, err = k.UnwrapHolderIdentity(str(o[0]), "recovery", blob(o[4]))
				fails("the recovery code's holder key", err)
			}
		}
		for _, cs := range d.rows(t, `SELECT c.id_hash, c.sealed_key, u.org_id FROM console_sessions c JOIN users u ON u.id = c.user_id`) {
			for _, k := range d.guesses(t, blob(cs[0]), blob(cs[1])) {
				_, err := k.UnwrapOrgIdentity(str(cs[2]), "session", blob(cs[1]))
				fails("a console session's organisation key", err)
			}
		}
		salt, _, _ := d.st.Setting(ctx, "receipt_salt")
		rparams, _, _ := d.st.Setting(ctx, "receipt_kdf")
		receiptParams, err := seal.ParseKDFParams(string(rparams))
		if err != nil {
			t.Fatal(err)
		}
		// A dump holds the salt and the parameters but not the network
		// secret: the real receipt under a guessed secret, and a wrong
		// receipt under the real one, open no wrap under any version.
		guessed, err := seal.NewReceipts(s.App.KDF, seal.NewNetworkSecretForTest(), salt, receiptParams)
		if err != nil {
			t.Fatal(err)
		}
		network, err := seal.NewReceipts(s.App.KDF, s.App.Secret, salt, receiptParams)
		if err != nil {
			t.Fatal(err)
		}
		withoutSecret, err := guessed.Keys(ctx, sub.Receipt)
		if err != nil {
			t.Fatal(err)
		}
		defer withoutSecret.Destroy()
		wrongReceipt, _ := seal.ParseReceipt("1234 5678 9012 3456")
		wrongKeys, err := network.Keys(ctx, wrongReceipt)
		if err != nil {
			t.Fatal(err)
		}
		defer wrongKeys.Destroy()
		for _, rc := range d.rows(t, `SELECT lookup, report_id, wrap FROM receipts`) {
			// The lookup key is derived from the same argon2id output:
			// it must not open the wrap.
			for _, k := range d.guesses(t, blob(rc[0]), blob(rc[2])) {
				_, err := k.UnwrapDataKey(str(rc[1]), "receipt", blob(rc[2]))
				fails("a report's data key under its receipt", err)
				_, err = k.UnwrapDataKey(str(rc[1]), "receipt/v2", blob(rc[2]))
				fails("a report's data key under its receipt", err)
			}
			for _, k := range append(withoutSecret.Versions(), wrongKeys.Versions()...) {
				_, err := k.UnwrapDataKey(str(rc[1]), blob(rc[2]))
				fails("a report's data key under its receipt", err)
			}
		}
		for _, ss := range d.rows(t, `SELECT id_hash, report_id, sealed_key FROM survivor_sessions`) {
			for _, k := range d.guesses(t, blob(ss[0]), blob(ss[2])) {
				_, err := k.UnwrapDataKey(str(ss[1]), "survivor-session", blob(ss[2]))
				fails("a survivor session's data key", err)
			}
		}
		stranger, err := seal.GenerateOrgIdentity()
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range d.rows(t, `SELECT wrap FROM report_wraps`) {
			_, err := stranger.UnwrapDataKey(blob(w[0]))
			fails("a report's data key under an organisation key", err)
		}

		// With a password, a live cookie, a receipt or a recovery code, the
		// same dump opens: the paths above are the real ones.
		org := s.IntakeOrg()
		read := func(how string, ident *seal.OrgIdentity, dk *seal.DataKey) {
			t.Helper()
			if dk == nil {
				w, _, err := d.st.ReportWrap(ctx, id, "org:"+org.Org.ID)
				if err != nil {
					t.Fatal(err)
				}
				if dk, err = ident.UnwrapDataKey(w); err != nil {
					t.Fatalf("%s: data key: %v", how, err)
				}
			}
			fields, _ := d.st.ReportFields(ctx, id)
			got, err := dk.Open(id, report.FieldNarrative, fields[report.FieldNarrative])
			if err != nil || string(got) != narrative {
				t.Errorf("%s: narrative %q, %v", how, got, err)
			}
			ms, _ := d.st.Messages(ctx, id)
			ns, _ := d.st.Notes(ctx, id)
			var texts []string
			for _, m := range ms {
				b, err := dk.Open(id, report.MessageField(m.ID), m.Sealed)
				if err != nil {
					t.Errorf("%s: message: %v", how, err)
				}
				texts = append(texts, string(b))
			}
			for _, n := range ns {
				b, err := dk.Open(id, report.NoteField(n.ID), n.Sealed)
				if err != nil {
					t.Errorf("%s: note: %v", how, err)
				}
				texts = append(texts, string(b))
			}
			if all := strings.Join(texts, "|"); !strings.Contains(all, message) || !strings.Contains(all, note) || !strings.Contains(all, answer) {
				t.Errorf("%s: thread and notes %q", how, all)
			}
		}

		u, err := d.st.UserByUsername(ctx, "demo-caseworker")
		if err != nil {
			t.Fatal(err)
		}
		params, _ := seal.ParseKDFParams(u.KDFParams)
		_, kek, err := s.App.KDF.Password(ctx, changed, u.KDFSalt, params)
		if err != nil {
			t.Fatal(err)
		}
		holder, err := kek.UnwrapHolderIdentity(u.ID, "holder", u.HolderWrap)
		if err != nil {
			t.Fatalf("the password does not open the member's holder key: %v", err)
		}
		ident, err := holder.UnwrapOrgIdentity(u.OrgID, u.OrgKeyGen, u.OrgKeyWrap)
		if err != nil {
			t.Fatalf("the holder key does not open the organisation key: %v", err)
		}
		read("with the password", ident, nil)
		sec, err := kek.OpenSecret(u.ID, "totp", u.TOTPSealed)
		if err != nil || !bytes.Equal(sec, old.TOTP) {
			t.Errorf("the password does not open the TOTP secret: %v", err)
		}
		// The old password opens nothing any more.
		_, oldKEK, _ := s.App.KDF.Password(ctx, old.Password, u.KDFSalt, params)
		_, err = oldKEK.UnwrapHolderIdentity(u.ID, "holder", u.HolderWrap)
		fails("the holder key under the old password", err)

		raw, _ := base64.RawURLEncoding.DecodeString(live)
		h := sha256.Sum256(raw[:16])
		var sealed []byte
		for _, cs := range d.rows(t, `SELECT id_hash, sealed_key FROM console_sessions`) {
			if bytes.Equal(blob(cs[0]), h[:]) {
				sealed = blob(cs[1])
			}
		}
		sk, _ := seal.KeyFromBytes(raw[16:])
		ident, err = sk.UnwrapOrgIdentity(org.Org.ID, "session", sealed)
		if err != nil {
			t.Fatalf("the live cookie does not open its session: %v", err)
		}
		read("with the live cookie", ident, nil)

		ring, err := network.Keys(ctx, sub.Receipt)
		if err != nil {
			t.Fatal(err)
		}
		defer ring.Destroy()
		keys := ring.Current()
		var rwrap []byte
		for _, rc := range d.rows(t, `SELECT lookup, wrap FROM receipts`) {
			if bytes.Equal(blob(rc[0]), keys.Lookup) {
				rwrap = blob(rc[1])
			}
		}
		dk, err := keys.UnwrapDataKey(id, rwrap)
		if err != nil {
			t.Fatalf("the receipt does not open the report: %v", err)
		}
		read("with the receipt", nil, dk)

		ident, err = orgs.Recover(ctx, d.st, s.App.KDF, org.Org.ID, org.RecoveryCode)
		if err != nil {
			t.Fatalf("the recovery code does not open the organisation key: %v", err)
		}
		read("with the recovery code", ident, nil)

		// And the enrolment code opens the new member's wrap until they
		// enrol: it is a password in all but name.
		m, _ := d.st.UserByUsername(ctx, "dump.member")
		mp, _ := seal.ParseKDFParams(m.KDFParams)
		_, mk, _ := s.App.KDF.Password(ctx, strings.ReplaceAll(enrolCode, "-", ""), m.KDFSalt, mp)
		if h, err := mk.UnwrapHolderIdentity(m.ID, "holder", m.HolderWrap); err != nil {
			t.Errorf("the enrolment code does not open the new member's holder key: %v", err)
		} else if _, err := h.UnwrapOrgIdentity(m.OrgID, m.OrgKeyGen, m.OrgKeyWrap); err != nil {
			t.Errorf("the new member's holder key does not open their wrap: %v", err)
		}
	})
}
