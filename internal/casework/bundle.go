package casework

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/salama-ke/salama/internal/report"
	"github.com/salama-ke/salama/internal/staff"

	"github.com/salama-ke/salama/internal/audit"
	"github.com/salama-ke/salama/internal/directory"
	"github.com/salama-ke/salama/internal/evidence"
	"github.com/salama-ke/salama/internal/identifiers"
	"github.com/salama-ke/salama/internal/locale"
	"github.com/salama-ke/salama/internal/referral"
	"github.com/salama-ke/salama/internal/reporting"
	"github.com/salama-ke/salama/internal/store"
)

// ErrNoConsent means a report's evidence may not leave the network: the
// survivor has not chosen the police herself, and no child-protection
// override was recorded.
var ErrNoConsent = errors.New("casework: the survivor has not asked for their evidence to go to the police")

// Grounds on which evidence may be exported, as the audit log's consent=.
const (
	ExportConsentGiven = "yes"      // the survivor chose the police herself
	ExportOverride     = "override" // child-protection override (SPEC §3 rule 5)
)

// ExportConsent says on what ground a report's evidence may leave the
// network as a bundle for the police: ExportConsentGiven, ExportOverride,
// or "" when it may not. It is the one place that decides (SPEC §3 rule 5
// and §5.3: police get nothing unless the survivor chose it; the one
// override is a child-protection referral made without consent, with a
// written justification). The survivor chose the police when
//
//   - she ticked "you may pass my report to the police gender desk" on the
//     report form, or
//   - she herself agreed (on the check page, or by phone, which the
//     caseworker recorded with the kind of service) to a referral to a
//     police gender desk, and it was sent. The kind is the one her consent
//     named (Referral.ServiceType), never the service's kind today: an edit
//     of the directory cannot turn a counselling referral into a police one.
//
// Neither "you may refer me to services that match my needs" nor a
// referral "at submission" ever counts: her tick does, and the form never
// names the police in that choice. Asking for "help reporting to the
// police" does not count either: it may mean advice first. The override
// counts while its referral stands (not revoked), as SPEC §5.3 says: a
// child at risk, a written reason, a coordinator-marked service, audited
// and shown to the survivor. A tip has no survivor to ask.
func (s *Service) ExportConsent(ctx context.Context, r *store.Report) (string, error) {
	if r.Destroyed() || r.Kind != store.KindReport {
		return "", nil
	}
	refs, err := s.Store.Referrals(ctx, r.ID)
	if err != nil {
		return "", err
	}
	ground := ""
	if r.ConsentPolice {
		ground = ExportConsentGiven
	}
	for _, ref := range refs {
		switch {
		case ref.Consent == referral.ConsentOverride && ref.State != store.ReferralRevoked:
			return ExportOverride, nil
		case (ref.Consent == referral.ConsentSurvivor || ref.Consent == referral.ConsentPhone) &&
			ref.ServiceType == string(directory.TypePoliceDesk) &&
			slices.Contains([]string{store.ReferralSent, store.ReferralAccepted, store.ReferralCompleted}, ref.State):
			ground = ExportConsentGiven
		}
	}
	return ground, nil
}

// Bundle is an exported evidence bundle.
type Bundle struct {
	FileName       string // salama-evidence-K7Q4-92XM-20260301.zip
	Data           []byte
	ManifestSHA256 string
}

// ExportBundle builds the signed evidence bundle of SPEC §5.3 for one of the
// principal's organisation's reports: the survivor's account, the
// identifiers (as typed and normalised), the screenshots exactly as
// received, the thread and the report's audit trail, with a manifest of
// their SHA-256 signed by the deployment's key. It needs ExportConsent, and
// the export is on the audit log (report.exported with the manifest's hash)
// before the bundle is returned. The survivor's contact details and the
// organisation's private notes are not in it.
func (s *Service) ExportBundle(ctx context.Context, p *staff.Principal, reportID string) (*Bundle, error) {
	if s.Signing == nil {
		return nil, errors.New("casework: no signing key configured")
	}
	r, err := s.report(ctx, p, reportID)
	if err != nil {
		return nil, err
	}
	consent, err := s.ExportConsent(ctx, r)
	if err != nil {
		return nil, err
	}
	if consent == "" {
		return nil, ErrNoConsent
	}
	dk, err := s.dataKey(ctx, p, r)
	if err != nil {
		return nil, err
	}
	defer dk.Destroy()
	fields, err := s.Store.ReportFields(ctx, r.ID)
	if err != nil {
		return nil, err
	}
	open := func(name string) (string, error) {
		f, ok := fields[name]
		if !ok {
			return "", nil
		}
		b, err := dk.Open(r.ID, name, f)
		return string(b), err
	}
	var a account
	a.report = r
	if a.narrative, err = open(report.FieldNarrative); err != nil {
		return nil, err
	}
	if a.country, err = open(report.FieldCountry); err != nil {
		return nil, err
	}
	if raw, err := open(report.FieldIdentifiers); err != nil {
		return nil, err
	} else if raw != "" {
		if err := json.Unmarshal([]byte(raw), &a.identifiers); err != nil {
			return nil, err
		}
	}
	atts, err := s.Store.Attachments(ctx, r.ID)
	if err != nil {
		return nil, err
	}
	now := s.Now().UTC()
	var shots []evidence.Record
	for i, att := range atts {
		b, err := dk.Open(r.ID, report.AttachmentField(att.ID), att.Sealed)
		if err != nil {
			return nil, err
		}
		ct, data, _ := bytes.Cut(b, []byte("\n"))
		// Screenshots where they always were; the other files (PDFs,
		// voice notes, chat exports) beside them, by the extension of
		// the kind found in their bytes.
		folder := "screenshots"
		if evidence.KindOf(string(ct)) != evidence.KindImage {
			folder = "files"
		}
		path := fmt.Sprintf("%s/%d-%s%s", folder, i+1, att.ID, evidence.Extension(string(ct)))
		shots = append(shots, evidence.Record{Path: path, Captured: att.CreatedAt, Data: data,
			Description: fmt.Sprintf("A file the survivor sent (%s, %d bytes), exactly as received, byte for byte.", ct, len(data))})
		sum := sha256.Sum256(data)
		line := screenshotLine{path: path, contentType: string(ct), size: len(data), sha256: hex.EncodeToString(sum[:]), at: att.CreatedAt}
		// The printable summary shows the display copy (upright, scaled,
		// without metadata); the original is the file beside it.
		if dct, display, err := s.displayCopy(ctx, dk, r.ID, att); err == nil {
			line.display = template.URL("data:" + dct + ";base64," + base64.StdEncoding.EncodeToString(display))
		} else if !errors.Is(err, ErrNoPreview) {
			return nil, err
		}
		// A chat export is printed as the conversation it holds, as the
		// console shows it; the export itself is the file beside it.
		if evidence.KindOf(string(ct)) == evidence.KindChat {
			if c, err := s.chat(ctx, dk, r.ID, att, string(ct), data); err == nil {
				line.chat = c
			} else if !errors.Is(err, ErrNoPreview) {
				return nil, err
			}
		}
		a.screenshots = append(a.screenshots, line)
	}
	msgs, err := s.Store.Messages(ctx, r.ID)
	if err != nil {
		return nil, err
	}
	var thread strings.Builder
	fmt.Fprintf(&thread, "CONVERSATION — case %s\n\nThe messages between the survivor and the caseworkers of %s, oldest first,\nexactly as written. Caseworkers are not named.\n", r.CaseRef, p.OrgName)
	for _, m := range msgs {
		b, err := dk.Open(r.ID, report.MessageField(m.ID), m.Sealed)
		if err != nil {
			return nil, err
		}
		who := "Caseworker"
		if m.Author == store.AuthorSurvivor {
			who = "Survivor"
		}
		a.thread = append(a.thread, threadLine{at: m.CreatedAt, who: who, text: string(b)})
		fmt.Fprintf(&thread, "\n[%s] %s:\n%s\n", when(m.CreatedAt), who, indent(string(b)))
	}
	if len(msgs) == 0 {
		thread.WriteString("\nNo messages.\n")
	}
	trail, err := s.Audit.ForReport(ctx, r.ID)
	if err != nil {
		return nil, err // a tampered entry fails here: no bundle with a forged trail
	}
	auditJSON, err := auditTrail(trail)
	if err != nil {
		return nil, err
	}
	a.trail = trail
	idsJSON, err := json.MarshalIndent(a.identifierRecords(), "", "  ")
	if err != nil {
		return nil, err
	}
	fileName := "salama-evidence-" + r.CaseRef + "-" + now.Format("20060102") + ".zip"
	trailFrom, trailTo := r.CreatedAt, now
	if len(trail) > 0 {
		trailFrom, trailTo = trail[0].At, trail[len(trail)-1].At
	}
	records := append([]evidence.Record{
		{Path: "README.txt", Captured: now, Data: []byte(readme(r, p.OrgName, now, consent, s.SigningKey(), len(atts))),
			Description: "What the bundle holds and how to check it, written by the system when it produced the bundle."},
		{Path: "account.txt", Captured: r.CreatedAt, Data: []byte(a.text()),
			Description: "The survivor's account as received: their answers to the report form's questions, their own words, what they know about who did it, and the list of files they sent."},
		{Path: "identifiers.json", Captured: r.CreatedAt, Data: append(idsJSON, '\n'),
			Description: "The phone numbers, usernames and links the survivor named, as typed and as normalised, for tools."},
		{Path: "thread.txt", Captured: r.CreatedAt, CapturedUntil: now, Data: []byte(thread.String()),
			Description: "The messages between the survivor and the caseworkers over this period, each with its own time, exactly as written."},
		{Path: "audit.json", Captured: trailFrom, CapturedUntil: trailTo, Data: auditJSON,
			Description: "The system's record of every action on the report (opened, changed, referred, exported), each entry with its time, chained and signed."},
	}, shots...)
	cert, err := evidence.Certificate(evidence.CertificateInfo{CaseRef: r.CaseRef, Organisation: p.OrgName, Produced: now,
		BundleName: fileName, Source: sourceOf(r), System: s.systemParticulars(), SigningKey: s.SigningKey()}, records)
	if err != nil {
		return nil, err
	}
	summary, err := a.summary(p.OrgName, now, consent, s.SigningKey(), fileName, cert)
	if err != nil {
		return nil, err
	}
	files := make([]evidence.File, 0, len(records)+2)
	for _, rec := range records {
		files = append(files, evidence.File{Path: rec.Path, Data: rec.Data})
	}
	files = append(files, evidence.File{Path: evidence.CertificateName, Data: cert}, evidence.File{Path: evidence.SummaryName, Data: summary})
	var buf bytes.Buffer
	sum, err := evidence.Build(&buf, evidence.Header{CaseRef: r.CaseRef, ExportedBy: p.OrgName, ExportedAt: now}, files, s.Signing)
	if err != nil {
		return nil, err
	}
	detail := fmt.Sprintf("sha256=%s files=%d consent=%s", sum, len(files), consent)
	if err := s.record(ctx, audit.UserActor(p.UserID), p.OrgID, audit.ReportExported, r.ID, detail); err != nil {
		return nil, err // no export without its audit entry
	}
	return &Bundle{FileName: fileName, Data: buf.Bytes(), ManifestSHA256: sum}, nil
}

// sourceOf says, for the certificate, how the report's information came
// into the system.
func sourceOf(r *store.Report) string {
	what := "report"
	if r.Kind == store.KindTip {
		what = "tip"
	}
	how := map[string]string{store.ChannelIntakePhone: "during a phone call with the person reporting",
		store.ChannelIntakeWalkIn: "when the person reporting came to the organisation in person",
		store.ChannelIntakeChat:   "during a written chat with the person reporting",
		store.ChannelIntakeOther:  "from what the person reporting told them"}
	if h, ok := how[r.Channel]; ok {
		return "A caseworker of an organisation of the Salama network entered the information into the Salama console " + h +
			", reading out the " + what + " form's questions and recording the answers given, and the person's " +
			"choices about sharing as they stated them. The console records which member of staff did so."
	}
	switch r.Channel {
	case store.ChannelUSSD:
		return "The person reporting entered the answers to the " + what + "'s questions on a mobile phone, " +
			"through Salama's USSD menu (numbered menus shown by the mobile network), and the mobile network's " +
			"USSD gateway passed each answer to the Salama server as it was entered."
	default:
		return "The person reporting typed the information into Salama's " + what + " form, a web page, on a " +
			"device of their own choosing, and sent it to the Salama server over the internet. Nobody " +
			"else entered it, and the server did not record who sent it or from where."
	}
}

// systemParticulars are the certificate's particulars of the system: the
// software and its version as built, the server and the database.
func (s *Service) systemParticulars() []string {
	version := "version not recorded in the program"
	if bi, ok := debug.ReadBuildInfo(); ok {
		version = "version " + bi.Main.Version
		var rev, at, modified string
		for _, kv := range bi.Settings {
			switch kv.Key {
			case "vcs.revision":
				rev = kv.Value
			case "vcs.time":
				at = kv.Value
			case "vcs.modified":
				modified = kv.Value
			}
		}
		if rev != "" {
			version += ", source revision " + rev
			if at != "" {
				version += " of " + at
			}
			if modified == "true" {
				version += " with local changes"
			}
		}
		version += ", built with " + bi.GoVersion
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "name unknown"
	}
	db := "PostgreSQL"
	if s.Store.Engine() == store.SQLite {
		db = "SQLite, embedded in the server program"
	}
	return []string{
		"Software: Salama (github.com/salama-ke/salama), " + version + ".",
		"Server: the computer named " + host + ", running " + runtime.GOOS + " on " + runtime.GOARCH + ", operated for the organisations of the Salama network.",
		"Database: " + db + ". Everything the survivor wrote or sent is stored encrypted (XChaCha20-Poly1305) under a key held only by the receiving organisation.",
		"Clock: the server's system clock, read when each piece of information was received and stored to the second in UTC.",
	}
}

// eat is East Africa Time, in which Kenyan officers read times.
var eat = time.FixedZone("EAT", 3*3600)

// when writes a time for a reader in Kenya, with UTC for the record.
func when(t time.Time) string {
	return t.In(eat).Format("2 Jan 2006 15:04 EAT") + " (" + t.UTC().Format("2006-01-02 15:04 UTC") + ")"
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ")
}

// english is the report form's own wording, in English, for the account: a
// survivor's answer is shown as the question and the choice they saw.
var english = locale.EnglishPrinter

type screenshotLine struct {
	path, contentType, sha256 string
	size                      int
	at                        time.Time
	display                   template.URL   // data: URL of the display copy, for the summary; "" if none
	chat                      *evidence.Chat // a chat export read as a conversation, for the summary; nil if none
}

type threadLine struct {
	at        time.Time
	who, text string
}

// account is the survivor's account as the bundle writes it.
type account struct {
	report      *store.Report
	narrative   string
	country     string
	identifiers []reporting.Identifier
	screenshots []screenshotLine
	thread      []threadLine
	trail       []store.AuditEntry
}

// flagNotes explain the normaliser's flags to a reader.
var flagNotes = map[string]string{
	identifiers.FlagPhoneInvalid:    "not a valid phone number: kept as typed",
	identifiers.FlagPhoneUnverified: "a phone number of the right length, but in no range the numbering plan knows: check it",
	identifiers.FlagHandleUnusual:   "has characters or a length the platform does not allow in usernames: perhaps a display name",
	identifiers.FlagLinkInvalid:     "not a web address: kept as typed",
	identifiers.FlagEmpty:           "empty",
}

type identifierRecord struct {
	Type       string `json:"type"`
	Platform   string `json:"platform,omitempty"`
	AsTyped    string `json:"as_typed"`
	Normalised string `json:"normalised,omitempty"`
	Note       string `json:"note,omitempty"`
}

func (a *account) identifierRecords() []identifierRecord {
	out := []identifierRecord{}
	for _, id := range a.identifiers {
		out = append(out, identifierRecord{Type: id.Type, Platform: id.Platform, AsTyped: id.Value, Normalised: id.Normalised, Note: flagNotes[id.Flag]})
	}
	return out
}

// qa is one question of the form and the survivor's answers, in the
// form's English wording.
type qa struct {
	Question string
	Answers  []string
}

// answers are the survivor's answers under the questions as the form asked
// them, in English: for account.txt and the printable summary alike.
func (a *account) answers() []qa {
	p, r := english(), a.report
	var out []qa
	answer := func(question string, answers ...string) {
		out = append(out, qa{question, answers})
	}
	tr := func(prefix string, codes ...string) []string {
		var out []string
		for _, c := range codes {
			if c != "" {
				out = append(out, p.T(prefix+c))
			}
		}
		return out
	}
	where := []string{}
	switch {
	case r.County == "outside":
		where = append(where, strings.TrimSpace(p.T(directory.CountyKey(r.County))+" "+a.country))
	case r.County != "":
		where = append(where, p.T(directory.CountyKey(r.County)))
	}
	if r.Kind == store.KindTip {
		answer(p.T("tip.county"), where...)
		child := p.T("tip.child.no") + " / " + p.T("tip.child.unsure")
		if r.ChildInvolved {
			child = p.T("tip.child.yes")
		}
		answer(p.T("tip.child"), child)
		return out
	}
	answer(p.T("report.about"), tr("report.about.", r.About)...)
	answer(p.T("report.what"), tr("report.what.", r.Categories...)...)
	answer(p.T("report.age"), tr("report.age.", r.AgeBand)...)
	answer("Where did it happen? (county)", where...)
	answer(p.T("report.when"), tr("report.when.", r.WhenLast)...)
	answer(p.T("report.danger"), tr("choice.", r.DangerNow)...)
	answer(p.T("report.help"), tr("need.", r.Help...)...)
	return out
}

// channelText says in a few words how a report arrived.
func channelText(channel string) string {
	return map[string]string{store.ChannelWeb: "the web form", store.ChannelUSSD: "USSD (a feature phone menu)",
		store.ChannelIntakePhone:  "a caseworker, who took it down during a phone call with the survivor",
		store.ChannelIntakeWalkIn: "a caseworker, who took it down when the survivor came in person",
		store.ChannelIntakeChat:   "a caseworker, who took it down during a chat with the survivor",
		store.ChannelIntakeOther:  "a caseworker, who took it down from the survivor"}[channel]
}

// idKind names an identifier's kind and platform in English: "Phone number
// on WhatsApp".
func idKind(id reporting.Identifier) string {
	p := english()
	kind := p.T("form.id_type." + id.Type)
	if id.Type == "" {
		kind = "Identifier"
	}
	if id.Platform != "" {
		kind += " on " + p.T("platform."+id.Platform)
	}
	return kind
}

func (a *account) text() string {
	r := a.report
	var b strings.Builder
	fmt.Fprintf(&b, "THE SURVIVOR'S ACCOUNT — case %s\n\n", r.CaseRef)
	fmt.Fprintf(&b, "Received: %s\nThrough: %s\n", when(r.CreatedAt), channelText(r.Channel))
	if r.Kind == store.KindTip {
		b.WriteString("This is a tip: someone reporting an advert, a number or an account, not their own story.\n")
	}
	b.WriteString("\nTheir answers, under the questions as the form asked them (in English):\n")
	for _, x := range a.answers() {
		fmt.Fprintf(&b, "\n%s\n", x.Question)
		if len(x.Answers) == 0 {
			b.WriteString("    (not answered)\n")
		}
		for _, a := range x.Answers {
			fmt.Fprintf(&b, "    %s\n", a)
		}
	}
	title := "IN THEIR OWN WORDS"
	if r.Kind == store.KindTip {
		title = "WHAT THEY SAW (their note)"
	}
	fmt.Fprintf(&b, "\n\n%s\n\n", title)
	if a.narrative == "" {
		b.WriteString("(nothing written)\n")
	} else {
		b.WriteString(a.narrative + "\n")
	}
	b.WriteString("\n\nWHAT THEY KNOW ABOUT WHO DID IT\n\n")
	if len(a.identifiers) == 0 {
		b.WriteString("(nothing given)\n")
	}
	for i, id := range a.identifiers {
		fmt.Fprintf(&b, "%d. %s, as typed: %s\n", i+1, idKind(id), id.Value)
		if id.Normalised != "" && id.Normalised != id.Value {
			fmt.Fprintf(&b, "   Normalised: %s\n", id.Normalised)
		}
		if n := flagNotes[id.Flag]; n != "" {
			fmt.Fprintf(&b, "   Note: %s\n", n)
		}
	}
	b.WriteString("\nPhone numbers are normalised to international form (+254… for Kenya),\nusernames to lower case without @, links without tracking parameters.\n")
	b.WriteString("\n\nFILES SENT (screenshots, PDFs, voice notes, chat exports)\n\n")
	if len(a.screenshots) == 0 {
		b.WriteString("(none sent)\n")
	}
	for _, s := range a.screenshots {
		fmt.Fprintf(&b, "%s\n    %s, %d bytes, received %s\n    SHA-256 %s\n", s.path, s.contentType, s.size, when(s.at), s.sha256)
	}
	if len(a.screenshots) > 0 {
		b.WriteString("\nEach file is exactly as the survivor's phone sent it, with any metadata in it.\n")
	}
	return b.String()
}

// exportGround says why a bundle may leave the network, as a sentence's end.
func exportGround(consent string) string {
	switch consent {
	case ExportConsentGiven:
		return "the survivor chose to pass their report to the police."
	case ExportOverride:
		return "a child-protection referral was recorded without the survivor's consent, because a\nchild was at risk, with a written justification (the audit trail shows it)."
	}
	return ""
}

func readme(r *store.Report, org string, now time.Time, consent, key string, screenshots int) string {
	ground := exportGround(consent)
	return fmt.Sprintf(`SALAMA EVIDENCE BUNDLE — case %[1]s

Exported on %[2]s
by %[3]s, through Salama, an anonymous reporting tool for survivors of online
sexual exploitation and trafficking. Exported because %[4]s

WHAT IS IN IT

  README.txt        this text
  account.txt       the survivor's account: their answers and their own words,
                    what they know about who did it, the list of screenshots
  identifiers.json  the phone numbers, usernames and links they named, as typed
                    and normalised, for tools
  thread.txt        the messages between the survivor and the caseworkers
  audit.json        every recorded action on this report: who opened it,
                    changed it, revealed a screenshot, referred it
  screenshots/      the screenshots, and files/ any PDFs, voice notes and chat
                    exports: %[5]d file(s) in all, exactly as the survivor
                    sent them (a chat export's zip with any media inside it)
  certificate.txt   a certificate under section 106B(4) of the Evidence Act for
                    the files above, with their SHA-256 and when each was
                    captured, to be printed and signed by a person in a
                    responsible position at the organisation
  summary.html      all of the above on one printable page (open it in any
                    web browser and print it), the certificate last
  manifest.json     the size and SHA-256 of every file above
  manifest.sig      the signature of manifest.json by the deployment's key

Not in it: how to reach the survivor, and the organisation's private notes.
This export is itself recorded in the report's audit log, as report.exported
with sha256=<the SHA-256 of manifest.json>.

HOW TO CHECK THAT NOTHING WAS CHANGED

With the Salama program, offline:

    salama verify-bundle THIS-FILE.zip --key %[6]s

It prints "bundle OK", or names every file that does not match, whether it
differs from the manifest or from the certificate's schedule. The key
above is the one this bundle names; check it against the key the organisation
gives you separately: its Salama console shows it, and on its server
"salama signing-key" prints it. A bundle signed by any other key is not from
this deployment.

Without Salama: the SHA-256 of each file (sha256sum, certutil -hashfile FILE
SHA256) must be the one manifest.json lists, no file may be missing or added,
and manifest.sig is the Ed25519 signature (standard base64) of the text
"salama/evidence-bundle/v1" and a newline, followed by the exact bytes of
manifest.json.

Each entry of audit.json carries the SHA-256 of the entry before it and its
own Ed25519 signature by the deployment's key at the time it was written, as
the server's audit log does (the same key, unless the key was rotated since:
"salama audit verify" on the server checks the log across rotations).
`, r.CaseRef, when(now), org, ground, screenshots, key)
}

// auditEntry is one entry of audit.json: the stored entry, with its hash
// chain and signature.
type auditEntry struct {
	Seq      int64  `json:"seq"`
	At       string `json:"at"`
	Actor    string `json:"actor"`
	OrgID    string `json:"org_id,omitempty"`
	Action   string `json:"action"`
	ReportID string `json:"report_id"`
	Detail   string `json:"detail,omitempty"`
	PrevHash string `json:"prev_hash"`
	Hash     string `json:"hash"`
	Sig      string `json:"sig"`
}

func auditTrail(es []store.AuditEntry) ([]byte, error) {
	out := make([]auditEntry, 0, len(es))
	for _, e := range es {
		out = append(out, auditEntry{Seq: e.Seq, At: e.At.UTC().Format(time.RFC3339), Actor: e.Actor, OrgID: e.OrgID, Action: e.Action,
			ReportID: e.ReportID, Detail: e.Detail, PrevHash: hex.EncodeToString(e.PrevHash), Hash: hex.EncodeToString(e.Hash),
			Sig: base64.StdEncoding.EncodeToString(e.Sig)})
	}
	b, err := json.MarshalIndent(out, "", "  ")
	return append(b, '\n'), err
}
