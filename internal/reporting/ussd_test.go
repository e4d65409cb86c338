package reporting_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	vocab "github.com/salama-ke/salama/internal/report"

	"github.com/salama-ke/salama/internal/orgs"
	"github.com/salama-ke/salama/internal/reporting"
	"github.com/salama-ke/salama/internal/seal"
	"github.com/salama-ke/salama/internal/store"
	"github.com/salama-ke/salama/internal/store/storetest"
)

// newService is a reporting service over a fresh database with one intake
// organisation, whose key it returns.
func newService(t *testing.T, st *store.Store) (*reporting.Service, *seal.OrgIdentity) {
	t.Helper()
	ctx := t.Context()
	kdf := seal.NewKDF(2)
	now := time.Now()
	c, err := orgs.Create(ctx, st, kdf, seal.TestKDFParams, orgs.New{Name: "Intake", Intake: true}, now)
	if err != nil {
		t.Fatal(err)
	}
	key, err := orgs.Recover(ctx, st, kdf, c.Org.ID, c.RecoveryCode)
	if err != nil {
		t.Fatal(err)
	}
	return reporting.New(reporting.Config{Store: st, KDF: kdf, KDFParams: seal.TestKDFParams,
		ReceiptSalt: bytes.Repeat([]byte{7}, 16), Secret: seal.NewNetworkSecretForTest()}), key
}

func TestSubmitOnceAndOpenWithReceipt(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		svc, orgKey := newService(t, st)
		in := reporting.NewInput(reporting.KindReport)
		in.About, in.What, in.County, in.Danger, in.Help = "me", []string{"advertised"}, "mombasa", "yes", []string{"shelter"}
		seed := []byte("sixteen-byte-seed-for-one-report")

		first, err := svc.SubmitOnce(ctx, in, store.ChannelUSSD, seed)
		if err != nil {
			t.Fatal(err)
		}
		if first.Again || first.Report.Channel != store.ChannelUSSD {
			t.Errorf("first submission: again=%v channel=%q", first.Again, first.Report.Channel)
		}
		// The gateway sends the last request again: same receipt, one report.
		second, err := svc.SubmitOnce(ctx, in, store.ChannelUSSD, seed)
		if err != nil {
			t.Fatal(err)
		}
		if !second.Again || second.Receipt != first.Receipt || second.Report.ID != first.Report.ID {
			t.Errorf("resubmission: again=%v, same receipt %v, same report %v", second.Again, second.Receipt == first.Receipt, second.Report.ID == first.Report.ID)
		}
		other, err := svc.SubmitOnce(ctx, in, store.ChannelUSSD, []byte("another-sixteen-byte-seed-here!!"))
		if err != nil {
			t.Fatal(err)
		}
		if other.Receipt == first.Receipt || other.Report.ID == first.Report.ID {
			t.Error("a different seed gave the same report")
		}
		if _, err := svc.SubmitOnce(ctx, in, store.ChannelUSSD, []byte("short")); err == nil {
			t.Error("a short seed was accepted")
		}

		// Open with the receipt: no session row is written.
		sess, err := svc.OpenWithReceipt(ctx, first.Receipt)
		if err != nil {
			t.Fatal(err)
		}
		defer sess.Close()
		if sess.ReportID != first.Report.ID {
			t.Fatalf("opened %s, want %s", sess.ReportID, first.Report.ID)
		}
		l, err := sess.Latest(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if l.Status != store.StatusNew || l.Newest != nil || l.FromHelpers != 0 {
			t.Errorf("fresh report: %+v", l)
		}

		// A caseworker writes twice (sealed with the organisation key); the
		// survivor replies in between. Latest shows the newest caseworker's.
		dkWrap, _, err := st.ReportWrap(ctx, first.Report.ID, "org:"+first.Report.OrgID)
		if err != nil {
			t.Fatal(err)
		}
		dk, err := orgKey.UnwrapDataKey(dkWrap)
		if err != nil {
			t.Fatal(err)
		}
		defer dk.Destroy()
		at := time.Now().UTC()
		for i, text := range []string{"First note from the helper", "Newest: we can help you today"} {
			id := []string{"m1", "m2"}[i]
			sealed, err := dk.Seal(first.Report.ID, vocab.MessageField(id), []byte(text))
			if err != nil {
				t.Fatal(err)
			}
			if err := st.AddCaseworkerMessage(ctx, &store.Message{ID: id, ReportID: first.Report.ID, CreatedAt: at.Add(time.Duration(i) * time.Minute), Sealed: sealed}); err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				if err := sess.Reply(ctx, "survivor says thanks"); err != nil {
					t.Fatal(err)
				}
			}
		}
		l, err = sess.Latest(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if l.Newest == nil || l.Newest.Text != "Newest: we can help you today" || l.FromHelpers != 2 {
			t.Errorf("Latest = %+v", l)
		}

		// A wrong receipt and a withdrawn report look the same.
		wrong, _ := seal.ParseReceipt("0000 0000 0000 0001")
		if _, err := svc.OpenWithReceipt(ctx, wrong); !errors.Is(err, reporting.ErrNoReport) {
			t.Errorf("wrong receipt: %v", err)
		}
		if err := sess.Withdraw(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.OpenWithReceipt(ctx, first.Receipt); !errors.Is(err, reporting.ErrNoReport) {
			t.Errorf("withdrawn report: %v", err)
		}
	})
}
