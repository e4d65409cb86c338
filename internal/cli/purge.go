package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"text/tabwriter"
	"time"

	"github.com/salama-ke/salama/internal/app"
	"github.com/salama-ke/salama/internal/audit"
	"github.com/salama-ke/salama/internal/retention"
	"github.com/salama-ke/salama/internal/store"
)

// retentionDays are the retention flags, shared by serve and purge.
type retentionDays struct {
	Closed   int // --retain-closed-days
	Escalate int // --escalate-unopened-days
	Purge    int // --purge-unopened-days
}

func (f flags) retention(r *retentionDays) {
	d := retention.DefaultPolicy
	f.integer(&r.Closed, "retain-closed-days", int(d.RetainClosed/retention.Day),
		"purge a closed report this many days after its last activity (case change, message, note, referral); 0 keeps closed reports")
	f.integer(&r.Escalate, "escalate-unopened-days", int(d.EscalateUnopened/retention.Day),
		"escalate a report nobody in its organisation has opened after this many days (audit entry, console flag, warning in the log); 0 never")
	f.integer(&r.Purge, "purge-unopened-days", int(d.PurgeUnopened/retention.Day),
		"purge a report nobody has opened after this many days; 0 keeps them")
}

// policy is the retention policy the flags give, checked.
func (r retentionDays) policy() (retention.Policy, error) {
	p := retention.Policy{
		RetainClosed:     time.Duration(r.Closed) * retention.Day,
		EscalateUnopened: time.Duration(r.Escalate) * retention.Day,
		PurgeUnopened:    time.Duration(r.Purge) * retention.Day,
	}
	if r.Closed < 0 || r.Escalate < 0 || r.Purge < 0 {
		return p, fmt.Errorf("%w: days must be 0 or more", retention.ErrPolicy)
	}
	return p, p.Validate()
}

// runJobs runs the app's job worker until ctx ends. If the worker cannot
// start (the database is unreachable), it tries again: retention must not
// stop quietly while the site keeps serving.
func runJobs(ctx context.Context, a *app.App, log *slog.Logger) {
	// This instance's own work (audit checkpoint, disk space) runs beside
	// the jobs and ends with them.
	instanceDone := make(chan struct{})
	go func() {
		defer close(instanceDone)
		a.RunInstance(ctx)
	}()
	defer func() { <-instanceDone }()
	for {
		err := a.Jobs.Run(ctx)
		if ctx.Err() != nil {
			return
		}
		log.Error("jobs: worker stopped; restarting in 30 s", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(30 * time.Second):
		}
	}
}

const purgeUsage = `Usage: salama purge [--dry-run] [flags]

Applies the retention policy now, as the server does every hour: escalates
reports nobody opened, and purges closed reports past their retention and
unopened reports past theirs. Purging destroys a report's content exactly as
a survivor's withdrawal does (every wrap of its key, all ciphertext, its
identifier index rows); what the survivor agreed could be counted stays.
Every escalation and purge is in the audit log.

With --dry-run it lists what would happen (case reference, organisation,
age, why) and changes nothing. The policy comes from the same flags and
SALAMA_* variables as salama serve: run it with the server's settings.
`

func purgeCmd(args []string, stdout, stderr io.Writer) error {
	f := newFlags("purge", stderr)
	c := f.common()
	dryRun := f.Bool("dry-run", false, "list what would be escalated and purged, and change nothing")
	f.retention(&c.Retention)
	f.usage(purgeUsage)
	if err := f.parseAll(args); err != nil {
		return err
	}
	policy, err := c.Retention.policy()
	if err != nil {
		return err
	}
	ctx, st, done, err := c.openStore(false)
	if err != nil {
		return err
	}
	defer done()

	cfg := retention.Config{Store: st, Policy: policy, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if !*dryRun {
		// Purges are signed into the audit log with the server's key:
		// never make a new one here, which would break the chain.
		key, err := c.signingKey("purging signs the audit log with the server's key")
		if err != nil {
			return err
		}
		cfg.Audit = audit.New(st, key, nil)
	}
	svc, err := retention.New(cfg)
	if err != nil {
		return err
	}
	names := orgNames(ctx, st)

	fmt.Fprintf(stdout, "Retention policy: %s.\n", policy)
	if *dryRun {
		plan, err := svc.Plan(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Dry run at %s: %d to escalate, %d to purge. Nothing was changed.\n",
			plan.At.Format(time.RFC3339), len(plan.Escalate), len(plan.Purge))
		printItems(stdout, append(plan.Escalate, plan.Purge...), names)
		if len(plan.Escalate)+len(plan.Purge) > 0 {
			fmt.Fprintln(stdout, "\nRun `salama purge` without --dry-run to do this now; the server does it every hour.")
		}
		return nil
	}
	res, err := svc.Run(ctx)
	if res != nil {
		fmt.Fprintf(stdout, "Escalated %d, purged %d.\n", len(res.Escalated), len(res.Purged))
		printItems(stdout, append(res.Escalated, res.Purged...), names)
	}
	return err
}

func printItems(w io.Writer, items []retention.Item, names map[string]string) {
	if len(items) == 0 {
		return
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ACTION\tCASE\tORGANISATION\tKIND\tSTATUS\tRECEIVED\tWHY")
	for _, it := range items {
		org := names[it.OrgID]
		if org == "" {
			org = it.OrgID
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", it.Action, it.CaseRef, org, it.Kind, it.Status,
			it.CreatedAt.Format("2006-01-02"), it.Why)
	}
	tw.Flush()
}

func orgNames(ctx context.Context, st *store.Store) map[string]string {
	names := map[string]string{}
	orgs, err := st.Organisations(ctx)
	if err != nil {
		return names
	}
	for _, o := range orgs {
		names[o.ID] = o.Name
	}
	return names
}
