package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/salama-ke/salama/internal/evidence"
	et "github.com/salama-ke/salama/internal/evidence/evidencetest"
	"github.com/salama-ke/salama/internal/web"
)

// uploadLoad is how many survivors the upload memory section sends at
// once: issue 12's ten worst-case uploads, and issue 17's fifty URL-encoded
// bodies the size of the old 26 MB cap. Tests make them smaller.
var uploadLoad = struct {
	Uploads, Rounds, Floods int
	FloodBytes              int64
}{Uploads: 10, Rounds: 2, Floods: 50, FloodBytes: 26 << 20}

// uploadMemory watches the server's peak resident memory while survivors
// send the costliest screenshots the limits accept, and while others send
// bodies far past the form's cap. SPEC §8's budget: ≤ 100 MB plus the
// memory of the argon2id slots in flight; screenshots are decoded in those
// same slots, so the budget counts the slots seen in use at once (argon2id
// and decodes), each 64 MiB.
//
// The screenshots are the worst case both ways: the largest dimensions
// whose decoding cost the limits accept (an interlaced RGBA PNG of a
// phone screenshot's shape, a progressive 4:2:0 JPEG of a photo's), each
// padded with metadata the decoders skip to just under the upload limit,
// so that every upload also holds as many bytes as it may.
func uploadMemory(ctx context.Context, e *env) ([]Result, error) {
	maxUpload := web.DefaultConfig().MaxUpload // what start gives the server
	pngW := evidence.LargestAccepted(func(w int) []byte { return interlacedHeader(w, w*20/9) })
	jpgW := evidence.LargestAccepted(func(w int) []byte { return et.ProgressiveJPEG(w, w*3/4, "4:2:0") })
	img := image.NewNRGBA(image.Rect(0, 0, pngW, pngW*20/9))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = 240, 240, 235, 254 // not opaque: RGBA, 4 bytes a pixel
	}
	shots := map[string][]byte{
		"interlaced.png":  et.Padded(et.InterlacedPNG(img), int(maxUpload)-4<<10),
		"progressive.jpg": et.Padded(et.ProgressiveJPEG(jpgW, jpgW*3/4, "4:2:0"), int(maxUpload)-4<<10),
	}
	var paths []string
	for name, b := range shots {
		info, err := evidence.Inspect(b)
		if err != nil {
			return nil, fmt.Errorf("the worst-case %s is refused: %w", name, err)
		}
		path := filepath.Join(e.dir, name)
		if err := os.WriteFile(path, b, 0o600); err != nil {
			return nil, err
		}
		paths = append(paths, path)
		e.note("Upload memory: %s is %d × %d, %s bytes, decoding cost %s MB of %s.", name, info.Width, info.Height,
			num(float64(len(b))), num(float64(info.Cost)/MB), num(float64(evidence.MaxDecodeBytes)/MB))
	}
	budget := func(r Result) *Budget {
		slots := max(r.Detail["slots_in_flight_max"], r.Detail["argon2id_in_flight_max"])
		return &Budget{Limit: (100*MB + slots*64*MiB) / MB,
			Source: fmt.Sprintf("SPEC §8: ≤ 100 MB + the argon2id slots in flight (%v × 64 MiB), decodes included", slots)}
	}

	l := uploadLoad
	uploads := e.App.Web.Uploads()
	peak0, busy0 := uploads.Peak(), e.App.Images.Busy()
	r, res, err := peakDuring(ctx, e, loadSpec{Base: e.Base, Lang: "en", Reporters: l.Uploads, Reports: l.Uploads * l.Rounds,
		Net: 0x300, Files: paths})
	if err != nil {
		return nil, err
	}
	r.Name = fmt.Sprintf("peak resident memory, %d worst-case screenshot uploads at once", l.Uploads)
	r.Budget = budget(r)
	r.Detail["upload_budget_peak_MB"] = float64(max(uploads.Peak(), peak0)) / MB
	r.Detail["decodes_max"] = float64(e.App.Images.Peak())
	if b := e.App.Images.Busy() - busy0; b > 0 {
		r.Detail["busy"] = float64(b)
	}
	if res.Failed > 0 {
		r.Note = fmt.Sprint(res.Errors)
	}
	rows := []Result{r}

	// Chat exports are the one kind read whole on the server: the
	// costliest the limits accept, a WhatsApp zip whose chat inflates to
	// evidence.ChatMaxText and a Telegram result.json as big as an
	// upload, each of them as many short messages as it can hold.
	chats, err := worstChats(e.dir, maxUpload)
	if err != nil {
		return nil, err
	}
	for _, c := range chats {
		e.note("Upload memory: %s", c.note)
	}
	c, res, err := peakDuring(ctx, e, loadSpec{Base: e.Base, Lang: "en", Reporters: l.Uploads, Reports: l.Uploads * l.Rounds,
		Net: 0x302, Files: []string{chats[0].path, chats[1].path}})
	if err != nil {
		return nil, err
	}
	c.Name = fmt.Sprintf("peak resident memory, %d worst-case chat-export uploads at once", l.Uploads)
	c.Budget = budget(c)
	c.Detail["decodes_max"] = float64(e.App.Images.Peak())
	c.Detail["upload_budget_peak_MB"] = float64(uploads.Peak()) / MB
	if res.Failed > 0 {
		c.Note = fmt.Sprint(res.Errors)
	}
	rows = append(rows, c)

	f, res, err := peakDuring(ctx, e, loadSpec{Base: e.Base, Lang: "sw", Reporters: l.Floods, Reports: l.Floods,
		Net: 0x301, Flood: l.FloodBytes})
	if err != nil {
		return nil, err
	}
	f.Name = fmt.Sprintf("peak resident memory, %d URL-encoded %s MB bodies at once", l.Floods, num(float64(l.FloodBytes)/MiB))
	f.Budget = budget(f)
	f.Detail["answered_413"] = float64(res.Refused)
	delete(f.Detail, "cpu_ms_per_report")
	if res.Failed > 0 {
		f.Note = fmt.Sprint(res.Errors)
	}
	return append(rows, f), nil
}

// interlacedHeader is the start of an interlaced 8-bit RGBA PNG claiming
// w × h pixels: all evidence.Inspect reads of it.
func interlacedHeader(w, h int) []byte {
	ihdr := []byte{byte(w >> 24), byte(w >> 16), byte(w >> 8), byte(w), byte(h >> 24), byte(h >> 16), byte(h >> 8), byte(h), 8, 6, 0, 0, 1}
	return append([]byte("\x89PNG\r\n\x1a\n"), et.PNGChunk("IHDR", ihdr)...)
}

type chatFile struct{ path, note string }

// worstChats writes the two costliest chat exports the limits accept: a
// WhatsApp zip whose _chat.txt is as close to evidence.ChatMaxText as an
// upload's size lets it be deflated (varied text, so that it does not
// compress past the zip limits), and a Telegram result.json of just under
// an upload. Their text is made from SHA-256 of a counter: varied, the
// same every run, and no math/rand outside tests.
func worstChats(dir string, maxUpload int64) ([]chatFile, error) {
	words := func(n int) string {
		var b strings.Builder
		for i := 0; b.Len() < n; i++ {
			sum := sha256.Sum256([]byte(strconv.Itoa(i)))
			b.WriteString(hex.EncodeToString(sum[:6]))
			b.WriteByte(' ')
		}
		return b.String()
	}
	var text strings.Builder
	for i := 0; ; i++ {
		line := fmt.Sprintf("12/03/2026, 21:%02d - +254 7%02d %03d %03d: %s@u%d\n", i%60, i%100, i%1000, (i*7)%1000, words(60+i%200), i%5000)
		if text.Len()+len(line) > evidence.ChatMaxText {
			break
		}
		text.WriteString(line)
	}
	chat := []byte(text.String())
	var zipped []byte
	for {
		zipped = et.Zip("_chat.txt")(chat)
		if int64(len(zipped)) <= maxUpload-4<<10 {
			break
		}
		chat = chat[:len(chat)*9/10]
		chat = chat[:bytes.LastIndexByte(chat, '\n')+1]
	}
	var msgs [][2]string
	for i := 0; ; i++ {
		msgs = append(msgs, [2]string{"+254 7" + strconv.Itoa(i%100), words(60 + i%200)})
		if i%500 == 0 && int64(len(et.Telegram(msgs...))) > maxUpload-64<<10 {
			msgs = msgs[:len(msgs)-500]
			break
		}
	}
	tg := et.Telegram(msgs...)
	var out []chatFile
	for _, f := range []struct {
		name string
		data []byte
	}{{"WhatsApp Chat with Boss.zip", zipped}, {"result.json", tg}} {
		ct, err := evidence.Check(f.data)
		if err != nil {
			return nil, fmt.Errorf("the worst-case %s is refused: %w", f.name, err)
		}
		c, _ := evidence.ReadChat(ct, f.data)
		path := filepath.Join(dir, f.name)
		if err := os.WriteFile(path, f.data, 0o600); err != nil {
			return nil, err
		}
		out = append(out, chatFile{path, fmt.Sprintf("%s is %s bytes, %d messages (%v cut), %d identifiers found.",
			f.name, num(float64(len(f.data))), len(c.Messages), c.Truncated, len(c.Found))})
	}
	return out, nil
}
