package store_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/salama-ke/salama/internal/directory"
	"github.com/salama-ke/salama/internal/store"
	"github.com/salama-ke/salama/internal/store/storetest"
)

// The consent-scope migration marks as child protection only the
// child-protection services, for children, of organisations the operator
// created as child-protection organisations; and records each existing
// referral's kind of service from its service.
func TestConsentScopeMigration(t *testing.T) {
	storetest.EachDB(t, func(t *testing.T, db storetest.DB) {
		vs, names, err := store.MigrationVersions(db.Engine)
		if err != nil {
			t.Fatal(err)
		}
		var before int64
		for i, n := range names {
			if strings.HasSuffix(n, "_consent_scope.sql") {
				before = vs[i] - 1
			}
		}
		if before < 1 {
			t.Fatalf("no consent_scope migration in %v", names)
		}
		st, err := store.OpenForRestore(t.Context(), db.DSN, db.DataDir, before)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if err := store.MigrateThrough(t.Context(), st, before); err != nil {
			t.Fatal(err)
		}
		w := store.WriterOf(st)
		exec := func(q string, args ...any) {
			t.Helper()
			if _, err := w.ExecContext(t.Context(), q, args...); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		exec(`INSERT INTO organisations (id, name, intake, child_protection, public_key, created_at) VALUES
			('cp', 'Child protection org', false, true, 'age1x', 1), ('other', 'Other org', false, false, 'age1y', 1)`)
		service := func(id, org string, typ directory.ServiceType, ages directory.AgeGroup) {
			data, _ := json.Marshal(directory.Service{ID: id, OrgID: org, Name: id, Type: typ, National: true, Ages: ages,
				Channels: directory.Channels{Phone: "0700 000 000"}})
			exec(`INSERT INTO services (id, org_id, data, updated_at) VALUES ($1, $2, $3, 1)`, id, org, string(data))
		}
		service("cp-children", "cp", directory.TypeChildProtection, directory.AgesChildren)
		service("cp-all", "cp", directory.TypeChildProtection, directory.AgesAll)
		service("cp-adults", "cp", directory.TypeChildProtection, directory.AgesAdults)
		service("cp-shelter", "cp", directory.TypeShelter, directory.AgesChildren)
		service("other-cp", "other", directory.TypeChildProtection, directory.AgesChildren)
		service("desk", "other", directory.TypePoliceDesk, directory.AgesAll)
		exec(`INSERT INTO reports (id, case_ref, kind, channel, org_id, status, created_at, updated_at) VALUES ('r1', 'AAAA-BBBB', 'report', 'web', 'cp', 'new', 1, 1)`)
		exec(`INSERT INTO referrals (id, report_id, from_org, service_id, state, created_by, created_at, updated_at) VALUES
			('ref-desk', 'r1', 'cp', 'desk', 'sent', 'u', 1, 1), ('ref-gone', 'r1', 'cp', 'removed-service', 'sent', 'u', 1, 1)`)

		if err := st.Migrate(t.Context()); err != nil {
			t.Fatal(err)
		}
		svcs, err := directory.Stored(t.Context(), st)
		if err != nil {
			t.Fatal(err)
		}
		marked := map[string]bool{}
		for _, s := range svcs {
			marked[s.ID] = s.ChildProtection
		}
		want := map[string]bool{"cp-children": true, "cp-all": true, "cp-adults": false, "cp-shelter": false, "other-cp": false, "desk": false}
		for id, m := range want {
			if marked[id] != m {
				t.Errorf("%s marked %v, want %v", id, marked[id], m)
			}
		}
		for id, typ := range map[string]string{"ref-desk": "police_desk", "ref-gone": ""} {
			ref, err := st.Referral(t.Context(), id)
			if err != nil || ref.ServiceType != typ {
				t.Errorf("%s: kind %q, want %q (%v)", id, ref.ServiceType, typ, err)
			}
		}
		r, err := st.Report(t.Context(), "r1")
		if err != nil || r.ConsentPolice || r.ConsentLegal {
			t.Errorf("an existing report has police or legal consent it never gave: %+v %v", r, err)
		}
	})
}
