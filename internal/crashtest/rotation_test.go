package crashtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/salama-ke/salama/internal/app"
	"github.com/salama-ke/salama/internal/orgs"
	"github.com/salama-ke/salama/internal/seal"
	"github.com/salama-ke/salama/internal/store"
	"github.com/salama-ke/salama/internal/store/storetest"
	"github.com/salama-ke/salama/internal/testkit"
)

// rotationReports is how many reports the rotated organisation holds: enough
// that re-wrapping them takes seconds, so the kill lands in the middle.
const rotationReports = 3000

var recoveryRE = regexp.MustCompile(`\((org_[0-9a-f]+)\): ([A-Z0-9-]{39})`)

// TestKillDuringKeyRotation: `salama org rotate-key` is killed with SIGKILL
// while it re-wraps an organisation's reports to the new key. Every report
// still opens with the new key (through the chain for those not yet
// re-wrapped), and a server started afterwards finishes the job from where
// the kill left it, after which the old key is gone.
func TestKillDuringKeyRotation(t *testing.T) {
	eachEngine(t, func(t *testing.T, bin string, db storetest.DB, dataDir string) {
		ctx, cancel := context.WithTimeout(t.Context(), 6*time.Minute)
		defer cancel()

		// The demo network, made by the real server.
		srv := startServer(t, ctx, bin, dataDir, db.DSN)
		srv.stop(t)
		creds, err := os.ReadFile(filepath.Join(dataDir, "demo-credentials.txt"))
		if err != nil {
			t.Fatal(err)
		}
		core, err := app.OpenCore(ctx, &app.Options{DataDir: dataDir, Database: db.DSN})
		if err != nil {
			t.Fatal(err)
		}
		defer core.Close()
		st := core.Store
		var org *store.Organisation
		var code string
		for _, m := range recoveryRE.FindAllStringSubmatch(string(creds), -1) {
			o, err := st.Organisation(ctx, m[1])
			if err == nil && o.Intake {
				org, code = o, m[2]
			}
		}
		if org == nil {
			t.Fatalf("no intake organisation in the demo credentials:\n%s", creds)
		}
		narratives := putReports(t, ctx, st, org, rotationReports)
		recipient := "org:" + org.ID

		// Rotate, and kill the command once some batches are in.
		cmd := exec.Command(bin, "org", "rotate-key", "--org", org.ID, "--data", dataDir)
		if db.DSN != "" {
			cmd.Args = append(cmd.Args, "--database", db.DSN)
		}
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "SALAMA_") {
				cmd.Env = append(cmd.Env, kv)
			}
		}
		cmd.Env = append(cmd.Env, "SALAMA_RECOVERY_CODE="+code)
		out := &testkit.LogBuffer{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		var left int
		for {
			o, err := st.Organisation(ctx, org.ID)
			if err != nil {
				t.Fatal(err)
			}
			if o.KeyGen == 2 {
				if left, err = st.CountStaleReportWraps(ctx, recipient, 2); err != nil {
					t.Fatal(err)
				}
				if left < len(narratives) {
					cmd.Process.Signal(syscall.SIGKILL)
					<-done
					break
				}
			}
			select {
			case err := <-done:
				t.Fatalf("rotate-key finished before the kill (%v):\n%s", err, out.String())
			case <-time.After(5 * time.Millisecond):
			}
		}
		if left, _ = st.CountStaleReportWraps(ctx, recipient, 2); left == 0 {
			t.Fatalf("the kill came after the last batch:\n%s", out.String())
		}
		t.Logf("killed with %d of %d report keys still on the old key", left, len(narratives))

		// Killed mid-way: everything opens with the new key, through
		// the chain where not yet re-wrapped.
		key, err := orgs.Recover(ctx, st, core.KDF, org.ID, code)
		if err != nil {
			t.Fatalf("the recovery code after the kill: %v", err)
		}
		checkAll(t, ctx, st, org.ID, key, narratives)

		// A server started afterwards finishes the job.
		srv = startServer(t, ctx, bin, dataDir, db.DSN)
		deadline := time.Now().Add(3 * time.Minute)
		for {
			chain, err := st.OrgKeyChain(ctx, org.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(chain) == 0 {
				break
			}
			if time.Now().After(deadline) {
				left, _ := st.CountStaleReportWraps(ctx, recipient, 2)
				t.Fatalf("the server did not finish the rotation: %d left\n%s", left, srv.output.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
		srv.stop(t)
		if left, _ := st.CountStaleReportWraps(ctx, recipient, 2); left != 0 {
			t.Errorf("%d report keys still on the old key", left)
		}
		if jc, _ := st.OrgKeyJobCopies(ctx, org.ID); len(jc) != 0 {
			t.Error("the job's copy of the old key outlived the rotation")
		}
		checkAll(t, ctx, st, org.ID, key, narratives)
	})
}

// putReports stores n reports in org, sealed and wrapped as a submission
// is (without a receipt: no argon2id), and returns their narratives by id.
func putReports(t *testing.T, ctx context.Context, st *store.Store, org *store.Organisation, n int) map[string]string {
	t.Helper()
	recipient, err := seal.ParseOrgRecipient(org.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	now := time.Now().UTC()
	for i := range n {
		b := make([]byte, 12)
		rand.Read(b)
		id := hex.EncodeToString(b)
		dk, _ := seal.NewDataKey()
		narrative := fmt.Sprintf("Report %d of the rotation crash test", i)
		nr := &store.NewReport{Report: store.Report{ID: id, CaseRef: strings.ToUpper(id[:4] + "-" + id[4:8]), Kind: store.KindReport,
			Channel: store.ChannelWeb, OrgID: org.ID, Status: store.StatusNew, CreatedAt: now, UpdatedAt: now},
			Fields: map[string]seal.Sealed{}, OrgRecipient: "org:" + org.ID, OrgPublicKey: org.PublicKey}
		if nr.Fields["narrative"], err = dk.Seal(id, "narrative", []byte(narrative)); err != nil {
			t.Fatal(err)
		}
		if nr.OrgWrap, err = recipient.WrapDataKey(dk); err != nil {
			t.Fatal(err)
		}
		dk.Destroy()
		if err := st.CreateReport(ctx, nr); err != nil {
			t.Fatal(err)
		}
		out[id] = narrative
	}
	return out
}

// checkAll opens every report with the organisation's current key, going
// down the chain for wraps of an older generation.
func checkAll(t *testing.T, ctx context.Context, st *store.Store, orgID string, key *seal.OrgIdentity, narratives map[string]string) {
	t.Helper()
	o, err := st.Organisation(ctx, orgID)
	if err != nil {
		t.Fatal(err)
	}
	chain, err := st.OrgKeyChain(ctx, orgID)
	if err != nil {
		t.Fatal(err)
	}
	keys := map[int]*seal.OrgIdentity{o.KeyGen: key}
	for g := o.KeyGen - 1; g >= 1 && chain[g] != nil; g-- {
		if keys[g], err = keys[g+1].UnwrapOrgIdentity(orgID, g, chain[g]); err != nil {
			t.Fatalf("the chain to generation %d: %v", g, err)
		}
	}
	bad := 0
	for id, want := range narratives {
		w, gen, err := st.ReportWrap(ctx, id, "org:"+orgID)
		if err != nil || keys[gen] == nil {
			t.Fatalf("report %s: generation %d, %v", id, gen, err)
		}
		dk, err := keys[gen].UnwrapDataKey(w)
		if err != nil {
			bad++
			continue
		}
		fields, _ := st.ReportFields(ctx, id)
		if got, err := dk.Open(id, "narrative", fields["narrative"]); err != nil || string(got) != want {
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d reports do not open", bad, len(narratives))
	}
}
