package cli

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/salama-ke/salama/internal/store"
)

const jobsUsage = `Usage: salama jobs [--state pending|running|done|failed] [--limit N] [flags]

Lists the background jobs in the database (retention, session expiry,
notifications …), soonest due first: kind, state, when due, attempts and the
last error. A job in state failed gave up after its attempts; its error says
why. It changes nothing.
`

func jobsCmd(args []string, stdout, stderr io.Writer) error {
	f := newFlags("jobs", stderr)
	c := f.common()
	state := f.String("state", "", "only jobs in this state")
	limit := f.Int("limit", 100, "at most this many")
	f.usage(jobsUsage)
	if err := f.parseAll(args); err != nil {
		return err
	}
	switch *state {
	case "", store.JobPending, store.JobRunning, store.JobDone, store.JobFailed:
	default:
		return fmt.Errorf("--state must be pending, running, done or failed")
	}
	ctx, st, done, err := c.openStore(true)
	if err != nil {
		return err
	}
	defer done()
	js, err := st.Jobs(ctx, *state, *limit)
	if err != nil {
		return err
	}
	if len(js) == 0 {
		fmt.Fprintln(stdout, "No jobs.")
		return nil
	}
	now := time.Now()
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tSTATE\tDUE\tEVERY\tATTEMPTS\tLAST ERROR")
	for _, j := range js {
		every := "-"
		if j.Every > 0 {
			every = j.Every.String()
		}
		due := j.RunAt.Local().Format("2006-01-02 15:04:05")
		if j.State == store.JobRunning {
			due = "leased until " + j.LeaseUntil.Local().Format("15:04:05")
		} else if j.State == store.JobPending && !j.RunAt.After(now) {
			due += " (due)"
		}
		last := strings.ReplaceAll(j.LastError, "\n", " ")
		if len(last) > 80 {
			last = last[:77] + "…"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", j.Kind, j.State, due, every, j.Attempts, last)
	}
	return tw.Flush()
}
