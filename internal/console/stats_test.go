package console_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/salama-ke/salama/internal/directory"

	"github.com/salama-ke/salama/internal/locale"
	"github.com/salama-ke/salama/internal/seal"
	"github.com/salama-ke/salama/internal/stats"
	"github.com/salama-ke/salama/internal/store"
)

// Coordinators see the network's figures, with the same suppression as the
// public page, whether or not that page is on; caseworkers do not.
func TestNetworkStats(t *testing.T) {
	s := sqliteSite(t)
	// Forty days ago is in a month that is over.
	at := s.Clock.Now().Add(-40 * 24 * time.Hour).In(stats.EAT)
	org := s.IntakeOrg().Org
	for i := range 6 {
		id := fmt.Sprintf("%032x", i+1)
		nr := &store.NewReport{
			Report: store.Report{ID: id, CaseRef: fmt.Sprintf("ST%02d-TEST", i), Kind: store.KindReport, Channel: store.ChannelWeb, OrgID: org.ID,
				Status: store.StatusNew, CreatedAt: at, UpdatedAt: at, ConsentStats: true, County: "nairobi", AgeBand: "18-24", Categories: []string{"sextortion"}},
			Fields: map[string]seal.Sealed{"narrative": seal.Sealed("sealed")}, OrgRecipient: "org:" + org.ID, OrgWrap: []byte("wrap"),
			ReceiptLookup: []byte("lookup-" + id), ReceiptWrap: []byte("rwrap"), ReceiptVersion: 2,
		}
		if err := s.App.Store.CreateReport(s.Ctx(), nr); err != nil {
			t.Fatal(err)
		}
	}
	path := fmt.Sprintf("/console/network/stats?year=%d", at.Year())
	month := at.Format("January 2006")

	coord := s.login(t, "demo-coordinator")
	r := coord.get(path)
	if r.StatusCode != 200 || !r.has("Network statistics") {
		t.Fatalf("coordinator: %d\n%s", r.StatusCode, r.body)
	}
	if !strings.Contains(r.body, `<th scope="row">`+month+`</th><td>6</td>`) {
		t.Errorf("the month of the six reports does not show 6:\n%s", r.body)
	}
	if strings.Contains(r.body, " style=") {
		t.Error("a style attribute: the Content-Security-Policy forbids it")
	}
	csv := coord.get(path + "&format=csv")
	if !strings.HasPrefix(csv.Header.Get("Content-Type"), "text/csv") ||
		!strings.Contains(csv.body, fmt.Sprintf("month,%d,%s,%s,reports,Reports,6", at.Year(), at.Format("2006-01"), month)) {
		t.Errorf("CSV: %s\n%s", csv.Header.Get("Content-Type"), csv.body)
	}
	if r := coord.get("/console/network/stats?year=1990"); r.StatusCode != http.StatusNotFound {
		t.Errorf("a year without figures: %d", r.StatusCode)
	}

	cw := s.login(t, "demo-caseworker")
	if r := cw.get(path); r.StatusCode != http.StatusNotFound || strings.Contains(r.body, "<table") {
		t.Errorf("caseworker: %d", r.StatusCode)
	}
}

// A year that is over shows its referrals by type of service, with the same
// suppression, on the page and in the CSV.
func TestNetworkStatsReferrals(t *testing.T) {
	s := sqliteSite(t)
	now := s.Clock.Now().In(stats.EAT)
	year := now.Year() - 1
	at := time.Date(year, 3, 10, 10, 0, 0, 0, stats.EAT)
	org := s.IntakeOrg().Org
	svcs, err := directory.Stored(s.Ctx(), s.App.Store)
	if err != nil || len(svcs) == 0 {
		t.Fatalf("services: %v", err)
	}
	svc := svcs[0]
	for i := range 10 {
		id := fmt.Sprintf("%032x", 100+i)
		nr := &store.NewReport{
			Report: store.Report{ID: id, CaseRef: fmt.Sprintf("RF%02d-TEST", i), Kind: store.KindReport, Channel: store.ChannelWeb, OrgID: org.ID,
				Status: store.StatusNew, CreatedAt: at, UpdatedAt: at, ConsentStats: true, County: "nairobi", AgeBand: "18-24", Categories: []string{"sextortion"}},
			Fields: map[string]seal.Sealed{"narrative": seal.Sealed("sealed")}, OrgRecipient: "org:" + org.ID, OrgWrap: []byte("wrap"),
			ReceiptLookup: []byte("lookup-" + id), ReceiptWrap: []byte("rwrap"), ReceiptVersion: 2,
		}
		if err := s.App.Store.CreateReport(s.Ctx(), nr); err != nil {
			t.Fatal(err)
		}
		state := store.ReferralAccepted
		if i >= 5 {
			state = store.ReferralCompleted
		}
		ref := &store.Referral{ID: fmt.Sprint("rf", i), ReportID: id, FromOrg: org.ID, ServiceID: svc.ID, State: state, Consent: "survivor",
			CreatedBy: "u", CreatedAt: at.Add(time.Hour), UpdatedAt: at.Add(time.Hour)}
		if err := s.App.Store.CreateReferral(s.Ctx(), ref, nil); err != nil {
			t.Fatal(err)
		}
	}
	coord := s.login(t, "demo-coordinator")
	path := fmt.Sprintf("/console/network/stats?year=%d", year)
	r := coord.get(path)
	label := locale.MustLoad().Printer(locale.English).T("servicetype." + string(svc.Type))
	if r.StatusCode != 200 || !r.has(fmt.Sprintf("Reports passed to other services, %d", year)) ||
		!strings.Contains(r.body, `<th scope="row">`+label+`</th><td>10</td><td>10</td><td>&lt;5</td><td>5</td>`) {
		t.Fatalf("referrals on the console page (%d):\n%s", r.StatusCode, r.body)
	}
	csv := coord.get(path + "&format=csv")
	if want := fmt.Sprintf("referrals,%d,%s,%s,made,Passed on,10", year, svc.Type, label); !strings.Contains(csv.body, want) {
		t.Errorf("CSV lacks %q:\n%s", want, csv.body)
	}
}
