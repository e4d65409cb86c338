package console

import (
	"fmt"
	"net/http"
	"time"

	"github.com/salama-ke/salama/internal/diskspace"
	"github.com/salama-ke/salama/internal/health"
	"github.com/salama-ke/salama/internal/staff"
)

// The Health page: organisation admins see, in words, whether this Salama
// is well (internal/health): the database, background jobs, the SMS and
// email providers, the last backup, the disk, the version. Only counts,
// times and kinds of job: no report, address or number, and no provider's
// error text (it can name the number it failed for; `salama jobs` on the
// server shows it to the operator).

// healthLine is one thing checked, said in words.
type healthLine struct {
	What string
	OK   bool
	Text string
}

type healthView struct {
	Lines   []healthLine
	Problem int // how many lines are not OK
	Version string
	At      time.Time
}

func (c *Console) health(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	rep := c.cfg.Health.Check(r.Context())
	v := healthView{Lines: healthLines(rep), Version: rep.Version, At: rep.At}
	for _, l := range v.Lines {
		if !l.OK {
			v.Problem++
		}
	}
	c.render(w, http.StatusOK, "health", &view{Title: "Health", P: p, Data: v})
}

func healthLines(rep *health.Report) []healthLine {
	var ls []healthLine
	if rep.DatabaseOK {
		ls = append(ls, healthLine{"Database", true, "The database answers."})
	} else {
		ls = append(ls, healthLine{"Database", false, "The database does not answer. Reports cannot be sent or read until it does: tell the person who runs the server."})
	}

	waiting, late, failed := int64(0), int64(0), []health.JobKind{}
	for _, j := range rep.Jobs {
		waiting += j.Waiting + j.Running
		if j.Waiting > 0 && rep.At.Sub(j.FirstDue) > 15*time.Minute {
			late += j.Waiting
		}
		if j.Failed > 0 {
			failed = append(failed, j)
		}
	}
	switch {
	case late > 0:
		ls = append(ls, healthLine{"Background work", false, fmt.Sprintf("%s waiting, %d of them for more than 15 minutes: the background worker may be stopped or a provider may be down.", howMany(waiting, "job is", "jobs are"), late)})
	case waiting > 0:
		ls = append(ls, healthLine{"Background work", true, fmt.Sprintf("%s waiting to run (messages, alerts).", howMany(waiting, "job is", "jobs are"))})
	default:
		ls = append(ls, healthLine{"Background work", true, "Nothing is waiting: every message and alert has gone."})
	}
	if len(failed) == 0 {
		ls = append(ls, healthLine{"Failed jobs", true, "No job has failed for good."})
	}
	for _, j := range failed {
		ls = append(ls, healthLine{"Failed jobs", false, fmt.Sprintf("%s of kind “%s” gave up after every retry, the last on %s. Nothing more is tried for %s. The person who runs the server sees why with: salama jobs --state failed",
			howMany(j.Failed, "job", "jobs"), j.Kind, when(j.LastFailed), pronoun(j.Failed))})
	}

	for _, pr := range rep.Providers {
		name := map[string]string{"sms": "SMS provider", "email": "Mail server"}[pr.Name]
		if name == "" {
			name = pr.Name
		}
		switch {
		case pr.Failed == 0 && pr.Sent == 0:
			ls = append(ls, healthLine{name, true, "Nothing sent since the server started."})
		case pr.Failed == 0:
			ls = append(ls, healthLine{name, true, fmt.Sprintf("%s sent since the server started, none failed; the last on %s.", howMany(pr.Sent, "message", "messages"), when(pr.LastSent))})
		default:
			ok := !pr.LastSent.IsZero() && !pr.LastSent.Before(pr.LastFailed)
			text := fmt.Sprintf("%s sent and %s since the server started; the last failure on %s.",
				howMany(pr.Sent, "message", "messages"), howMany(pr.Failed, "attempt failed", "attempts failed"), when(pr.LastFailed))
			if ok {
				text += " It has sent since, so it seems to work again; failed attempts are retried."
			} else {
				text += " Failed attempts are retried for a while; if this goes on, check the provider's account and credit."
			}
			ls = append(ls, healthLine{name, ok, text})
		}
	}

	switch {
	case rep.LastBackup.IsZero():
		ls = append(ls, healthLine{"Backups", false, "No backup has ever been recorded. If the server's disk fails, every report is lost. The person who runs the server sets up salama backup (docs/operating.md)."})
	case rep.BackupOld:
		ls = append(ls, healthLine{"Backups", false, fmt.Sprintf("The last backup was taken on %s, %s ago. Backups should run at least every day.", when(rep.LastBackup), ago(rep.At.Sub(rep.LastBackup)))})
	default:
		ls = append(ls, healthLine{"Backups", true, fmt.Sprintf("The last backup was taken on %s, %s ago.", when(rep.LastBackup), ago(rep.At.Sub(rep.LastBackup)))})
	}

	switch {
	case rep.DiskOff:
		ls = append(ls, healthLine{"Disk space", true, "Salama does not watch the disk here (--min-free-disk 0, or the database is on another server): watch it there."})
	case rep.Disk.Err != nil:
		ls = append(ls, healthLine{"Disk space", false, "The free space on the disk could not be read."})
	case rep.Disk.Low:
		ls = append(ls, healthLine{"Disk space", false, fmt.Sprintf("Only %s free, under the minimum of %s: new reports are refused (survivors are asked to try later, their words kept) until space is freed. Checking reports and replying still work.", diskspace.Bytes(rep.Disk.Free), diskspace.Bytes(rep.Disk.Min))})
	default:
		ls = append(ls, healthLine{"Disk space", true, fmt.Sprintf("%s free; new reports are refused under %s.", diskspace.Bytes(rep.Disk.Free), diskspace.Bytes(rep.Disk.Min))})
	}
	if rep.KDFQueued > 0 {
		ls = append(ls, healthLine{"Load", true, fmt.Sprintf("%s waiting for its turn to open a receipt or a password (each takes about a second).", howMany(int64(rep.KDFQueued), "request is", "requests are"))})
	}
	return ls
}

func howMany(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func pronoun(n int64) string {
	if n == 1 {
		return "it"
	}
	return "them"
}

func when(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.In(eat).Format("2 Jan 2006 at 15:04")
}

func ago(d time.Duration) string {
	switch {
	case d < time.Hour:
		return "less than an hour"
	case d < 48*time.Hour:
		return howMany(int64(d/time.Hour), "hour", "hours")
	}
	return howMany(int64(d/(24*time.Hour)), "day", "days")
}
