package app_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/salama-ke/salama/internal/app"
	"github.com/salama-ke/salama/internal/audit"
	"github.com/salama-ke/salama/internal/seal"
	"github.com/salama-ke/salama/internal/testkit"
	"github.com/salama-ke/salama/internal/web"
)

// The server writes this instance's audit checkpoint at start and when it
// stops, so that `salama audit verify` can tell a log cut back below it.
func TestRunInstanceWritesTheAuditCheckpoint(t *testing.T) {
	dataDir := t.TempDir()
	var logs testkit.LogBuffer
	a, err := app.New(t.Context(), app.Options{DataDir: dataDir, KDFParams: seal.TestKDFParams, Demo: true, Web: web.DefaultConfig(),
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ctx, stop := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); a.RunInstance(ctx) }()
	path := filepath.Join(dataDir, audit.CheckpointFile)
	for deadline := time.Now().Add(time.Minute); ; {
		if _, err := audit.ReadCheckpoint(path); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no checkpoint after start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// An entry while running; the checkpoint at shutdown includes it.
	if err := a.Audit.Record(t.Context(), audit.Event{Actor: audit.ActorSystem, Action: audit.DirectoryChanged, Detail: "change=imported"}); err != nil {
		t.Fatal(err)
	}
	stop()
	<-done
	cp, err := audit.ReadCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	head, err := a.Store.AuditHead(t.Context())
	if err != nil || head == nil || cp.Seq != head.Seq || !cp.Key.Equal(a.Signing.Public()) {
		t.Fatalf("checkpoint %v at shutdown, head %+v (%v)", cp, head, err)
	}
	if strings.Contains(logs.String(), "audit:") {
		t.Errorf("checkpoint trouble logged:\n%s", logs.String())
	}
}
