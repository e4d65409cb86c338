package store_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/salama-ke/salama/internal/directory"
	"github.com/salama-ke/salama/internal/seal"
	"github.com/salama-ke/salama/internal/stats"
	"github.com/salama-ke/salama/internal/store"
	"github.com/salama-ke/salama/internal/store/storetest"
)

// statsReport stores a report as reporting does, with the coarse answers
// the statistics read.
func statsReport(t *testing.T, s *store.Store, id, kind string, at time.Time, consent bool, county, age string, cats ...string) {
	t.Helper()
	nr := &store.NewReport{
		Report: store.Report{ID: id, CaseRef: "REF-" + id, Kind: kind, Channel: store.ChannelWeb, OrgID: "org1",
			Status: store.StatusNew, CreatedAt: at, UpdatedAt: at, ConsentStats: consent,
			County: county, AgeBand: age, Categories: cats},
		Fields: map[string]seal.Sealed{"narrative": seal.Sealed("sealed")}, OrgRecipient: "org:org1", OrgWrap: []byte("wrap"),
		ReceiptLookup: []byte("lookup-" + id), ReceiptWrap: []byte("rwrap"), ReceiptVersion: 2,
	}
	if err := s.CreateReport(t.Context(), nr); err != nil {
		t.Fatal(err)
	}
}

func countsText(cs []stats.Count) []string {
	var out []string
	for _, c := range cs {
		out = append(out, fmt.Sprintf("%v %s %s %q %q %d", c.Tip, c.Day.In(stats.EAT).Format("2006-01-02T15:04"),
			strings.Join(c.Categories, "+"), c.County, c.AgeBand, c.N))
	}
	slices.Sort(out)
	return out
}

func TestStatsCounts(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		insertOrg(t, s, "org1")
		// 2025-01-31 21:30 UTC is 1 February 00:30 in Nairobi.
		feb1 := time.Date(2025, 1, 31, 21, 30, 0, 0, time.UTC)
		jan31 := time.Date(2025, 1, 31, 20, 59, 0, 0, time.UTC)

		statsReport(t, s, "a1", store.KindReport, feb1, true, "nairobi", "16-17", "sextortion", "advertised")
		statsReport(t, s, "a2", store.KindReport, feb1.Add(time.Hour), true, "nairobi", "16-17", "sextortion", "advertised")
		statsReport(t, s, "a3", store.KindReport, jan31, true, "kisumu", "", "trafficking")
		statsReport(t, s, "tip", store.KindTip, feb1, true, "mombasa", "", "advertised")
		// Not counted: no consent; a referral's copy of a counted report.
		statsReport(t, s, "no", store.KindReport, feb1, false, "nairobi", "16-17", "sextortion")
		statsReport(t, s, "copy", "referral", feb1, true, "nairobi", "16-17", "sextortion", "advertised")
		// Withdrawn: with consent it stays in the counts with its coarse
		// answers; without, it is gone from them (and its answers blanked).
		statsReport(t, s, "wd", store.KindReport, feb1, true, "lamu", "13-15", "sexual_violence")
		statsReport(t, s, "wdno", store.KindReport, feb1, false, "lamu", "13-15", "sexual_violence")
		for _, id := range []string{"wd", "wdno"} {
			if err := s.Withdraw(ctx, id, feb1.Add(24*time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
		// Outside the range asked for.
		statsReport(t, s, "late", store.KindReport, time.Date(2025, 3, 1, 0, 0, 0, 0, stats.EAT), true, "nairobi", "", "other")
		statsReport(t, s, "early", store.KindReport, time.Date(2024, 12, 31, 23, 59, 0, 0, stats.EAT), true, "nairobi", "", "other")

		from, to := time.Date(2025, 1, 1, 0, 0, 0, 0, stats.EAT), time.Date(2025, 3, 1, 0, 0, 0, 0, stats.EAT)
		got, err := s.StatsCounts(ctx, from, to)
		if err != nil {
			t.Fatal(err)
		}
		want := []string{
			`false 2025-01-31T00:00 trafficking "kisumu" "" 1`,
			`false 2025-02-01T00:00 sextortion+advertised "nairobi" "16-17" 2`,
			`false 2025-02-01T00:00 sexual_violence "lamu" "13-15" 1`,
			`true 2025-02-01T00:00 advertised "mombasa" "" 1`,
		}
		if g := countsText(got); !slices.Equal(g, want) {
			t.Errorf("StatsCounts =\n%s\nwant\n%s", strings.Join(g, "\n"), strings.Join(want, "\n"))
		}

		first, err := s.StatsFirst(ctx)
		if err != nil || !first.Equal(time.Date(2024, 12, 31, 23, 59, 0, 0, stats.EAT)) {
			t.Errorf("StatsFirst = %v, %v", first, err)
		}
	})
}

func TestStatsWaits(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		insertOrg(t, s, "org1")
		if first, err := s.StatsFirst(ctx); err != nil || !first.IsZero() {
			t.Errorf("StatsFirst on an empty database = %v, %v", first, err)
		}
		day := time.Date(2025, 5, 6, 9, 0, 0, 0, stats.EAT)
		for i, wait := range []time.Duration{90 * time.Minute, 90*time.Minute + 59*time.Second, 26 * time.Hour, -1} {
			id := fmt.Sprint("w", i)
			statsReport(t, s, id, store.KindReport, day, true, "", "")
			if wait < 0 {
				continue // never answered
			}
			err := s.AddCaseworkerMessage(ctx, &store.Message{ID: id + "m", ReportID: id, UserID: "u", CreatedAt: day.Add(wait), Sealed: seal.Sealed("x")})
			if err != nil {
				t.Fatal(err)
			}
		}
		statsReport(t, s, "tip", store.KindTip, day, true, "", "")    // tips have no wait
		statsReport(t, s, "no", store.KindReport, day, false, "", "") // not counted
		statsReport(t, s, "copy", "referral", day, true, "", "")      // a copy
		got, err := s.StatsWaits(ctx, day.Add(-time.Hour), day.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		var g []string
		for _, w := range got {
			g = append(g, fmt.Sprintf("%s %d %v %d", w.Day.Format("2006-01-02T15:04"), w.Minutes, w.Answered, w.N))
		}
		slices.Sort(g)
		want := []string{"2025-05-06T00:00 0 false 1", "2025-05-06T00:00 1560 true 1", "2025-05-06T00:00 90 true 2"}
		if !slices.Equal(g, want) {
			t.Errorf("StatsWaits = %v, want %v", g, want)
		}
	})
}

// Referrals are counted for counted reports only, by the service's type
// (a built-in national line too, and a service deleted since as ""), by
// day in Nairobi and by state, with whether consent was given.
func TestStatsReferrals(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		insertOrg(t, s, "org1")
		now := time.Date(2025, 6, 1, 12, 0, 0, 0, stats.EAT)
		svc := directory.Service{ID: "org1.shelter", OrgID: "org1", Name: "Shelter", Type: directory.TypeShelter,
			Counties: []string{"nairobi"}, Ages: directory.AgesAll, Channels: directory.Channels{Phone: "0700 000 001"}}
		if err := directory.Create(ctx, s, svc, now); err != nil {
			t.Fatal(err)
		}
		statsReport(t, s, "yes", store.KindReport, now, true, "nairobi", "18-24", "sextortion")
		statsReport(t, s, "no", store.KindReport, now, false, "nairobi", "18-24", "sextortion")
		n := 0
		refer := func(report, service, state, consent string, at time.Time) {
			n++
			r := &store.Referral{ID: fmt.Sprint("ref", n), ReportID: report, FromOrg: "org1", ServiceID: service, State: state,
				Consent: consent, CreatedBy: "u", CreatedAt: at, UpdatedAt: at}
			if err := s.CreateReferral(ctx, r, nil); err != nil {
				t.Fatal(err)
			}
		}
		refer("yes", "org1.shelter", store.ReferralAccepted, "survivor", now)
		refer("yes", "org1.shelter", store.ReferralAccepted, "survivor", now.Add(time.Hour))
		refer("yes", "org1.shelter", store.ReferralAwaitingConsent, "", now)
		refer("yes", directory.LineGBV1195, store.ReferralDeclined, "phone", now)
		refer("yes", "gone.service", store.ReferralCompleted, "override", now)
		refer("no", "org1.shelter", store.ReferralAccepted, "survivor", now) // not counted: no consent to count
		refer("yes", "org1.shelter", store.ReferralSent, "survivor", now.AddDate(0, 1, 0))

		got, err := stats.FromStore(s).StatsReferrals(ctx, now.AddDate(0, 0, -1), now.AddDate(0, 0, 1))
		if err != nil {
			t.Fatal(err)
		}
		var g []string
		for _, r := range got {
			g = append(g, fmt.Sprintf("%s %q %s %v %d", r.Day.Format("2006-01-02"), r.Type, r.State, r.Consented, r.N))
		}
		slices.Sort(g)
		want := []string{
			`2025-06-01 "" completed true 1`,
			`2025-06-01 "helpline" declined true 1`,
			`2025-06-01 "shelter" accepted true 2`,
			`2025-06-01 "shelter" awaiting_consent false 1`,
		}
		if !slices.Equal(g, want) {
			t.Errorf("StatsReferrals =\n%s\nwant\n%s", strings.Join(g, "\n"), strings.Join(want, "\n"))
		}
	})
}

// The ledger of published statistics: records are stored all or none,
// never twice, and the threshold in use is the newest record's.
func TestStatsLedger(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		if k, err := s.StatsLastK(ctx); k != 0 || err != nil {
			t.Errorf("StatsLastK on nothing = %d, %v", k, err)
		}
		at := time.Date(2025, 3, 1, 0, 0, 0, 0, stats.EAT)
		feb := stats.Record{Period: "2025-02", Year: 2025, K: 5, Data: []byte(`{"month":"2025-02"}`), At: at}
		if err := s.StatsPublish(ctx, []stats.Record{feb}); err != nil {
			t.Fatal(err)
		}
		mar := stats.Record{Period: "2025-03", Year: 2025, K: 3, Data: []byte(`{"month":"2025-03"}`), At: at.AddDate(0, 1, 0)}
		// A batch with a period already published stores nothing.
		feb2 := feb
		feb2.Data = []byte(`{"changed":true}`)
		if err := s.StatsPublish(ctx, []stats.Record{mar, feb2}); !errors.Is(err, stats.ErrPublished) {
			t.Fatalf("publishing February again: %v", err)
		}
		recs, err := s.StatsPublished(ctx, 2025)
		if err != nil || len(recs) != 1 || string(recs[0].Data) != `{"month":"2025-02"}` || recs[0].K != 5 || !recs[0].At.Equal(at) {
			t.Fatalf("after a refused batch: %+v, %v", recs, err)
		}
		if err := s.StatsPublish(ctx, []stats.Record{mar}); err != nil {
			t.Fatal(err)
		}
		if k, err := s.StatsLastK(ctx); k != 3 || err != nil {
			t.Errorf("StatsLastK = %d, %v; want 3, the newest", k, err)
		}
		if recs, _ := s.StatsPublished(ctx, 2024); len(recs) != 0 {
			t.Errorf("2024 has %d records", len(recs))
		}

		if from, to, err := s.StatsKChange(ctx); from != 0 || to != 0 || err != nil {
			t.Errorf("StatsKChange before any = %d, %d, %v", from, to, err)
		}
		for _, c := range [][2]int{{5, 3}, {3, 10}} {
			if err := s.SetStatsKChange(ctx, c[0], c[1]); err != nil {
				t.Fatal(err)
			}
			if from, to, err := s.StatsKChange(ctx); from != c[0] || to != c[1] || err != nil {
				t.Errorf("StatsKChange = %d, %d, %v; want %v", from, to, err, c)
			}
		}
	})
}
