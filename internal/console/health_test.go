package console_test

import (
	"errors"
	"html"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/salama-ke/salama/internal/diskspace"
	"github.com/salama-ke/salama/internal/health"
	"github.com/salama-ke/salama/internal/store"
	"github.com/salama-ke/salama/internal/store/storetest"
)

// TestHealthPage: an organisation admin reads, in words, what needs
// attention: a disk under --min-free-disk, no backup ever, a job that
// failed for good, an SMS provider that fails; and, once they are put
// right, that all is well. Caseworkers have no such page.
func TestHealthPage(t *testing.T) {
	db := storetest.NewDB(t, store.SQLite)
	s := newSite(t, db)
	s.App.Health.Disk = diskspace.New(s.DataDir, 1<<62, nil) // no disk has that much
	admin := s.login(t, "demo-admin")
	if !strings.Contains(admin.get("/console/").body, `href="/console/health"`) {
		t.Error("an admin's menu does not link to Health")
	}
	page := admin.get("/console/health")
	expect(t, "health, all wrong", page, http.StatusOK, "Health", "need attention", "No backup has ever been recorded",
		"under the minimum", "new reports are refused", "The database answers", "Salama version "+html.EscapeString(s.App.Version))

	// A job that gave up, and a provider that fails.
	ctx := s.Ctx()
	now := s.Clock.Now()
	if _, err := s.App.Store.EnqueueJob(ctx, store.NewJob{Kind: "test.giveup", Payload: []byte(`{}`), RunAt: now}, now); err != nil {
		t.Fatal(err)
	}
	j, err := s.App.Store.ClaimJob(ctx, "test", []string{"test.giveup"}, now, time.Minute)
	if err != nil || j == nil {
		t.Fatalf("claim: %v %v", j, err)
	}
	if err := s.App.Store.FailJob(ctx, j, "provider said no to +254712345678", now); err != nil {
		t.Fatal(err)
	}
	s.App.SMSProvider.Done(errors.New("timeout"))
	page = admin.get("/console/health")
	expect(t, "health, failures", page, http.StatusOK, "1 job of kind “test.giveup” gave up", "salama jobs --state failed",
		"1 attempt failed", "check the provider")
	if strings.Contains(page.body, "254712345678") {
		t.Error("the page shows a job's error text, which can carry a phone number")
	}

	// Put right: a backup, a working provider, the job cleared, the disk
	// check off.
	if err := health.RecordBackup(ctx, s.App.Store, now.Add(-2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.App.Store.DeleteFinishedJobs(ctx, now.Add(time.Hour), now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	s.App.SMSProvider.Done(nil)
	s.App.Health.Disk = nil
	expect(t, "health, all well", admin.get("/console/health"), http.StatusOK, "All is well", "The last backup was taken on",
		"2 hours ago", "seems to work again", "does not watch the disk")

	// An old backup needs attention again.
	if err := health.RecordBackup(ctx, s.App.Store, now.Add(-9*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	expect(t, "health, old backup", admin.get("/console/health"), http.StatusOK, "9 days ago", "at least every day", "One thing needs attention")

	cw := s.login(t, "demo-caseworker")
	expect(t, "caseworker", cw.get("/console/health"), http.StatusNotFound)
	if strings.Contains(cw.get("/console/").body, `href="/console/health"`) {
		t.Error("a caseworker's menu links to Health")
	}
}
