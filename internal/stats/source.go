package stats

import (
	"context"
	"time"

	"github.com/salama-ke/salama/internal/directory"
	"github.com/salama-ke/salama/internal/store"
)

// FromStore is the store as the figures' Source. The store counts
// referrals by service; the figures count them by the service's type in
// the directory as it is now (a service edited or deleted since counts
// under its new type, or as no longer listed), which this looks up.
func FromStore(st *store.Store) Source { return storeSource{st} }

type storeSource struct{ *store.Store }

func (s storeSource) StatsReferrals(ctx context.Context, from, to time.Time) ([]Referral, error) {
	rows, err := s.Store.StatsReferrals(ctx, from, to)
	if err != nil || len(rows) == 0 {
		return nil, err
	}
	svcs, err := directory.Stored(ctx, s.Store)
	if err != nil {
		return nil, err
	}
	types := map[string]string{}
	for _, list := range [][]directory.Service{svcs, directory.NationalLines(), directory.ImageRemovalTools()} {
		for _, svc := range list {
			types[svc.ID] = string(svc.Type)
		}
	}
	out := make([]Referral, 0, len(rows))
	for _, r := range rows {
		out = append(out, Referral{Day: r.Day, Type: types[r.ServiceID], State: r.State, Consented: r.Consented, N: r.N})
	}
	return out, nil
}
