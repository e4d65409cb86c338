package console_test

import (
	"bytes"
	"image"
	_ "image/png"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/salama-ke/salama/internal/app/apptest"
	"github.com/salama-ke/salama/internal/audit"
	"github.com/salama-ke/salama/internal/evidence"
	et "github.com/salama-ke/salama/internal/evidence/evidencetest"
	"github.com/salama-ke/salama/internal/reporting"
)

// What a caseworker sees of online-exploitation evidence on a report: the
// number "appears in N other reports (organisations)", screenshots blurred
// from a few pixels until revealed, and the signed bundle for the police
// when the survivor asked for it. Coordinators see the shared identifiers.
func TestEvidenceOnTheReportPage(t *testing.T) {
	s := sqliteSite(t)
	mine := s.Submit(apptest.Report(func(in *reporting.Input) {
		in.Help, in.AllowMatch, in.SharePolice = []string{"police"}, true, true
		in.Identifiers = []reporting.Identifier{{Type: "phone", Platform: "whatsapp", Value: "0712 345 678"}, {Type: "phone", Value: "0712"}}
		in.Files = []reporting.Upload{{ContentType: "image/jpeg", Data: et.Photo(t, 40, 20, 6)}}
	}))
	s.Submit(apptest.Report(func(in *reporting.Input) {
		in.About, in.AgeBand, in.County, in.AllowMatch = "child", "13-15", "nairobi", true
		in.Identifiers = []reporting.Identifier{{Type: "phone", Value: "+254712345678"}}
	}))
	plain := s.Submit(apptest.Report(nil))
	child := s.ChildOrg().Org.Name
	atts, _ := s.App.Store.Attachments(s.Ctx(), mine.Report.ID)
	page := "/console/reports/" + mine.Report.ID

	b := s.login(t, "demo-caseworker")
	r := b.get(page)
	expect(t, "report page", r, http.StatusOK,
		"This number appears in 1 other report ("+child+").", "254712345678)", // html/template writes the + as &#43;
		"Not a valid phone number: kept as typed, not matched.",
		`class="shot blur" src="`+page+`/attachments/`+atts[0].ID+`/blurred"`,
		"Download evidence bundle", strings.ReplaceAll(s.App.Signing.Public().String(), "+", "&#43;"))
	csrf := match(t, csrfRE, r.body, "csrf token")

	head := s.AuditHead()
	r = b.get(page + "/attachments/" + atts[0].ID + "/blurred")
	if cfg, _, err := image.DecodeConfig(strings.NewReader(r.body)); r.StatusCode != 200 || err != nil || max(cfg.Width, cfg.Height) > 16 {
		t.Errorf("blurred preview: %d %v %+v", r.StatusCode, err, cfg)
	}
	if es := s.AuditSince(head, string(audit.AttachmentRevealed)); len(es) != 0 {
		t.Error("the blurred preview was recorded as a reveal")
	}
	expect(t, "unknown preview", b.get(page+"/attachments/nope/blurred"), http.StatusNotFound)

	// The bundle: a POST with the session's token, answered with the zip.
	expect(t, "bundle without a token", b.post(page+"/bundle", url.Values{}), http.StatusForbidden)
	r = b.post(page+"/bundle", url.Values{"csrf": {csrf}})
	if r.StatusCode != 200 || r.Header.Get("Content-Type") != "application/zip" ||
		!strings.HasPrefix(r.Header.Get("Content-Disposition"), `attachment; filename="salama-evidence-`+mine.Report.CaseRef) {
		t.Fatalf("bundle: %d %q %q", r.StatusCode, r.Header.Get("Content-Type"), r.Header.Get("Content-Disposition"))
	}
	if r.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("bundle Cache-Control %q", r.Header.Get("Cache-Control"))
	}
	if _, err := evidence.Verify(bytes.NewReader([]byte(r.body)), int64(len(r.body)), s.App.Signing.Public()); err != nil {
		t.Errorf("the downloaded bundle does not verify: %v", err)
	}
	if es := s.AuditSince(head, string(audit.ReportExported)); len(es) != 1 {
		t.Errorf("%d exports recorded", len(es))
	}

	// No request for the police: no bundle.
	other := "/console/reports/" + plain.Report.ID
	expect(t, "report without consent", b.get(other), http.StatusOK, "Not available: the survivor has not chosen the police")
	expect(t, "bundle without consent", b.post(other+"/bundle", url.Values{"csrf": {csrf}}), http.StatusForbidden, "No evidence bundle")

	// Clusters: coordinators only.
	expect(t, "clusters as a caseworker", b.get("/console/network/clusters"), http.StatusNotFound)
	c := s.login(t, "demo-coordinator")
	expect(t, "clusters", c.get("/console/network/clusters"), http.StatusOK, "Shared identifiers", "Phone number", child+": 1")
}
