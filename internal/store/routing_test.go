package store_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/salama-ke/salama/internal/directory"
	"github.com/salama-ke/salama/internal/store"
	"github.com/salama-ke/salama/internal/store/storetest"
)

func addOrgs(t *testing.T, s *store.Store, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if err := s.CreateOrganisation(t.Context(), &store.Organisation{ID: id, Name: "Org " + id, PublicKey: "age1test", CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
}

func ruleIDs(t *testing.T, s *store.Store) []string {
	t.Helper()
	rules, err := s.RoutingRules(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i, r := range rules {
		if i > 0 && r.Position <= rules[i-1].Position {
			t.Errorf("positions not increasing: %d after %d", r.Position, rules[i-1].Position)
		}
		out = append(out, r.ID)
	}
	return out
}

func TestRoutingRules(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		now := time.Unix(1_800_000_000, 0)
		addOrgs(t, s, "org-a", "org-b")
		if rules, err := s.RoutingRules(ctx); err != nil || len(rules) != 0 {
			t.Fatalf("empty store: %v, %v", rules, err)
		}
		for _, r := range []store.RoutingRule{
			{ID: "r1", County: "nairobi", OrgID: "org-a"},
			{ID: "r2", Category: "trafficking", AgeGroup: store.RuleAdult, OrgID: "org-b"},
			{ID: "r3", Need: "legal", OrgID: "org-a"},
			{ID: "r4", County: "outside", Need: "travel_home", OrgID: "org-b"},
		} {
			if err := s.AddRoutingRule(ctx, &r, now); err != nil {
				t.Fatal(err)
			}
		}
		if got := ruleIDs(t, s); !slices.Equal(got, []string{"r1", "r2", "r3", "r4"}) {
			t.Fatalf("order %v", got)
		}
		r2, err := s.RoutingRule(ctx, "r2")
		if err != nil || r2.Category != "trafficking" || r2.AgeGroup != "adult" || r2.OrgID != "org-b" || r2.Position != 2 ||
			!r2.CreatedAt.Equal(now) || !r2.UpdatedAt.Equal(now) {
			t.Fatalf("rule r2 = %+v, %v", r2, err)
		}

		// Refused: an organisation that does not exist, an id taken.
		if err := s.AddRoutingRule(ctx, &store.RoutingRule{ID: "r5", OrgID: "org-z"}, now); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("rule for an unknown organisation: %v", err)
		}
		if err := s.AddRoutingRule(ctx, &store.RoutingRule{ID: "r1", OrgID: "org-a"}, now); !errors.Is(err, store.ErrDuplicateKey) {
			t.Errorf("rule id taken: %v", err)
		}

		// Move: up, down, and past either end (no change, no error).
		for _, m := range []struct {
			id   string
			by   int
			want []string
		}{
			{"r3", -1, []string{"r1", "r3", "r2", "r4"}},
			{"r3", -1, []string{"r3", "r1", "r2", "r4"}},
			{"r3", -1, []string{"r3", "r1", "r2", "r4"}},
			{"r1", +1, []string{"r3", "r2", "r1", "r4"}},
			{"r4", +1, []string{"r3", "r2", "r1", "r4"}},
			{"r4", -3, []string{"r4", "r3", "r2", "r1"}},
		} {
			if err := s.MoveRoutingRule(ctx, m.id, m.by, now); err != nil {
				t.Fatal(err)
			}
			if got := ruleIDs(t, s); !slices.Equal(got, m.want) {
				t.Fatalf("after moving %s by %d: %v, want %v", m.id, m.by, got, m.want)
			}
		}
		if err := s.MoveRoutingRule(ctx, "nope", 1, now); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("move unknown rule: %v", err)
		}

		// Update keeps the place.
		later := now.Add(time.Hour)
		if err := s.UpdateRoutingRule(ctx, store.RoutingRule{ID: "r2", County: "kisumu", OrgID: "org-a"}, later); err != nil {
			t.Fatal(err)
		}
		r2, _ = s.RoutingRule(ctx, "r2")
		if r2.County != "kisumu" || r2.Category != "" || r2.AgeGroup != "" || r2.OrgID != "org-a" || r2.Position != 3 || !r2.UpdatedAt.Equal(later) || !r2.CreatedAt.Equal(now) {
			t.Errorf("updated rule %+v", r2)
		}
		if err := s.UpdateRoutingRule(ctx, store.RoutingRule{ID: "nope", OrgID: "org-a"}, later); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("update unknown rule: %v", err)
		}
		if err := s.UpdateRoutingRule(ctx, store.RoutingRule{ID: "r2", OrgID: "org-z"}, later); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("update to an unknown organisation: %v", err)
		}

		// Delete; the rest keep their order, a new rule goes last.
		if err := s.DeleteRoutingRule(ctx, "r3"); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteRoutingRule(ctx, "r3"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("delete twice: %v", err)
		}
		if err := s.AddRoutingRule(ctx, &store.RoutingRule{ID: "r6", OrgID: "org-b"}, now); err != nil {
			t.Fatal(err)
		}
		if got := ruleIDs(t, s); !slices.Equal(got, []string{"r4", "r2", "r1", "r6"}) {
			t.Errorf("after delete and add: %v", got)
		}
	})
}

func TestServiceEdits(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		now := time.Unix(1_800_000_000, 0)
		addOrgs(t, s, "org-a", "org-b")
		svc := directory.Service{ID: "a.shelter", OrgID: "org-a", Name: "Shelter", Type: directory.TypeShelter,
			Counties: []string{"nairobi"}, Ages: directory.AgesAll, Channels: directory.Channels{Phone: "0700 000 001"}}
		if err := directory.Create(ctx, s, svc, now); err != nil {
			t.Fatal(err)
		}
		other := svc
		other.OrgID = "org-b"
		if err := directory.Create(ctx, s, other, now); !errors.Is(err, store.ErrDuplicateKey) {
			t.Errorf("another organisation took an existing id: %v", err)
		}
		bad := svc
		bad.ID, bad.OrgID = "z.shelter", "org-z"
		if err := directory.Create(ctx, s, bad, now); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("service of an unknown organisation: %v", err)
		}
		got, err := directory.StoredService(ctx, s, "a.shelter")
		if err != nil || got.Name != "Shelter" || got.OrgID != "org-a" {
			t.Fatalf("Service = %+v, %v", got, err)
		}
		if _, err := directory.StoredService(ctx, s, "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("unknown service: %v", err)
		}

		// An update names the organisation it expects: another's is not found.
		svc.Name = "Safe House"
		if err := directory.Update(ctx, s, svc, "org-b", now); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("update through the wrong organisation: %v", err)
		}
		if err := directory.Update(ctx, s, svc, "org-a", now); err != nil {
			t.Fatal(err)
		}
		if got, _ := directory.StoredService(ctx, s, "a.shelter"); got.Name != "Safe House" {
			t.Errorf("after update: %+v", got)
		}
		if err := s.DeleteService(ctx, "a.shelter", "org-b"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("delete through the wrong organisation: %v", err)
		}

		// An import is all or nothing.
		keep := svc
		keep.ID = "a.keep"
		if err := directory.Create(ctx, s, keep, now); err != nil {
			t.Fatal(err)
		}
		moved := svc
		moved.OrgID = "org-b"
		orphan := svc
		orphan.ID, orphan.OrgID = "z.orphan", "org-z"
		if err := directory.Replace(ctx, s, []string{"a.keep"}, []directory.Service{moved, orphan}, now); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("import with an unknown organisation: %v", err)
		}
		all, _ := directory.Stored(ctx, s)
		if len(all) != 2 || all[0].ID != "a.keep" || all[1].OrgID != "org-a" {
			t.Fatalf("a failed import changed the directory: %+v", all)
		}
		if err := directory.Replace(ctx, s, []string{"a.keep"}, []directory.Service{moved}, now); err != nil {
			t.Fatal(err)
		}
		all, _ = directory.Stored(ctx, s)
		if len(all) != 1 || all[0].ID != "a.shelter" || all[0].OrgID != "org-b" {
			t.Fatalf("after import: %+v", all)
		}
		if err := s.DeleteService(ctx, "a.shelter", "org-b"); err != nil {
			t.Fatal(err)
		}
		if all, _ := directory.Stored(ctx, s); len(all) != 0 {
			t.Errorf("after delete: %+v", all)
		}
	})
}
