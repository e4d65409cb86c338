package casework_test

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"image"
	_ "image/jpeg"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/salama-ke/salama/internal/app/apptest"
	"github.com/salama-ke/salama/internal/audit"
	"github.com/salama-ke/salama/internal/casework"
	"github.com/salama-ke/salama/internal/directory"
	"github.com/salama-ke/salama/internal/evidence"
	et "github.com/salama-ke/salama/internal/evidence/evidencetest"
	"github.com/salama-ke/salama/internal/referral"
	"github.com/salama-ke/salama/internal/reporting"
	"github.com/salama-ke/salama/internal/store"
	"github.com/salama-ke/salama/internal/store/storetest"
)

func phoneID(platform, v string) reporting.Identifier {
	return reporting.Identifier{Type: "phone", Platform: platform, Value: v}
}

// A caseworker sees, next to each identifier, how many other reports name
// it and which organisations hold them, across organisations; never which
// reports. Coordinators see the clusters.
func TestIdentifierMatchesAcrossOrganisations(t *testing.T) {
	storetest.EachDB(t, func(t *testing.T, db storetest.DB) {
		e := apptest.New(t, db)
		intake, child := e.IntakeOrg().Org, e.ChildOrg().Org
		a := e.Submit(apptest.Report(func(in *reporting.Input) {
			in.AllowMatch, in.Identifiers = true, []reporting.Identifier{phoneID("whatsapp", "0712 345 678"), {Type: "handle", Platform: "telegram", Value: "@Kibanda_Boss"}}
		}))
		b := e.Submit(apptest.Report(func(in *reporting.Input) {
			in.About, in.AgeBand, in.County = "child", "13-15", "nairobi"
			in.AllowMatch, in.Identifiers = true, []reporting.Identifier{phoneID("", "+254712345678")}
		}))
		c := e.Submit(apptest.Report(func(in *reporting.Input) {
			in.AllowMatch, in.Identifiers = true, []reporting.Identifier{phoneID("", "0722 000 111")}
		}))
		d := e.Submit(apptest.Report(func(in *reporting.Input) { // no consent to matching
			in.Identifiers = []reporting.Identifier{phoneID("", "0712-345-678")}
		}))
		if a.Report.OrgID != intake.ID || b.Report.OrgID != child.ID || c.Report.OrgID != intake.ID {
			t.Fatalf("routed to %s, %s, %s", a.Report.OrgID, b.Report.OrgID, c.Report.OrgID)
		}
		cw := e.App.Casework
		matches := func(user, reportID string) string {
			t.Helper()
			p := e.Principal(user)
			defer p.Close()
			cs, err := cw.Open(e.Ctx(), p, reportID)
			if err != nil {
				t.Fatal(err)
			}
			ms, err := cw.IdentifierMatches(e.Ctx(), p, cs)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for i, m := range ms {
				out = append(out, fmt.Sprintf("%s:%v/%d/%v/%v", cs.Identifiers[i].Normalised, m.Matched, m.Reports, m.Orgs, m.OwnOrg))
			}
			return strings.Join(out, " ")
		}
		for _, tc := range []struct {
			user, report, want string
		}{
			{"demo-caseworker", a.Report.ID, fmt.Sprintf("+254712345678:true/1/[%s]/false kibanda_boss:true/0/[]/false", child.Name)},
			{"demo-child-caseworker", b.Report.ID, fmt.Sprintf("+254712345678:true/1/[%s]/false", intake.Name)},
			{"demo-caseworker", c.Report.ID, "+254722000111:true/0/[]/false"},
			{"demo-caseworker", d.Report.ID, "+254712345678:false/0/[]/false"},
		} {
			if got := matches(tc.user, tc.report); got != tc.want {
				t.Errorf("%s on %s:\n got %s\nwant %s", tc.user, tc.report, got, tc.want)
			}
		}

		coord := e.Principal("demo-coordinator")
		defer coord.Close()
		cl, err := cw.Clusters(e.Ctx(), coord)
		if err != nil {
			t.Fatal(err)
		}
		if len(cl) != 1 || cl[0].Kind != "phone" || cl[0].Reports != 2 || len(cl[0].PerOrg) != 2 || len(cl[0].Label) != 12 {
			t.Errorf("clusters %+v", cl)
		}
		p := e.Principal("demo-caseworker")
		defer p.Close()
		if _, err := cw.Clusters(e.Ctx(), p); !errors.Is(err, casework.ErrForbidden) {
			t.Errorf("a caseworker's clusters: %v", err)
		}
	})
}

func unzip(t *testing.T, b []byte) map[string][]byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, f := range zr.File {
		rc, _ := f.Open()
		out[f.Name], _ = io.ReadAll(rc)
		rc.Close()
	}
	return out
}

// A screenshot is shown from its display copy (upright, without the GPS
// position the photo carried), blurred first; the evidence bundle carries
// the original exactly as sent, verifies against the deployment's key, and
// its export is on the audit log.
func TestScreenshotsAndEvidenceBundle(t *testing.T) {
	storetest.EachDB(t, func(t *testing.T, db storetest.DB) {
		e := apptest.New(t, db)
		photo := et.Photo(t, 40, 20, 6)
		sub := e.Submit(apptest.Report(func(in *reporting.Input) {
			in.Help, in.SharePolice = []string{"police", "legal"}, true
			in.Narrative = "He sells my pictures on Telegram. Maneno-5521"
			in.AllowMatch, in.Identifiers = true, []reporting.Identifier{phoneID("whatsapp", "0712 345 678"), {Type: "link", Value: "https://t.me/Kibanda_Boss?utm_source=x"}}
			in.ContactPref, in.Phone = "phone", "0722 111 999"
			in.Files = []reporting.Upload{{ContentType: "image/jpeg", Data: photo}}
		}))
		id := sub.Report.ID
		cw := e.App.Casework
		p := e.Principal("demo-caseworker")
		defer p.Close()
		if err := cw.SendMessage(e.Ctx(), p, id, "We can go with you to the gender desk. Ujumbe-3318"); err != nil {
			t.Fatal(err)
		}
		if err := cw.AddNote(e.Ctx(), p, id, "Private-note-4410"); err != nil {
			t.Fatal(err)
		}
		cs, err := cw.Open(e.Ctx(), p, id)
		if err != nil || len(cs.Attachments) != 1 {
			t.Fatalf("open: %v, %d attachments", err, len(cs.Attachments))
		}
		att := cs.Attachments[0].ID

		// The blurred stand-in: a few pixels, not a reveal.
		head := e.AuditHead()
		pv, err := cw.AttachmentPreview(e.Ctx(), p, id, att)
		if err != nil {
			t.Fatal(err)
		}
		if cfg, _, err := image.DecodeConfig(bytes.NewReader(pv)); err != nil || max(cfg.Width, cfg.Height) > 16 {
			t.Errorf("preview %+v, %v", cfg, err)
		}
		if es := e.AuditSince(head, string(audit.AttachmentRevealed)); len(es) != 0 {
			t.Errorf("the blurred preview was recorded as a reveal")
		}

		// The reveal: the display copy, upright and without metadata.
		ct, shown, err := cw.Attachment(e.Ctx(), p, id, att)
		if err != nil || ct != "image/jpeg" {
			t.Fatalf("attachment: %s, %v", ct, err)
		}
		if md := et.Metadata(shown); len(md) != 0 {
			t.Errorf("the screenshot shown carries %q", md)
		}
		if cfg, _, err := image.DecodeConfig(bytes.NewReader(shown)); err != nil || cfg.Width != 20 || cfg.Height != 40 {
			t.Errorf("shown %dx%d (%v), want it upright at 20x40", cfg.Width, cfg.Height, err)
		}
		if es := e.AuditSince(head, string(audit.AttachmentRevealed)); len(es) != 1 {
			t.Errorf("%d reveals recorded", len(es))
		}

		// The bundle.
		if got, err := cw.ExportConsent(e.Ctx(), cs.Report); err != nil || got != casework.ExportConsentGiven {
			t.Fatalf("ExportConsent = %q, %v", got, err)
		}
		head = e.AuditHead()
		b, err := cw.ExportBundle(e.Ctx(), p, id)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(b.FileName, "salama-evidence-"+sub.Report.CaseRef+"-") {
			t.Errorf("file name %s", b.FileName)
		}
		v, err := evidence.Verify(bytes.NewReader(b.Data), int64(len(b.Data)), e.App.Signing.Public())
		if err != nil {
			t.Fatalf("the bundle does not verify: %v", err)
		}
		if v.ManifestSHA256 != b.ManifestSHA256 || v.Manifest.CaseRef != sub.Report.CaseRef {
			t.Errorf("verified %+v", v)
		}
		exported := e.AuditSince(head, string(audit.ReportExported))
		if len(exported) != 1 || exported[0].Detail != fmt.Sprintf("sha256=%s files=8 consent=yes", b.ManifestSHA256) || exported[0].ReportID != id {
			t.Errorf("export audit %+v", exported)
		}

		files := unzip(t, b.Data)
		shot := files["screenshots/1-"+att+".jpg"]
		if !bytes.Equal(shot, photo) {
			t.Error("the bundle's screenshot is not the original as sent")
		}
		if md := et.Metadata(shot); len(md) == 0 {
			t.Error("the original lost its metadata")
		}
		for name, want := range map[string][]string{
			"README.txt":       {sub.Report.CaseRef, e.App.Signing.Public().String(), "chose to pass their report to the police"},
			"account.txt":      {"Maneno-5521", "0712 345 678", "+254712345678", "https://t.me/kibanda_boss", "What help would you like?", "Help reporting to the police"},
			"identifiers.json": {`"as_typed": "0712 345 678"`, `"normalised": "+254712345678"`},
			"thread.txt":       {"Ujumbe-3318", "Caseworker:"},
			"audit.json":       {`"action": "report.read"`, `"action": "attachment.revealed"`, `"report_id": "` + id + `"`},
		} {
			for _, w := range want {
				if !bytes.Contains(files[name], []byte(w)) {
					t.Errorf("%s lacks %q:\n%s", name, w, files[name])
				}
			}
		}
		// The certificate (issue 15): its schedule names every record
		// with the SHA-256 of the file in the bundle, and nothing else.
		if len(v.Certificate) != 6 {
			t.Errorf("the certificate lists %d records, want 6", len(v.Certificate))
		}
		sched, err := evidence.ParseCertificate(files[evidence.CertificateName])
		if err != nil {
			t.Fatal(err)
		}
		for _, rec := range sched {
			sum := sha256.Sum256(files[rec.Path])
			if rec.SHA256 != hex.EncodeToString(sum[:]) || rec.Size != int64(len(files[rec.Path])) {
				t.Errorf("certificate: %s has SHA-256 %s, the file %x", rec.Path, rec.SHA256, sum)
			}
		}
		cert := strings.Join(strings.Fields(string(files[evidence.CertificateName])), " ")
		for _, w := range []string{"SECTION 106B(4)", "Case reference: " + sub.Report.CaseRef, "Records held by: " + p.OrgName,
			"typed the information into Salama's report form", map[string]string{store.SQLite: "Database: SQLite", store.Postgres: "Database: PostgreSQL"}[e.App.Store.Engine()], e.App.Signing.Public().String(),
			"Record 6: screenshots/1-" + att + ".jpg", "(image/jpeg, " + fmt.Sprint(len(photo)) + " bytes)",
			"Captured: " + sub.Report.CreatedAt.In(time.FixedZone("EAT", 3*3600)).Format("2 January 2006, 15:04:05 EAT"),
			"Signature: ____", "responsible position"} {
			if !strings.Contains(cert, w) {
				t.Errorf("certificate lacks %q:\n%s", w, files[evidence.CertificateName])
			}
		}
		// The printable summary: everything, the certificate last, and
		// nothing that runs or loads.
		sum := string(files[evidence.SummaryName])
		for _, w := range []string{"Maneno-5521", "254712345678", "Ujumbe-3318", "report.read", `<img src="data:image/jpeg;base64,`,
			html.EscapeString(string(files[evidence.CertificateName]))[:200], "default-src &#39;none&#39;", "Help reporting to the police"} {
			if !strings.Contains(sum, w) && !strings.Contains(sum, strings.ReplaceAll(w, "&#39;", "'")) {
				t.Errorf("summary.html lacks %q", w)
			}
		}
		if m := regexp.MustCompile(`(?i)<script|\son[a-z]+=|(src|href)="(https?:)?//|url\(|@import`).FindString(sum); m != "" {
			t.Errorf("summary.html runs or loads something: %q", m)
		}
		var trail []map[string]any
		if err := json.Unmarshal(files["audit.json"], &trail); err != nil || len(trail) < 3 {
			t.Errorf("audit.json: %d entries, %v", len(trail), err)
		}
		for name, data := range files {
			for _, secret := range []string{"0722 111 999", "722111999", "Private-note-4410"} {
				if bytes.Contains(data, []byte(secret)) {
					t.Errorf("%s holds %q, which must not leave the organisation", name, secret)
				}
			}
		}
	})
}

// Evidence leaves only with the survivor's request or the recorded
// child-protection override, and only the report's own organisation can
// export it.
func TestExportNeedsConsent(t *testing.T) {
	e := apptest.New(t, storetest.NewDB(t, store.SQLite))
	cw := e.App.Casework
	p := e.Principal("demo-caseworker")
	defer p.Close()
	// Asking for "help reporting to police" and agreeing to "services that
	// match my needs" is not choosing the police.
	plain := e.Submit(apptest.Report(func(in *reporting.Input) { in.Share, in.Help = "refer", []string{"police"} }))
	head := e.AuditHead()
	if _, err := cw.ExportBundle(e.Ctx(), p, plain.Report.ID); !errors.Is(err, casework.ErrNoConsent) {
		t.Errorf("without consent: %v", err)
	}
	if es := e.AuditSince(head, string(audit.ReportExported)); len(es) != 0 {
		t.Errorf("a refused export was recorded: %+v", es)
	}

	// Another organisation's report is not found, consent or not.
	other := e.Submit(apptest.Report(func(in *reporting.Input) {
		in.About, in.AgeBand, in.County, in.Help = "child", "13-15", "nairobi", []string{"police"}
	}))
	if _, err := cw.ExportBundle(e.Ctx(), p, other.Report.ID); !errors.Is(err, casework.ErrNotFound) {
		t.Errorf("another organisation's report: %v", err)
	}

	// A referral to a police desk the survivor agreed to is consent (the
	// kind her consent named, not the service's kind now); one "at
	// submission" never is; a child-protection override is its own ground.
	now := e.Clock.Now()
	put := func(ref store.Referral) {
		t.Helper()
		ref.ReportID, ref.FromOrg, ref.CreatedBy, ref.CreatedAt, ref.UpdatedAt = plain.Report.ID, plain.Report.OrgID, "test", now, now
		if err := e.App.Store.CreateReferral(e.Ctx(), &ref, nil); err != nil {
			t.Fatal(err)
		}
	}
	r, _ := e.App.Store.Report(e.Ctx(), plain.Report.ID)
	desk := string(directory.TypePoliceDesk)
	put(store.Referral{ID: "ref-desk-asked", ServiceID: "demo-trust-police-desk", ServiceType: desk, State: store.ReferralAwaitingConsent, Consent: referral.ConsentSurvivor})
	if got, _ := cw.ExportConsent(e.Ctx(), r); got != "" {
		t.Errorf("a police referral still awaiting consent gave %q", got)
	}
	put(store.Referral{ID: "ref-desk-submission", ServiceID: "demo-trust-police-desk", ServiceType: desk, State: store.ReferralSent, Consent: referral.ConsentAtSubmission})
	if got, _ := cw.ExportConsent(e.Ctx(), r); got != "" {
		t.Errorf("a police referral sent \"at submission\" gave %q", got)
	}
	put(store.Referral{ID: "ref-was-counselling", ServiceID: "demo-trust-police-desk", ServiceType: string(directory.TypeCounselling), State: store.ReferralSent, Consent: referral.ConsentPhone})
	if got, _ := cw.ExportConsent(e.Ctx(), r); got != "" {
		t.Errorf("a counselling referral whose service is a police desk now gave %q", got)
	}
	put(store.Referral{ID: "ref-desk", ServiceID: "demo-trust-police-desk", ServiceType: desk, State: store.ReferralSent, Consent: referral.ConsentPhone})
	if got, _ := cw.ExportConsent(e.Ctx(), r); got != casework.ExportConsentGiven {
		t.Errorf("a sent police referral gave %q", got)
	}
	put(store.Referral{ID: "ref-override", ServiceID: "demo-child-protection", State: store.ReferralSent, Consent: referral.ConsentOverride})
	if got, _ := cw.ExportConsent(e.Ctx(), r); got != casework.ExportOverride {
		t.Errorf("an override gave %q", got)
	}
	b, err := cw.ExportBundle(e.Ctx(), p, plain.Report.ID)
	if err != nil {
		t.Fatal(err)
	}
	if es := e.AuditSince(head, string(audit.ReportExported)); len(es) != 1 || !strings.HasSuffix(es[0].Detail, "consent=override") {
		t.Errorf("override export audit %+v", es)
	}
	if !bytes.Contains(unzip(t, b.Data)["README.txt"], []byte("child-protection referral")) {
		t.Error("the README does not say the export rests on the override")
	}

	// A withdrawn report is gone.
	if err := e.App.Store.Withdraw(e.Ctx(), plain.Report.ID, now); err != nil {
		t.Fatal(err)
	}
	if _, err := cw.ExportBundle(e.Ctx(), p, plain.Report.ID); !errors.Is(err, casework.ErrNotFound) {
		t.Errorf("withdrawn: %v", err)
	}
}

// A screenshot stored without a display copy (a report from before them,
// or a referral's copy) is shown from one made on the fly; one that cannot
// be decoded says so instead of failing the page.
func TestDisplayCopyMadeWhenMissing(t *testing.T) {
	e := apptest.New(t, storetest.NewDB(t, store.SQLite))
	cw := e.App.Casework
	p := e.Principal("demo-caseworker")
	defer p.Close()
	good, bad := et.WithPNGMetadata(et.PNG(t, et.TwoColours(30, 10)), 1), []byte("\x89PNG\r\n\x1a\n not really")
	sub := e.Submit(apptest.Report(func(in *reporting.Input) {
		in.Files = []reporting.Upload{{ContentType: "image/png", Data: good}, {ContentType: "image/png", Data: bad}}
	}))
	cs, err := cw.Open(e.Ctx(), p, sub.Report.ID)
	if err != nil || len(cs.Attachments) != 2 {
		t.Fatalf("open: %v", err)
	}
	atts := cs.Attachments // stored in the same second: their order is the random ids'
	if atts[0].Size != len(good) {
		atts[0], atts[1] = atts[1], atts[0]
	}
	// Drop the stored display copies, as for a report from before them.
	err = e.App.Store.Tx(e.Ctx(), func(tx *sql.Tx) error {
		_, err := tx.ExecContext(e.Ctx(), `UPDATE attachments SET display_sealed = NULL WHERE report_id = $1`, sub.Report.ID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	ct, shown, err := cw.Attachment(e.Ctx(), p, sub.Report.ID, atts[0].ID)
	if err != nil || ct != "image/png" || len(et.Metadata(shown)) != 0 {
		t.Errorf("made on the fly: %s, %v, metadata %q", ct, err, et.Metadata(shown))
	}
	if _, _, err := cw.Attachment(e.Ctx(), p, sub.Report.ID, atts[1].ID); !errors.Is(err, casework.ErrNoPreview) {
		t.Errorf("an undecodable file: %v", err)
	}
	if _, err := cw.AttachmentPreview(e.Ctx(), p, sub.Report.ID, atts[1].ID); !errors.Is(err, casework.ErrNoPreview) {
		t.Errorf("its preview: %v", err)
	}
}
