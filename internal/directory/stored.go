package directory

import (
	"context"
	"encoding/json"
	"time"

	"github.com/salama-ke/salama/internal/store"
)

// The directory as the store keeps it: each service a store.ServiceRecord
// whose Data is the service's JSON, with its id, organisation and the
// coordinator's child-protection mark in columns of their own. The mark is
// never read from or written to the JSON (Service.ChildProtection is not
// serialised), so an imported file or an admin's edit cannot carry it in;
// only the record's column sets it.

// Stored returns every service of the directory, read from st now (not a
// cache): matching is done in memory over it.
func Stored(ctx context.Context, st *store.Store) ([]Service, error) {
	recs, err := st.ServiceRecords(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Service, 0, len(recs))
	for _, rec := range recs {
		svc, err := fromRecord(rec)
		if err != nil {
			return nil, err
		}
		out = append(out, svc)
	}
	return out, nil
}

// StoredService returns one service; store.ErrNotFound when there is none.
func StoredService(ctx context.Context, st *store.Store, id string) (*Service, error) {
	rec, err := st.ServiceRecord(ctx, id)
	if err != nil {
		return nil, err
	}
	svc, err := fromRecord(*rec)
	return &svc, err
}

// Create adds a service (store.ErrDuplicateKey when its id is taken,
// store.ErrNotFound when its organisation does not exist).
func Create(ctx context.Context, st *store.Store, svc Service, now time.Time) error {
	rec, err := toRecord(svc)
	if err != nil {
		return err
	}
	return st.CreateServiceRecord(ctx, rec, now)
}

// Update replaces a service of fromOrg, its child-protection mark
// included: the caller decides who may set it.
func Update(ctx context.Context, st *store.Store, svc Service, fromOrg string, now time.Time) error {
	rec, err := toRecord(svc)
	if err != nil {
		return err
	}
	return st.UpdateServiceRecord(ctx, rec, fromOrg, now)
}

// Put creates or replaces a service.
func Put(ctx context.Context, st *store.Store, svc Service, now time.Time) error {
	rec, err := toRecord(svc)
	if err != nil {
		return err
	}
	return st.PutServiceRecord(ctx, rec, now)
}

// Replace applies an import in one transaction: the services with the ids
// in remove go, those in put are created or replaced.
func Replace(ctx context.Context, st *store.Store, remove []string, put []Service, now time.Time) error {
	recs := make([]store.ServiceRecord, len(put))
	for i, svc := range put {
		rec, err := toRecord(svc)
		if err != nil {
			return err
		}
		recs[i] = rec
	}
	return st.ReplaceServiceRecords(ctx, remove, recs, now)
}

func toRecord(svc Service) (store.ServiceRecord, error) {
	data, err := json.Marshal(svc)
	return store.ServiceRecord{ID: svc.ID, OrgID: svc.OrgID, ChildProtection: svc.ChildProtection, Data: data}, err
}

func fromRecord(rec store.ServiceRecord) (Service, error) {
	var svc Service
	if err := json.Unmarshal(rec.Data, &svc); err != nil {
		return Service{}, err
	}
	svc.ChildProtection = rec.ChildProtection
	return svc, nil
}
