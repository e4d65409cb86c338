package web_test

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

var cardNameRE = regexp.MustCompile(`<div class="card"><h3>([^<]+)</h3>`)

// resultNames are the services listed under the filter's results.
func resultNames(t *testing.T, body string) []string {
	t.Helper()
	start, end := strings.Index(body, `<section id="results">`), strings.Index(body, `<section id="images">`)
	if start < 0 || end < start {
		t.Fatalf("no results section:\n%s", body)
	}
	var names []string
	for _, m := range cardNameRE.FindAllStringSubmatch(body[start:end], -1) {
		names = append(names, m[1])
	}
	return names
}

// Issue 16 (4): on the help page the national emergency and helpline
// numbers come first, before the filter, whatever it asks; choosing a
// county or a need narrows the list rather than only reordering it.
func TestHelpPageNationalFirstFilterNarrows(t *testing.T) {
	s := newSite(t, newSQLite(t))
	for _, lang := range []string{"en", "sw"} {
		all := s.get("/"+lang+"/help", "").body
		for _, q := range []string{"", "?county=kisumu", "?need=shelter", "?county=mombasa&need=medical"} {
			body := s.get("/"+lang+"/help"+q, "").body
			form := strings.Index(body, `<form method="get"`)
			for _, num := range []string{">999<", ">112<", ">1195<", ">116<"} {
				if i := strings.Index(body, num); i < 0 || i > form {
					t.Errorf("/%s/help%s: %s is not above the filter", lang, q, num)
				}
			}
		}
		every := resultNames(t, all)
		for _, q := range []string{"?county=kisumu", "?need=shelter", "?county=kisumu&need=medical"} {
			got := resultNames(t, s.get("/"+lang+"/help"+q, "").body)
			if len(got) >= len(every) {
				t.Errorf("/%s/help%s lists %d services, as many as with no filter (%d): the filter does not narrow", lang, q, len(got), len(every))
			}
			for _, name := range got {
				if !slices.Contains(every, name) {
					t.Errorf("/%s/help%s lists %q, which the unfiltered page does not", lang, q, name)
				}
			}
		}
	}
}
