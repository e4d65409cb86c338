package app

import (
	"context"
	"errors"
	"time"

	"github.com/salama-ke/salama/internal/audit"
)

// Work that belongs to one server process rather than to the deployment,
// so it is not a durable job (a job runs on one instance of many, and
// these must run on each): the audit checkpoint in this instance's data
// directory, and the free disk space under it.

// How often RunInstance works.
const (
	auditCheckpointEvery = time.Minute
	diskCheckEvery       = 30 * time.Second
)

// RunInstance writes the audit checkpoint (internal/audit, checkpoint.go)
// into this instance's data directory every minute, and once more when ctx
// ends, and samples the free disk space every 30 seconds, until ctx ends.
// With several instances on one PostgreSQL database each keeps its own
// checkpoint: any of them detects a log cut back below it.
func (a *App) RunInstance(ctx context.Context) {
	cp := time.NewTicker(auditCheckpointEvery)
	defer cp.Stop()
	disk := time.NewTicker(diskCheckEvery)
	defer disk.Stop()
	var truncated bool
	checkpoint := func(ctx context.Context) {
		if a.dataDir == "" {
			return
		}
		_, err := a.Audit.WriteCheckpoint(ctx, a.dataDir)
		var ae *audit.Error
		switch {
		case errors.As(err, &ae) && ae.Kind == audit.Truncated:
			if !truncated {
				a.log.Error("audit: the log no longer holds the entry this instance's checkpoint recorded: entries were removed; run salama audit verify", "err", err)
			}
			truncated = true
		case err != nil && ctx.Err() == nil:
			a.log.Warn("audit: checkpoint not written", "err", err)
		default:
			truncated = false
		}
	}
	checkpoint(ctx)
	for {
		select {
		case <-ctx.Done():
			// The database is still open: serve closes it after this
			// returns.
			last, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			checkpoint(last)
			cancel()
			return
		case <-cp.C:
			checkpoint(ctx)
		case <-disk.C:
			a.Disk.Check()
		}
	}
}
