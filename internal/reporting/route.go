package reporting

import (
	"errors"
	"slices"

	"github.com/salama-ke/salama/internal/directory"
	"github.com/salama-ke/salama/internal/store"
)

// ErrNoIntake means the network has no intake organisation: a deployment
// error, reported at start-up by the server.
var ErrNoIntake = errors.New("reporting: the network has no intake organisation")

// Route picks the one organisation that receives a new report. A child's
// report goes to a child-protection organisation that serves the county (or
// the whole country), then to any child-protection organisation; everything
// else, and anything no rule claims, goes to the network's intake
// organisation.
func Route(in Input, orgs []store.Organisation, svcs []directory.Service) (*store.Organisation, error) {
	byID := map[string]*store.Organisation{}
	var intake, anyChild *store.Organisation
	for i := range orgs {
		o := &orgs[i]
		byID[o.ID] = o
		if o.Intake && intake == nil {
			intake = o
		}
		if o.ChildProtection && anyChild == nil {
			anyChild = o
		}
	}
	if in.Child() {
		var national *store.Organisation
		for _, s := range svcs {
			o := byID[s.OrgID]
			if o == nil || !o.ChildProtection || s.Type != directory.TypeChildProtection {
				continue
			}
			if slices.Contains(s.Counties, in.County) {
				return o, nil
			}
			if s.National && national == nil {
				national = o
			}
		}
		if national != nil {
			return national, nil
		}
		if anyChild != nil {
			return anyChild, nil
		}
	}
	if intake == nil {
		return nil, ErrNoIntake
	}
	return intake, nil
}
