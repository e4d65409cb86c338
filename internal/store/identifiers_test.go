package store_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/salama-ke/salama/internal/seal"
	"github.com/salama-ke/salama/internal/store"
	"github.com/salama-ke/salama/internal/store/storetest"
)

// newReportWith stores a report through CreateReport, as reporting does,
// with the given blind index and attachments.
func newReportWith(t *testing.T, s *store.Store, id, orgID string, at time.Time, blind []store.BlindID, atts ...store.NewAttachment) {
	t.Helper()
	nr := &store.NewReport{
		Report: store.Report{ID: id, CaseRef: "REF-" + id, Kind: store.KindReport, Channel: store.ChannelWeb, OrgID: orgID,
			Status: store.StatusNew, CreatedAt: at, UpdatedAt: at, ConsentMatch: len(blind) > 0},
		Fields: map[string]seal.Sealed{}, Attachments: atts, OrgRecipient: "org:" + orgID, OrgWrap: []byte("wrap"),
		ReceiptLookup: []byte("lookup-" + id), ReceiptWrap: []byte("rwrap"), ReceiptVersion: 2, Blind: blind,
	}
	if err := s.CreateReport(t.Context(), nr); err != nil {
		t.Fatal(err)
	}
}

func blindID(kind, v string) store.BlindID {
	return store.BlindID{Kind: kind, Blind: []byte(fmt.Sprintf("%-32s", kind+"="+v))}
}

func TestMatches(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		for _, o := range []string{"orgA", "orgB", "orgC"} {
			insertOrg(t, s, o)
		}
		pimp, other, handle := blindID("phone", "+254712345678"), blindID("phone", "+254799999999"), blindID("handle:telegram", "kibanda")
		// The same hash under another kind is another identifier.
		sameBytesOtherKind := store.BlindID{Kind: "link", Blind: pimp.Blind}
		t0 := time.Unix(1700000000, 0).UTC()
		newReportWith(t, s, "r1", "orgA", t0, []store.BlindID{pimp, handle, pimp}) // one number typed twice
		newReportWith(t, s, "r2", "orgB", t0.Add(time.Hour), []store.BlindID{pimp})
		newReportWith(t, s, "r3", "orgB", t0.Add(2*time.Hour), []store.BlindID{pimp, other})
		newReportWith(t, s, "r4", "orgC", t0.Add(3*time.Hour), []store.BlindID{other, sameBytesOtherKind})
		newReportWith(t, s, "r5", "orgA", t0.Add(4*time.Hour), nil) // no consent to matching

		got, err := s.Matches(ctx, "r1")
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{
			"phone":           "2 [orgB]",
			"handle:telegram": "0 []",
		}
		if len(got) != len(want) {
			t.Fatalf("Matches(r1) = %+v", got)
		}
		for _, m := range got {
			if s := fmt.Sprintf("%d %v", m.Reports, m.OrgIDs); s != want[m.Kind] {
				t.Errorf("r1 %s: %s, want %s", m.Kind, s, want[m.Kind])
			}
		}
		got, err = s.Matches(ctx, "r3")
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range got {
			switch {
			case bytes.Equal(m.Blind, pimp.Blind) && (m.Reports != 2 || fmt.Sprint(m.OrgIDs) != "[orgA orgB]"):
				t.Errorf("r3 pimp: %+v", m)
			case bytes.Equal(m.Blind, other.Blind) && (m.Reports != 1 || fmt.Sprint(m.OrgIDs) != "[orgC]"):
				t.Errorf("r3 other: %+v", m)
			}
		}
		if got, err := s.Matches(ctx, "r5"); err != nil || len(got) != 0 {
			t.Errorf("report without a blind index: %+v, %v", got, err)
		}

		// Coordinators: identifiers in two or more reports.
		cl, err := s.Clusters(ctx, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(cl) != 2 {
			t.Fatalf("Clusters = %+v", cl)
		}
		if c := cl[0]; !bytes.Equal(c.Blind, pimp.Blind) || c.Kind != "phone" || c.Reports != 3 || c.PerOrg["orgA"] != 1 || c.PerOrg["orgB"] != 2 || !c.Latest.Equal(t0.Add(2*time.Hour)) {
			t.Errorf("first cluster %+v", c)
		}
		if c := cl[1]; !bytes.Equal(c.Blind, other.Blind) || c.Reports != 2 || len(c.PerOrg) != 2 {
			t.Errorf("second cluster %+v", c)
		}
		if cl, err := s.Clusters(ctx, 3); err != nil || len(cl) != 1 {
			t.Errorf("Clusters(3) = %+v, %v", cl, err)
		}

		// Withdrawal takes a report out of every count.
		if err := s.Withdraw(ctx, "r2", t0.Add(5*time.Hour)); err != nil {
			t.Fatal(err)
		}
		got, err = s.Matches(ctx, "r1")
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range got {
			if m.Kind == "phone" && (m.Reports != 1 || fmt.Sprint(m.OrgIDs) != "[orgB]") {
				t.Errorf("after withdrawal: %+v", m)
			}
		}
	})
}

// A failed report creation leaves no blind index behind.
func TestIdentifiersInReportTransaction(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		insertOrg(t, s, "orgA")
		id := blindID("phone", "+254712345678")
		at := time.Unix(1700000000, 0).UTC()
		newReportWith(t, s, "r1", "orgA", at, []store.BlindID{id})
		nr := &store.NewReport{
			Report:       store.Report{ID: "r2", CaseRef: "REF-r1", OrgID: "orgA", Kind: "report", Channel: "web", Status: "new", CreatedAt: at, UpdatedAt: at},
			OrgRecipient: "org:orgA", OrgWrap: []byte("w"), ReceiptLookup: []byte("l2"), ReceiptWrap: []byte("w"), ReceiptVersion: 2, Blind: []store.BlindID{id},
		}
		if err := s.CreateReport(t.Context(), nr); err == nil {
			t.Fatal("a duplicate case reference was stored")
		}
		if m, err := s.Matches(context.Background(), "r1"); err != nil || len(m) != 1 || m[0].Reports != 0 {
			t.Errorf("the failed report left rows: %+v, %v", m, err)
		}
	})
}

func TestAttachmentDisplay(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		insertOrg(t, s, "orgA")
		newReportWith(t, s, "r1", "orgA", time.Unix(1700000000, 0), nil,
			store.NewAttachment{ID: "a1", Sealed: seal.Sealed("original-1"), Display: seal.Sealed("display-1")},
			store.NewAttachment{ID: "a2", Sealed: seal.Sealed("original-2")})
		if d, err := s.AttachmentDisplay(ctx, "r1", "a1"); err != nil || string(d) != "display-1" {
			t.Errorf("a1: %q, %v", d, err)
		}
		if d, err := s.AttachmentDisplay(ctx, "r1", "a2"); err != nil || d != nil {
			t.Errorf("a2 (no display copy): %q, %v", d, err)
		}
		if _, err := s.AttachmentDisplay(ctx, "other", "a1"); err != store.ErrNotFound {
			t.Errorf("another report's attachment: %v", err)
		}
		atts, err := s.Attachments(ctx, "r1")
		if err != nil || len(atts) != 2 || string(atts[0].Sealed) != "original-1" {
			t.Errorf("originals: %+v, %v", atts, err)
		}
	})
}
