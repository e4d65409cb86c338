package evidence

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Limits on chat exports. A chat export is read whole on the server (it is
// the only kind that is), so everything it may cost is bounded here, before
// and while it is read.
const (
	// ChatMaxText bounds the chat text read out of a zip, uncompressed:
	// years of a busy chat are a few megabytes of text. The upload itself
	// is bounded by the form's per-file cap.
	ChatMaxText = 8 << 20
	// ChatMaxMessages bounds the messages kept for the console; an export
	// with more is shown up to there, marked cut (the original, whole, is
	// in the evidence bundle).
	ChatMaxMessages = 20000
	// ChatMaxShown bounds the text of the messages kept for the console
	// (times, names and words together): two megabytes is a thick book,
	// more than anyone reads on a screen, and it bounds what every report
	// holds of its chat's display copy while it is sealed. The rest is
	// marked cut, and is in the original.
	ChatMaxShown = 2 << 20
	// ChatMaxFound bounds the phone numbers and usernames offered to the
	// survivor from one export.
	ChatMaxFound = 50
	// ZipMaxEntries bounds the files a chat zip may list (its chat and its
	// media): a chat with media has one file per photo or voice note.
	ZipMaxEntries = 2000
	// ZipMaxTotal bounds what the entries of a zip claim to hold
	// uncompressed, together; only the chat text is ever read.
	ZipMaxTotal = 1 << 30
	// ZipMaxRatio bounds how much smaller than its content an entry may
	// be compressed: text deflates by 3 to 10 times, a "zip bomb" by a
	// thousand.
	ZipMaxRatio = 100
)

// Chat is a chat export as read for the console: who wrote what, when, as
// the export says it (times are kept as written, in the phone's own format:
// a date like 03/04/2026 is not interpreted, since the export does not say
// whether it is day or month first).
type Chat struct {
	App       string        `json:"app"` // "whatsapp" or "telegram"
	Messages  []ChatMessage `json:"messages"`
	Truncated bool          `json:"truncated,omitempty"` // more than ChatMaxMessages
	// Media counts the files beside the chat in a zip: never opened, kept
	// inside the original, which goes whole into the evidence bundle.
	Media int `json:"media,omitempty"`
	// Found are the phone numbers, usernames and links in the chat, for
	// the survivor to choose from.
	Found []Found `json:"found,omitempty"`
}

// ChatMessage is one message; From is empty for the app's own notices
// ("Messages and calls are end-to-end encrypted").
type ChatMessage struct {
	At   string `json:"at"`
	From string `json:"from,omitempty"`
	Text string `json:"text"`
}

// Found is an identifier seen in a chat: Type is "phone", "handle" or
// "link" (as the report form's identifier rows), Platform the app where
// the chat says so.
type Found struct {
	Type     string `json:"type"`
	Platform string `json:"platform,omitempty"`
	Value    string `json:"value"`
}

// chatTextType says which chat export a file that is not a zip could be:
// TelegramJSON for a JSON object, WhatsAppText for text, "" for anything
// with bytes text never holds (a NUL, or not UTF-8 at all).
func chatTextType(data []byte) string {
	head := data[:min(len(data), 4096)]
	if len(head) == 0 || bytes.IndexByte(head, 0) >= 0 {
		return ""
	}
	// A cut in the middle of a character at the end of head is fine.
	if !utf8.Valid(head) && !utf8.Valid(head[:max(0, len(head)-3)]) {
		return ""
	}
	t := bytes.TrimLeft(bytes.TrimPrefix(head, []byte("\xef\xbb\xbf")), " \t\r\n")
	if bytes.HasPrefix(t, []byte("{")) {
		return TelegramJSON
	}
	return WhatsAppText
}

// ReadChat reads a chat export of the given content type (as Check
// returned it): ErrNotChat if it is not one, ErrBomb or ErrBrokenFile for a
// zip that is refused.
func ReadChat(contentType string, data []byte) (*Chat, error) {
	switch contentType {
	case WhatsAppText:
		return readWhatsApp(data)
	case TelegramJSON:
		return readTelegram(data)
	case WhatsAppZip:
		return readChatZip(data)
	}
	return nil, ErrNotChat
}

// Conversation reads a chat export in one of the decoder's slots (a zip's
// chat is inflated, up to ChatMaxText, and the whole is parsed), and
// returns its display copy: the Chat as JSON.
func (d *Decoder) Conversation(ctx context.Context, contentType string, data []byte) ([]byte, error) {
	var out []byte
	err := d.run(ctx, int64(len(data))*4+ChatMaxText, func() error {
		c, err := ReadChat(contentType, data)
		if err != nil {
			return err
		}
		out, err = json.Marshal(c)
		return err
	})
	return out, err
}

// Check is the package's Check for a file a survivor sends, with a chat
// export read in one of the decoder's slots, as Conversation reads it:
// reading one holds its inflated text, its messages and their display
// copy at once, tens of megabytes for a zip of a few hundred kilobytes, so
// that chats checked at once are bounded by the slots like every other
// memory-heavy work, not by how many fit in the upload budget. For a chat
// export it also returns its display copy, made in the same reading (nil
// for other kinds), and ErrBusy when no slot came in time.
func (d *Decoder) Check(ctx context.Context, data []byte) (contentType string, conversation []byte, err error) {
	if ct, ok, err := checkMedia(data); ok {
		return ct, nil, err
	}
	ct := chatType(data)
	if ct == "" {
		return "", nil, ErrUnknownType
	}
	conversation, err = d.Conversation(ctx, ct, data)
	if err != nil {
		return ct, nil, err
	}
	return ct, conversation, nil
}

// readChatZip reads the chat out of a zip as WhatsApp writes it
// ("_chat.txt" from an iPhone, "WhatsApp Chat with NAME.txt" from Android,
// beside the media if they were included), or a Telegram result.json
// someone zipped. Before the zip is opened, its end record must claim at
// most ZipMaxEntries entries; then every name must be a plain relative
// path and every entry within ZipMaxRatio and, together, ZipMaxTotal; the
// chat is read through a limit of ChatMaxText whatever its header claims.
// Media are never opened.
func readChatZip(data []byte) (*Chat, error) {
	n, err := zipEntries(data)
	if err != nil {
		return nil, err
	}
	if n > ZipMaxEntries {
		return nil, fmt.Errorf("%w: %d files", ErrBomb, n)
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBrokenFile, err)
	}
	var (
		total      uint64
		chat, tg   *zip.File
		texts      []*zip.File
		media      int
		whatsAppRE = regexp.MustCompile(`(?i)^whatsapp.*\.txt$`)
	)
	for _, f := range zr.File {
		name := f.Name
		if name == "" || strings.HasPrefix(name, "/") || strings.Contains(name, "\\") || strings.Contains(name, ":") ||
			strings.Contains("/"+name+"/", "/../") || strings.ContainsRune(name, 0) {
			return nil, fmt.Errorf("%w: a file named %q", ErrBrokenFile, name)
		}
		total += f.UncompressedSize64
		if total > ZipMaxTotal {
			return nil, fmt.Errorf("%w: %d bytes uncompressed", ErrBomb, total)
		}
		if f.UncompressedSize64 > ZipMaxRatio*max(f.CompressedSize64, 1) && f.UncompressedSize64 > 1<<20 {
			return nil, fmt.Errorf("%w: %q compressed %d times", ErrBomb, name, f.UncompressedSize64/max(f.CompressedSize64, 1))
		}
		if strings.HasSuffix(name, "/") {
			continue // a folder
		}
		base := path.Base(name)
		switch {
		case base == "_chat.txt" && chat == nil:
			chat = f
		case whatsAppRE.MatchString(base) && !strings.Contains(name, "/") && chat == nil:
			chat = f
		case base == "result.json" && tg == nil:
			tg = f
		case strings.HasSuffix(strings.ToLower(base), ".txt"):
			texts = append(texts, f)
		default:
			media++
		}
	}
	read, ct := chat, WhatsAppText
	switch {
	case chat != nil:
		media += len(texts)
	case tg != nil:
		read, ct = tg, TelegramJSON
		media += len(texts)
	case len(texts) == 1:
		read = texts[0]
	default:
		return nil, fmt.Errorf("%w: no chat in the zip", ErrNotChat)
	}
	if read.UncompressedSize64 > ChatMaxText {
		return nil, fmt.Errorf("%w: a chat of %d bytes", ErrBomb, read.UncompressedSize64)
	}
	rc, err := read.Open()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBrokenFile, err)
	}
	defer rc.Close()
	// The header's size is the sender's word: the limit is ours.
	// Read into a buffer of the size the header claims (within the
	// limit), not one that doubles as it goes.
	buf := bytes.NewBuffer(make([]byte, 0, min(read.UncompressedSize64, ChatMaxText)+bytes.MinRead))
	_, err = buf.ReadFrom(io.LimitReader(rc, ChatMaxText+1))
	text := buf.Bytes()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBrokenFile, err)
	}
	if len(text) > ChatMaxText || uint64(len(text)) > ZipMaxRatio*max(read.CompressedSize64, 1) && len(text) > 1<<20 {
		return nil, fmt.Errorf("%w: the chat inflates past its limit", ErrBomb)
	}
	if chatTextType(text) != ct {
		return nil, fmt.Errorf("%w: %q is not a chat", ErrNotChat, read.Name)
	}
	c, err := ReadChat(ct, text)
	if err != nil {
		return nil, err
	}
	c.Media = media
	return c, nil
}

// zipEntries reads the number of entries a zip's end-of-central-directory
// record claims, before archive/zip allocates one record per entry. A
// Zip64 archive (more than 65535 entries, or over 4 GB) is refused: no
// chat export is one.
func zipEntries(data []byte) (int, error) {
	const eocd = 22
	if len(data) < eocd {
		return 0, fmt.Errorf("%w: zip cut off", ErrBrokenFile)
	}
	from := max(0, len(data)-eocd-65535)
	i := bytes.LastIndex(data[from:], []byte("PK\x05\x06"))
	if i < 0 || from+i+eocd > len(data) {
		return 0, fmt.Errorf("%w: zip without its directory (cut off?)", ErrBrokenFile)
	}
	rec := data[from+i:]
	n := int(binary.LittleEndian.Uint16(rec[10:]))
	if n == 0xffff || binary.LittleEndian.Uint32(rec[12:]) == 0xffffffff {
		return 0, fmt.Errorf("%w: Zip64", ErrBomb)
	}
	return n, nil
}

// WhatsApp writes one line per message, in the phone's date and time
// format, then continuation lines for a message of several lines:
//
//	Android: 12/03/2026, 21:14 - Name: text      (also 12.03.26, 3/12/26, 2026-03-12, "9:14 pm")
//	iPhone:  [12/03/2026, 21:14:05] Name: text
//
// Notices have no name ("12/03/2026, 21:14 - Messages and calls are
// end-to-end encrypted…"). The patterns are Go regular expressions, which
// run in time linear in the line whatever it holds.
var (
	waDate    = `(\d{1,4}[./-]\d{1,2}[./-]\d{1,4})`
	waTime    = `(\d{1,2}[:.]\d{2}(?:[:.]\d{2})?(?:[\s\x{202f}\x{a0}]?[AaPp]\.?\s?[Mm]\.?)?)`
	waAndroid = regexp.MustCompile(`^` + waDate + `,?\s` + waTime + `\s[-–]\s(.*)$`)
	waIOS     = regexp.MustCompile(`^\[` + waDate + `,?\s` + waTime + `\]\s(.*)$`)
)

// bidi are the invisible direction marks WhatsApp puts before some lines.
const bidi = "\u200e\u200f\u202a\u202b\u202c\ufeff"

// senderMax bounds a sender's name: past it, the colon is in the text.
const senderMax = 80

// readWhatsApp reads the text of a WhatsApp export. At least one line must
// be a message line, within the first lines: any other text is not a chat.
func readWhatsApp(data []byte) (*Chat, error) {
	c := &Chat{App: "whatsapp"}
	shown := 0
	var more strings.Builder // the current message's continuation lines
	join := func() {
		if more.Len() > 0 && len(c.Messages) > 0 {
			last := &c.Messages[len(c.Messages)-1]
			last.Text += more.String()
		}
		more.Reset()
	}
	// Line by line, on data itself: no string of the whole text, which may
	// be ChatMaxText, is made beside it, only of each message line.
	lines, seen := 0, false
	for raw := range bytes.Lines(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))) {
		if c.Truncated {
			break // nothing after the cut changes the chat
		}
		if !utf8.Valid(raw) {
			raw = bytes.ToValidUTF8(raw, []byte("\uFFFD"))
		}
		lb := bytes.TrimRight(bytes.TrimLeft(raw, bidi), "\r\n")
		lines++
		var (
			m    []string
			line string
		)
		if waAndroid.Match(lb) || waIOS.Match(lb) {
			line = string(lb)
			m = waAndroid.FindStringSubmatch(line)
			if m == nil {
				m = waIOS.FindStringSubmatch(line)
			}
		}
		if m == nil {
			if !seen {
				if lines > 5 {
					break
				}
				continue
			}
			if c.Truncated {
				continue
			}
			if shown += len(lb) + 1; shown > ChatMaxShown {
				c.Truncated = true
				continue
			}
			// Gathered and joined once the message ends: adding each
			// line to the text would copy it again for every line, a
			// quadratic cost a file of short lines would exploit.
			more.WriteString("\n")
			more.Write(lb)
			continue
		}
		seen = true
		if shown += len(line); len(c.Messages) == ChatMaxMessages || shown > ChatMaxShown {
			c.Truncated = true
			continue
		}
		msg := ChatMessage{At: m[1] + ", " + strings.Map(spaceOut, m[2]), Text: strings.TrimLeft(m[3], bidi)}
		if k := strings.Index(msg.Text, ": "); k > 0 && k <= senderMax {
			msg.From, msg.Text = strings.TrimLeft(msg.Text[:k], bidi), strings.TrimLeft(msg.Text[k+2:], bidi)
		}
		join()
		c.Messages = append(c.Messages, msg)
	}
	join()
	if !seen {
		return nil, fmt.Errorf("%w: no WhatsApp message lines", ErrNotChat)
	}
	c.Found = findIdentifiers(c, "whatsapp")
	return c, nil
}

// spaceOut turns the narrow and no-break spaces of newer exports ("9:14 pm")
// into plain ones.
func spaceOut(r rune) rune {
	if r == '\u202f' || r == '\u00a0' {
		return ' '
	}
	return r
}

// telegramExport is what Salama reads of Telegram Desktop's "Export chat
// history" in JSON (result.json): the chat's messages.
type telegramExport struct {
	Messages *[]struct {
		Type string          `json:"type"`
		Date string          `json:"date"`
		From *string         `json:"from"`
		Text json.RawMessage `json:"text"`
		// A service message ("joined the group") has an actor and an
		// action instead.
		Actor  *string `json:"actor"`
		Action string  `json:"action"`
		// Media, named but never part of the JSON.
		MediaType string `json:"media_type"`
		File      string `json:"file"`
		Photo     string `json:"photo"`
	} `json:"messages"`
}

// readTelegram reads a Telegram JSON export. Its size is bounded by the
// upload's (or ChatMaxText in a zip): json.Unmarshal holds a few times
// that at most, and nests no deeper than its own limit.
func readTelegram(data []byte) (*Chat, error) {
	var e telegramExport
	if err := json.Unmarshal(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")), &e); err != nil || e.Messages == nil {
		return nil, fmt.Errorf("%w: not a Telegram export (no \"messages\")", ErrNotChat)
	}
	c := &Chat{App: "telegram"}
	shown := 0
	for _, m := range *e.Messages {
		if len(c.Messages) == ChatMaxMessages || shown > ChatMaxShown {
			c.Truncated = true
			break
		}
		msg := ChatMessage{At: strings.Replace(m.Date, "T", " ", 1), Text: telegramText(m.Text)}
		switch {
		case m.From != nil:
			msg.From = *m.From
		case m.Actor != nil:
			msg.From = *m.Actor
		}
		if m.Type == "service" && m.Action != "" {
			msg.Text = strings.TrimSpace("(" + strings.ReplaceAll(m.Action, "_", " ") + ") " + msg.Text)
		}
		for _, f := range []string{m.Photo, m.File} {
			if f != "" {
				msg.Text = strings.TrimSpace(msg.Text + "\n[" + cmpOr(m.MediaType, "file") + ": " + path.Base(f) + "]")
			}
		}
		if shown += len(msg.At) + len(msg.From) + len(msg.Text); shown > ChatMaxShown {
			c.Truncated = true
			break
		}
		c.Messages = append(c.Messages, msg)
	}
	c.Found = findIdentifiers(c, "telegram")
	return c, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// telegramText joins a message's text, which Telegram writes as a string,
// or as a list of strings and {"type": "link", "text": "…"} pieces.
func telegramText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var parts []json.RawMessage
	if json.Unmarshal(raw, &parts) != nil {
		return ""
	}
	var b strings.Builder
	for _, p := range parts {
		var piece struct {
			Text string `json:"text"`
		}
		if json.Unmarshal(p, &s) == nil {
			b.WriteString(s)
		} else if json.Unmarshal(p, &piece) == nil {
			b.WriteString(piece.Text)
		}
	}
	return b.String()
}

// What findIdentifiers looks for: international numbers (+254 712 345 678,
// +44 7700 900123), Kenyan mobile numbers written locally (0712 345 678,
// 0110-123-456), @usernames (not e-mail addresses: the @ must not follow a
// letter), and t.me and wa.me links.
var (
	intlPhoneRE  = regexp.MustCompile(`\+\d{1,3}(?:[ \-]?\d{2,4}){2,5}`)
	localPhoneRE = regexp.MustCompile(`\b0[17]\d{2}[ \-]?\d{3}[ \-]?\d{3}\b`)
	handleRE     = regexp.MustCompile(`(?:^|[^\w@.])@([A-Za-z0-9_](?:[A-Za-z0-9_.]{1,30}[A-Za-z0-9_])?)`)
	linkRE       = regexp.MustCompile(`(?i)\b(?:https?://)?(?:t|telegram|wa)\.me/[A-Za-z0-9_+]{3,64}`)
)

// findIdentifiers lists the distinct phone numbers, usernames and links in
// a chat's senders and texts, in the order they first appear, at most
// ChatMaxFound.
func findIdentifiers(c *Chat, app string) []Found {
	var out []Found
	seen := map[string]bool{}
	add := func(typ, platform, v string) {
		v = strings.TrimSpace(v)
		key := typ + "\x00" + strings.ToLower(strings.NewReplacer(" ", "", "-", "").Replace(v))
		if len(out) >= ChatMaxFound || seen[key] {
			return
		}
		seen[key] = true
		out = append(out, Found{Type: typ, Platform: platform, Value: v})
	}
	for _, m := range c.Messages {
		for _, s := range []string{m.From, m.Text} {
			if len(out) >= ChatMaxFound {
				return out
			}
			for _, v := range intlPhoneRE.FindAllString(s, ChatMaxFound) {
				if d := digits(v); d >= 9 && d <= 15 {
					add("phone", phonePlatform(app), v)
				}
			}
			for _, v := range localPhoneRE.FindAllString(s, ChatMaxFound) {
				add("phone", phonePlatform(app), v)
			}
			for _, v := range linkRE.FindAllString(s, ChatMaxFound) {
				add("link", "", v)
			}
			for _, m := range handleRE.FindAllStringSubmatch(s, ChatMaxFound) {
				platform := ""
				if app == "telegram" {
					platform = "telegram"
				}
				add("handle", platform, "@"+m[1])
			}
		}
	}
	return out
}

// phonePlatform: a number in a WhatsApp chat is a WhatsApp number; one in
// a Telegram chat could be anyone's.
func phonePlatform(app string) string {
	if app == "whatsapp" {
		return "whatsapp"
	}
	return ""
}

func digits(s string) int {
	n := 0
	for _, r := range s {
		if r >= '0' && r <= '9' {
			n++
		}
	}
	return n
}
