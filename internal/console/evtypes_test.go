package console_test

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/salama-ke/salama/internal/audit"
	"github.com/salama-ke/salama/internal/cli"
	"github.com/salama-ke/salama/internal/evidence"
	et "github.com/salama-ke/salama/internal/evidence/evidencetest"
)

type upload struct {
	name string
	data []byte
}

// sendReport posts the public report form, as a browser does (multipart,
// with its token), with files named as the survivor's phone named them.
func (b *browser) sendReport(lang, narrative string, files ...upload) response {
	b.t.Helper()
	r := b.get("/" + lang + "/report")
	token := match(b.t, enrolRE, r.body, "form token")
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	for k, v := range map[string]string{"token": token, "about": "me", "what": "sextortion", "age": "25plus", "county": "nakuru",
		"when": "month", "danger": "no", "share": "ask", "share_police": "yes", "match": "yes", "narrative": narrative, "send": "1"} {
		w.WriteField(k, v)
	}
	for _, f := range files {
		fw, _ := w.CreateFormFile("files", f.name)
		fw.Write(f.data)
	}
	w.Close()
	req, _ := http.NewRequest("POST", b.s.srv.URL+"/"+lang+"/report", &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	return b.do(req)
}

// Issue 15 (4): the evidence survivors actually have, through the public
// form, the console and the bundle: a PDF, voice notes as WhatsApp,
// Telegram and iPhones write them, WhatsApp and Telegram chat exports;
// recognised by their bytes whatever they are named; sealed; a chat shown
// as escaped text; every reveal audited; the bundle verified by the CLI.
func TestEvidenceTypesFromTheForm(t *testing.T) {
	each(t, func(t *testing.T, s *site) {
		const secretLine = "Neno-la-siri-chat-5521"
		chat := et.WhatsAppAndroid("+254 712 345 678: pay 5000 or I post them <script>alert(1)</script> "+secretLine,
			"Me: who are you?", "+254 712 345 678: ask @pimp_boss on t.me/otherguy")
		pdf, ogg, mp3 := et.PDF(), et.Ogg(6), et.MP3(5, true)
		survivor := s.browser(t)
		r := survivor.sendReport("en", "He threatens me on WhatsApp.",
			upload{"voice.mp3", et.PNG(t, et.TwoColours(8, 8))}, // a PNG named .mp3 is a PNG
			upload{"statement.pdf", pdf}, upload{"PTT-20260312-WA0003.opus", ogg},
			upload{"WhatsApp Chat with Boss.txt", chat}, upload{"audio.mp3", mp3})
		expect(t, "report with five kinds", r, http.StatusOK, "Your report was sent")
		receipt := match(t, receiptRE, r.body, "receipt")
		id := s.ReportOfReceipt(receipt)
		r = survivor.sendReport("sw", "Zaidi.", upload{"chat.zip", et.Zip("_chat.txt", "00000004-PHOTO.jpg")(et.WhatsAppIOS("Boss: lipa sasa"), et.Photo(t, 8, 8, 1))},
			upload{"result.json", et.Telegram([2]string{"Boss", "pay @collector"})}, upload{"a.m4a", et.M4A(false)}, upload{"b.aac", et.ADTS(5)})
		expect(t, "report with the other kinds", r, http.StatusOK)

		// Refused, with the reason, every word kept, nothing stored.
		for _, c := range []struct {
			lang, name string
			data       []byte
			want       string
		}{
			{"en", "statement.pdf", et.EXE(), "We cannot take one of the files."},
			{"sw", "statement.pdf", et.EXE(), "Hatuwezi kupokea moja ya faili."},
			{"en", "chat.zip", et.ZipBomb(9 << 20), "A zip file holds too much for us to open safely."},
			{"en", "note.m4a", et.M4A(true), "One of the files is a video."},
			{"en", "chat.txt", []byte("Dear sir,\nthis is a letter.\n"), "is not a chat export we can read"},
			{"en", "cut.pdf", pdf[:300], "One of the files is damaged or cut off."},
			{"en", "chat.zip", et.Zip("../../_chat.txt")(et.WhatsAppIOS("Boss: hi")), "One of the files is damaged or cut off."},
			{"sw", "sauti.m4a", et.M4A(true), "Moja ya faili ni video."},
		} {
			r := survivor.sendReport(c.lang, "Maneno yangu yote-7731", upload{c.name, c.data})
			expect(t, c.name+" refused", r, http.StatusUnprocessableEntity, c.want, "Maneno yangu yote-7731")
		}
		if s.DBContains("Maneno yangu yote-7731") {
			t.Error("a refused report was stored")
		}

		// Sealed: neither the chat's words nor the PDF's bytes are in the
		// database in clear.
		for _, needle := range []string{secretLine, "pimp_boss", "/Type /Catalog", "OpusHead", "lipa sasa", "pay @collector"} {
			if s.DBContains(needle) {
				t.Errorf("the database holds %q in clear", needle)
			}
		}

		// The console: each kind hidden until revealed.
		cw := s.login(t, "demo-caseworker")
		page := "/console/reports/" + id
		r = cw.get(page)
		expect(t, "report page", r, http.StatusOK, "Files the survivor sent", "Voice note", "PDF document", "Chat export", "image/png")
		if strings.Contains(r.body, "<audio") || strings.Contains(r.body, secretLine) {
			t.Error("a voice note or a chat shows before it is revealed")
		}
		att := func(kind string) string {
			re := regexp.MustCompile(`<strong>` + kind + `</strong> <a class="btn" href="` + regexp.QuoteMeta(page) + `\?reveal=([0-9a-f]+)#screenshots">Reveal</a>`)
			return match(t, re, r.body, kind+" reveal link")
		}
		chatID, pdfID := att("Chat export"), att("PDF document")
		voice := regexp.MustCompile(`<strong>Voice note</strong> <a class="btn" href="`+regexp.QuoteMeta(page)+`\?reveal=([0-9a-f]+)#`).FindAllStringSubmatch(r.body, -1)
		if len(voice) != 2 {
			t.Fatalf("%d voice notes on the page, want 2 (the PNG named .mp3 is a screenshot)", len(voice))
		}

		head := s.AuditHead()
		r = cw.get(page + "?reveal=" + chatID)
		expect(t, "chat revealed", r, http.StatusOK, "WhatsApp chat, 4 messages", secretLine,
			"&lt;script&gt;alert(1)&lt;/script&gt;", "<strong>Me</strong>", "pimp_boss", "t.me/otherguy")
		if strings.Contains(r.body, "<script>alert(1)") {
			t.Error("a <script> in a chat line reached the page as markup")
		}
		if es := s.AuditSince(head, string(audit.AttachmentRevealed)); len(es) != 1 || es[0].Detail != "attachment="+chatID {
			t.Errorf("chat reveal audited as %+v", es)
		}

		r = cw.get(page + "/attachments/" + pdfID)
		if r.StatusCode != 200 || r.Header.Get("Content-Type") != "application/pdf" ||
			!strings.HasPrefix(r.Header.Get("Content-Disposition"), "attachment;") || r.Header.Get("X-Content-Type-Options") != "nosniff" ||
			!strings.Contains(r.Header.Get("Content-Security-Policy"), "sandbox") || r.body != string(pdf) {
			t.Errorf("PDF download: %d %q %q", r.StatusCode, r.Header.Get("Content-Type"), r.Header.Get("Content-Disposition"))
		}
		r = cw.get(page + "/attachments/" + chatID)
		if r.Header.Get("Content-Type") != "application/octet-stream" || !strings.HasPrefix(r.Header.Get("Content-Disposition"), "attachment;") {
			t.Errorf("chat download: %q %q", r.Header.Get("Content-Type"), r.Header.Get("Content-Disposition"))
		}
		oggID := ""
		for _, v := range voice {
			r = cw.get(page + "/attachments/" + v[1])
			switch r.Header.Get("Content-Type") {
			case "audio/ogg":
				oggID = v[1]
				if r.body != string(ogg) || r.Header.Get("Content-Disposition") != "inline" {
					t.Error("the Ogg voice note is not served as sent, inline")
				}
			case "audio/mpeg":
				if r.body != string(mp3) {
					t.Error("the MP3 is not served as sent")
				}
			default:
				t.Errorf("voice note served as %q", r.Header.Get("Content-Type"))
			}
		}
		revealed := cw.get(page + "?reveal=" + oggID)
		expect(t, "voice note revealed", revealed, http.StatusOK,
			`<audio controls preload="none" src="`+page+`/attachments/`+oggID+`"></audio>`)
		if es := s.AuditSince(head, string(audit.AttachmentRevealed)); len(es) != 5 {
			t.Errorf("%d reveals audited, want 5 (chat page, PDF, chat download, two voice notes)", len(es))
		}

		// The bundle: every file as sent, with its SHA-256, verified by
		// `salama verify-bundle --key`.
		csrf := match(t, csrfRE, revealed.body, "csrf token")
		r = cw.post(page+"/bundle", url.Values{"csrf": {csrf}})
		if r.StatusCode != 200 {
			t.Fatalf("bundle: %d %s", r.StatusCode, r.body)
		}
		zr, err := zip.NewReader(strings.NewReader(r.body), int64(len(r.body)))
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		var manifest, certificate, summary string
		for _, f := range zr.File {
			rc, _ := f.Open()
			b, _ := io.ReadAll(rc)
			rc.Close()
			got[filepath.Ext(f.Name)] += f.Name + " "
			switch f.Name {
			case "manifest.json":
				manifest = string(b)
			case "certificate.txt":
				certificate = string(b)
			case evidence.SummaryName:
				summary = string(b)
			}
		}
		// The printable summary prints the chat as the conversation it
		// holds, escaped like everything else the survivor sent.
		for _, want := range []string{"A WhatsApp chat export: the 4 messages it holds", secretLine,
			"&lt;script&gt;alert(1)&lt;/script&gt;", "<strong>Me:</strong> who are you?", "ask @pimp_boss on t.me/otherguy"} {
			if !strings.Contains(summary, want) {
				t.Errorf("summary.html lacks %q", want)
			}
		}
		if strings.Contains(summary, "<script>alert(1)") {
			t.Error("a <script> in a chat line reached the printable summary as markup")
		}
		for _, ext := range []string{".pdf", ".ogg", ".mp3", ".txt", ".png"} {
			if got[ext] == "" {
				t.Errorf("the bundle has no %s file: %v", ext, got)
			}
		}
		for _, data := range [][]byte{pdf, ogg, mp3, chat} {
			sum := sha256.Sum256(data)
			if h := hex.EncodeToString(sum[:]); !strings.Contains(manifest, h) || !strings.Contains(certificate, h) {
				t.Errorf("SHA-256 %s missing from the manifest or the certificate", h[:12])
			}
		}
		path := filepath.Join(t.TempDir(), "bundle.zip")
		if err := os.WriteFile(path, []byte(r.body), 0o600); err != nil {
			t.Fatal(err)
		}
		var out, errOut bytes.Buffer
		if code := cli.Main([]string{"salama", "verify-bundle", path, "--key", s.App.Signing.Public().String()}, &out, &errOut); code != 0 || !strings.Contains(out.String(), "bundle OK") {
			t.Errorf("verify-bundle: %d %s %s", code, out.String(), errOut.String())
		}
	})
}
