package app

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/salama-ke/salama/internal/jobs"
	"github.com/salama-ke/salama/internal/retention"
	"github.com/salama-ke/salama/internal/staff"
	"github.com/salama-ke/salama/internal/store"
)

// Kinds of the jobs the app itself runs. They are periodic: one row each in
// the jobs table carries the schedule, so across instances each runs once
// per period, and a restart does not run them again early.
const (
	JobExpire     = "expire"            // idle logins, USSD sessions, login back-off, old form tokens, finished jobs, inbound SMS ids
	JobRetention  = "retention"         // escalate and purge (internal/retention)
	JobCheckpoint = "sqlite.checkpoint" // fold the SQLite WAL into the file and truncate it
)

// How often the app's own jobs run, and how long finished jobs are kept.
const (
	expireEvery     = time.Minute
	retentionEvery  = time.Hour
	checkpointEvery = time.Minute
	keepDoneJobs    = 7 * 24 * time.Hour
	keepFailedJobs  = 30 * 24 * time.Hour
)

// registerJobs builds the job queue and the retention service and registers
// the app's own periodic jobs. Nothing runs until Jobs.Run. It runs first in
// New, so everything wired after it can register kinds; the handlers here
// read the services (Reporting, Casework) only when they run.
func (a *App) registerJobs(o Options) error {
	policy := retention.DefaultPolicy
	if o.Retention != nil {
		policy = *o.Retention
	}
	var err error
	a.Retention, err = retention.New(retention.Config{Store: a.Store, Audit: a.Audit, Policy: policy, Now: o.Now, Logger: o.Logger})
	if err != nil {
		return err
	}
	jc := o.Jobs
	jc.Store, jc.Logger, jc.Now = a.Store, o.Logger, o.Now
	a.Jobs = jobs.New(jc)

	a.Jobs.Every(JobExpire, expireEvery, a.expire)
	a.Jobs.Every(JobRetention, retentionEvery, func(ctx context.Context, _ *jobs.Job) error {
		res, err := a.Retention.Run(ctx)
		if res != nil && (len(res.Escalated) > 0 || len(res.Purged) > 0) {
			a.log.Info("retention run", "escalated", len(res.Escalated), "purged", len(res.Purged))
		}
		return err
	})
	a.Jobs.Handle(staff.JobOrgRekey, a.rekey)
	if a.Store.Engine() == store.SQLite {
		a.Jobs.Every(JobCheckpoint, checkpointEvery, func(ctx context.Context, _ *jobs.Job) error {
			// Reset the WAL so deleted content does not linger in it. Busy
			// readers are normal under load: the next run catches up.
			if err := a.Store.Checkpoint(ctx); err != nil && ctx.Err() == nil {
				a.log.Warn("checkpoint", "err", err)
			}
			return nil
		})
	}
	return nil
}

// expire ends idle and expired logins (survivor, console, USSD), forgets
// form tokens too old to be used and finished jobs kept long enough. Each
// step runs even if another failed; the job fails (and is retried) if any
// did.
func (a *App) expire(ctx context.Context, _ *jobs.Job) error {
	now := a.Now()
	var errs []error
	step := func(what string, n int64, err error) {
		if err != nil {
			errs = append(errs, errors.New(what+": "+err.Error()))
		} else if n > 0 {
			a.log.Debug("expired", "what", what, "count", n)
		}
	}
	n, err := a.Store.DeleteIdleSurvivorSessions(ctx, now.Add(-a.Reporting.SessionIdle))
	step("survivor sessions", n, err)
	n, err = a.Store.DeleteExpiredConsoleSessions(ctx, now.Add(-a.Staff.SessionIdle), now.Add(-a.Staff.SessionMax))
	step("console sessions", n, err)
	n, err = a.Store.DeleteExpiredUSSDSessions(ctx, now)
	step("ussd sessions", n, err)
	n, err = a.Store.DeleteStaleLoginBackoff(ctx, now.Add(-staff.BackoffForgotten))
	step("login back-off", n, err)
	step("form tokens", 0, a.Store.DeleteSubmitTokensBefore(ctx, now.Add(-a.Reporting.TokenLifetime)))
	n, err = a.Store.DeleteFinishedJobs(ctx, now.Add(-keepDoneJobs), now.Add(-keepFailedJobs))
	step("finished jobs", n, err)
	n, err = a.Store.DeleteExpiredInboundSeen(ctx, now)
	step("inbound sms ids", n, err)
	return errors.Join(errs...)
}

// rekey re-wraps an organisation's reports to its new key after a key
// rotation (staff.RewrapOrgKeys). A kill in the middle loses nothing:
// the job's lease runs out and it starts again where the reports stand.
func (a *App) rekey(ctx context.Context, j *jobs.Job) error {
	var p struct {
		Org string `json:"org"`
	}
	if err := json.Unmarshal(j.Payload, &p); err != nil || p.Org == "" {
		return jobs.Permanent(errors.New("rekey: the payload names no organisation"))
	}
	n, done, err := a.Staff.RewrapOrgKeys(ctx, p.Org)
	if n > 0 || done {
		a.log.Info("organisation key rotation", "org", p.Org, "rewrapped", n, "done", done)
	}
	return err
}
