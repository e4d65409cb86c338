package casework

import (
	"bytes"
	"embed"
	"html/template"
	"time"

	"github.com/salama-ke/salama/internal/evidence"
	"github.com/salama-ke/salama/internal/store"
)

// The printable summary of an evidence bundle (summary.html): one page an
// officer can open in any browser and print, with the account, the
// identifiers, the screenshots and other files (a chat export as the
// conversation it holds), the conversation with the caseworkers, the audit
// trail and, last, the certificate with its place for a signature.
//
// HTML rather than PDF: every police station's computer opens and prints it
// without installing anything, it shows every script a survivor writes in
// (Kiswahili, Arabic, emoji) without embedding fonts, and it needs no
// dependency (a PDF library's core fonts cover Latin-1 only). It runs
// nothing and loads nothing: no script, no external resource, and a
// Content-Security-Policy of its own that forbids both should a browser
// open it from a web mail; the screenshots are inlined as data: URLs.

//go:embed templates/summary.html
var summaryFS embed.FS

var summaryTemplate = template.Must(template.ParseFS(summaryFS, "templates/summary.html"))

type summaryView struct {
	CaseRef, BundleName, Organisation, Produced, Ground, Key string
	Received, Through                                        string
	Tip                                                      bool
	Answers                                                  []qa
	Narrative                                                string
	Identifiers                                              []summaryIdentifier
	Files                                                    []summaryFile
	Thread                                                   []summaryMessage
	Trail                                                    []summaryAudit
	Certificate                                              string
}

type summaryIdentifier struct{ Kind, AsTyped, Normalised, Note string }

type summaryFile struct {
	Path, Type, Received, SHA256 string
	Size                         int
	Image                        template.URL
	Chat                         *evidence.Chat
	ChatApp                      string // "WhatsApp" or "Telegram"
}

type summaryMessage struct{ When, Who, Text string }

type summaryAudit struct{ When, Action, Detail, Actor string }

// summary renders summary.html.
func (a *account) summary(org string, now time.Time, consent, key, bundleName string, cert []byte) ([]byte, error) {
	r := a.report
	v := summaryView{CaseRef: r.CaseRef, BundleName: bundleName, Organisation: org, Produced: when(now),
		Ground: exportGround(consent), Key: key, Received: when(r.CreatedAt), Through: channelText(r.Channel),
		Tip: r.Kind == store.KindTip, Answers: a.answers(), Narrative: a.narrative, Certificate: string(cert)}
	for _, id := range a.identifiers {
		v.Identifiers = append(v.Identifiers, summaryIdentifier{Kind: idKind(id), AsTyped: id.Value, Normalised: id.Normalised, Note: flagNotes[id.Flag]})
	}
	for _, s := range a.screenshots {
		v.Files = append(v.Files, summaryFile{Path: s.path, Type: s.contentType, Received: when(s.at), SHA256: s.sha256, Size: s.size, Image: s.display, Chat: s.chat, ChatApp: chatApp(s.chat)})
	}
	for _, m := range a.thread {
		v.Thread = append(v.Thread, summaryMessage{When: when(m.at), Who: m.who, Text: m.text})
	}
	for _, e := range a.trail {
		v.Trail = append(v.Trail, summaryAudit{When: when(e.At), Action: e.Action, Detail: e.Detail, Actor: e.Actor})
	}
	var b bytes.Buffer
	if err := summaryTemplate.Execute(&b, v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// chatApp names a chat export's app for a reader.
func chatApp(c *evidence.Chat) string {
	switch {
	case c == nil:
		return ""
	case c.App == "telegram":
		return "Telegram"
	case c.App == "whatsapp":
		return "WhatsApp"
	}
	return c.App
}
