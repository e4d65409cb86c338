package directory

import (
	"cmp"
	"slices"

	"github.com/salama-ke/salama/internal/report"
)

// Query is what a directory search knows about the person who needs help.
type Query struct {
	// County is a county slug; CountyOutside matches national services
	// only; "" (not said, or the /help page unfiltered) matches everywhere.
	// Anything else is treated as "".
	County string
	Needs  []report.Need
	// AgeBand is the report's age band, "" when not said.
	AgeBand string
	// Child is true when a child is involved whatever the age band says
	// (a report "about a child" with no band). A child age band implies it.
	Child bool
}

// Match returns the services that can serve q, best first, and is never
// empty.
//
// A service is left out when it cannot serve: it is for adults only and a
// child is involved (or for children only and the person is a known adult),
// or it is neither national nor in q.County. The rest are ranked by:
//  1. meets a wanted need (with no need given, every service does);
//  2. in the county, then national, then elsewhere (only when no county);
//  3. how many of the wanted needs it meets;
//  4. how many it meets by its own type (a children's clinic before a
//     child-protection centre for a child's medical care);
//  5. made for this age (children only for a child, adults only for an adult);
//  6. free before paid;
//  7. the order the services were given in (the sort is stable).
//
// When nothing is left, Match returns the free national lines: Childline
// Kenya 116 then 1195 for a child, 1195 otherwise.
func Match(services []Service, q Query) []Service {
	child := q.Child || report.IsChild(q.AgeBand)
	adult := !child && report.IsAdult(q.AgeBand)
	ranked := rank(services, q.County, q.Needs, child, adult)
	if len(ranked) == 0 {
		return fallback(child)
	}
	out := make([]Service, len(ranked))
	for i, r := range ranked {
		out[i] = cloneService(r.svc)
	}
	return out
}

func fallback(child bool) []Service {
	if child {
		return mustBuiltin(LineChildline116, LineGBV1195)
	}
	return mustBuiltin(LineGBV1195)
}

// Where a service is relative to the county asked for.
const (
	placeInCounty = iota
	placeNational
	placeElsewhere
)

type ranked struct {
	svc    Service
	serves int // how many wanted needs it meets
	direct int // how many of those by its own type
	place  int
	fit    int // 0 made for this age, 1 not
}

// rank filters and orders; it is Match without the fallback, so that Plan can
// apply its own stricter cut first.
func rank(services []Service, county string, needs []report.Need, child, adult bool) []ranked {
	if county != CountyOutside && !isCounty(county) {
		county = CountyNotSaid
	}
	var wanted []report.Need
	for _, n := range needs {
		if _, ok := report.ParseNeed(string(n)); ok && n != report.NeedRecordOnly && !slices.Contains(wanted, n) {
			wanted = append(wanted, n)
		}
	}
	seen := make(map[string]bool, len(services))
	var out []ranked
	for _, s := range services {
		if seen[s.ID] {
			continue
		}
		if _, ok := ParseServiceType(string(s.Type)); !ok {
			continue
		}
		switch {
		case child && !s.Ages.ServesChildren(),
			adult && !s.Ages.ServesAdults(),
			!s.Ages.ServesChildren() && !s.Ages.ServesAdults():
			continue
		}
		r := ranked{svc: s, place: placeElsewhere}
		switch {
		case isCounty(county) && slices.Contains(s.Counties, county):
			r.place = placeInCounty
		case s.National:
			r.place = placeNational
		case county != CountyNotSaid:
			continue // another county, or a local service for someone abroad
		}
		for _, n := range wanted {
			if s.Serves(n, child) {
				r.serves++
			}
			if slices.Contains(needTypes[n], s.Type) {
				r.direct++
			}
		}
		if len(wanted) == 0 {
			r.serves = 1
		}
		if (child && s.Ages != AgesChildren) || (adult && s.Ages != AgesAdults) {
			r.fit = 1
		}
		seen[s.ID] = true
		out = append(out, r)
	}
	slices.SortStableFunc(out, func(a, b ranked) int {
		return cmp.Or(
			cmp.Compare(min(b.serves, 1), min(a.serves, 1)),
			cmp.Compare(a.place, b.place),
			cmp.Compare(b.serves, a.serves),
			cmp.Compare(b.direct, a.direct),
			cmp.Compare(a.fit, b.fit),
			cmpBool(a.svc.Free, b.svc.Free),
		)
	})
	return out
}

// cmpBool puts true first.
func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return -1
	}
	return 1
}
