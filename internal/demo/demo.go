// Package demo builds the example network behind `salama serve --demo`:
// organisations whose names say they are examples, their services, and the
// real national lines that every deployment shows. It never runs unless the
// operator asked for the demo, and never on a database that already has
// organisations.
package demo

import (
	"context"
	"fmt"
	"time"

	"github.com/salama-ke/salama/internal/directory"
	"github.com/salama-ke/salama/internal/orgs"
	"github.com/salama-ke/salama/internal/seal"
	"github.com/salama-ke/salama/internal/store"
)

// Seeded says what the demo created.
type Seeded struct {
	Orgs []orgs.Created
}

// Seed creates the example network if the database has no organisation yet.
// It returns nil, nil when there was already a network.
func Seed(ctx context.Context, st *store.Store, kdf *seal.KDF, params seal.KDFParams, now time.Time) (*Seeded, error) {
	existing, err := st.Organisations(ctx)
	if err != nil {
		return nil, err
	}
	if len(existing) > 0 {
		return nil, nil
	}
	out := &Seeded{}
	for _, d := range directory.DemoNetwork() {
		c, err := orgs.Create(ctx, st, kdf, params, orgs.New{Name: d.Name, Intake: d.Intake, ChildProtection: d.ChildProtection}, now)
		if err != nil {
			return nil, fmt.Errorf("demo organisation %s: %w", d.Slug, err)
		}
		for _, svc := range d.Services {
			svc.OrgID = c.Org.ID
			if err := svc.Validate(); err != nil {
				return nil, fmt.Errorf("demo service %s: %w", svc.ID, err)
			}
			if err := st.PutService(ctx, svc, now); err != nil {
				return nil, err
			}
		}
		out.Orgs = append(out.Orgs, *c)
	}
	return out, nil
}
