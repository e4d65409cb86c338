package directory

import (
	"encoding/json"
	"testing"

	"github.com/salama-ke/salama/internal/report"
)

// A directory file comes from outside (import, console edits). Whatever it
// holds, Validate must not panic, and a valid service must keep the rules:
// no child is sent to it when it is for adults only.
func FuzzService(f *testing.F) {
	for _, s := range demoServices() {
		b, _ := json.Marshal(s)
		f.Add(b)
	}
	f.Add([]byte(`{"id":"national.gbv-1195","name":"x","type":"helpline","national":true,"ages":"all","channels":{"phone":"0700"}}`))
	f.Add([]byte(`{"id":"a","org_id":"o","name":"n","type":"shelter","counties":["nairobi"],"ages":"adults","channels":{"website":"javascript:x"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var s Service
		if json.Unmarshal(data, &s) != nil {
			return
		}
		err := s.Validate()
		for _, band := range []string{report.AgeUnder13, report.Age16to17} {
			for _, s2 := range Match([]Service{s}, Query{County: "nairobi", AgeBand: band}) {
				if !s2.Ages.ServesChildren() {
					t.Fatalf("child matched %+v", s2)
				}
			}
		}
		if err != nil {
			return
		}
		if _, ok := s.CatalogKey(); !ok && len(s.ID) >= len(nationalPrefix) && s.ID[:len(nationalPrefix)] == nationalPrefix {
			t.Fatalf("valid service with reserved ID %q is not the built-in", s.ID)
		}
	})
}
