package reporting

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/salama-ke/salama/internal/evidence"
	et "github.com/salama-ke/salama/internal/evidence/evidencetest"
)

// hugePNG is a PNG header claiming w × h pixels, and nothing else.
func hugePNG(w, h uint32) []byte {
	ihdr := binary.BigEndian.AppendUint32(nil, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, 6, 0, 0, 0)
	return append([]byte("\x89PNG\r\n\x1a\n"), et.PNGChunk("IHDR", ihdr)...)
}

func TestUploadsChecksPixels(t *testing.T) {
	screenshot := et.PNG(t, et.TwoColours(108, 240))
	for _, tc := range []struct {
		name    string
		files   [][]byte
		problem string
	}{
		{"a screenshot and a photo", [][]byte{screenshot, et.Photo(t, 40, 30, 1)}, ""},
		{"not an image", [][]byte{[]byte("MZ\x90\x00 not an image")}, "problem.file_type"},
		{"a GIF", [][]byte{[]byte("GIF89a\x01\x00\x01\x00")}, "problem.file_type"},
		{"a decompression bomb", [][]byte{screenshot, hugePNG(50000, 50000)}, "problem.image_too_large"},
		{"too wide", [][]byte{hugePNG(20000, 10)}, "problem.image_too_large"},
	} {
		s := &Service{Config: Config{Images: evidence.NewDecoder(nil, 4, time.Second)}}
		got, problem, err := s.Uploads(t.Context(), tc.files)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if problem != tc.problem {
			t.Errorf("%s: problem %q, want %q", tc.name, problem, tc.problem)
		}
		if problem == "" && (len(got) != len(tc.files) || got[0].ContentType != "image/png" || got[1].ContentType != "image/jpeg" || !bytes.Equal(got[1].Data, tc.files[1])) {
			t.Errorf("%s: read %d uploads", tc.name, len(got))
		}
	}
}

// countingSlots hands out n slots and remembers the most ever held at once
// and how many were taken.
type countingSlots struct {
	sem             chan struct{}
	held, max, used atomic.Int64
}

func newCountingSlots(n int) *countingSlots { return &countingSlots{sem: make(chan struct{}, n)} }

func (c *countingSlots) Slot(ctx context.Context) (func(), error) {
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	c.used.Add(1)
	n := c.held.Add(1)
	for m := c.max.Load(); n > m && !c.max.CompareAndSwap(m, n); m = c.max.Load() {
	}
	time.Sleep(time.Millisecond) // long enough for the others to pile up
	return func() { c.held.Add(-1); <-c.sem }, nil
}

// Chat exports are read whole when a form is checked: tens of megabytes
// each, for a zip of a few hundred kilobytes, so that the upload budget
// alone would let dozens be read at once. Each is read in one of the
// decoder's slots (the ones argon2id takes), never more at once than the
// slots, and its display copy is kept from that reading, so that storing
// the report does not read it again.
func TestUploadsReadChatsInSlots(t *testing.T) {
	slots := newCountingSlots(2)
	s := &Service{Config: Config{Images: evidence.NewDecoder(slots, 64, time.Minute)}}
	chats := [][]byte{
		et.Zip("_chat.txt")(et.WhatsAppAndroid("Boss: send it or I post them", "Boss: call +254 712 345 678")),
		et.WhatsAppIOS("Boss: you have until Friday"),
		et.Telegram([2]string{"Boss", "pay or they see"}),
	}
	shot := et.PNG(t, et.TwoColours(108, 240))
	const senders = 12
	var wg sync.WaitGroup
	for i := range senders {
		wg.Go(func() {
			files := [][]byte{chats[i%len(chats)], shot}
			got, problem, err := s.Uploads(t.Context(), files)
			if err != nil || problem != "" || len(got) != 2 {
				t.Errorf("sender %d: %d uploads, problem %q, %v", i, len(got), problem, err)
				return
			}
			if got[0].conversation == nil || got[1].conversation != nil {
				t.Errorf("sender %d: display copies %q, %q", i, got[0].conversation, got[1].conversation)
			}
		})
	}
	wg.Wait()
	if n := slots.used.Load(); n != senders {
		t.Errorf("%d slots taken for %d chat exports (screenshots take none here)", n, senders)
	}
	if m := slots.max.Load(); m > 2 || m < 1 {
		t.Errorf("%d chat exports read at once, with 2 slots", m)
	}

	// The report is stored from that reading: no slot is taken again.
	up, _, err := s.Uploads(t.Context(), chats[:1])
	if err != nil {
		t.Fatal(err)
	}
	before := slots.used.Load()
	p, err := s.prepare(t.Context(), Input{Files: up})
	if err != nil || len(p.displays) != 1 || !bytes.HasPrefix(p.displays[0], []byte(evidence.Conversation+"\n{")) {
		t.Fatalf("prepare: %v, %q", err, p.displays)
	}
	if slots.used.Load() != before {
		t.Error("the chat export was read again to store it")
	}
}

// When every slot stays taken, a chat export is not read outside them: the
// form is refused as busy, with no problem to fix in the files.
func TestUploadsChatBusy(t *testing.T) {
	slots := newCountingSlots(1)
	release, err := slots.Slot(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	s := &Service{Config: Config{Images: evidence.NewDecoder(slots, 4, 50*time.Millisecond)}}
	chat := et.WhatsAppAndroid("Boss: send it")
	got, problem, err := s.Uploads(t.Context(), [][]byte{et.PNG(t, et.TwoColours(108, 240)), chat})
	if !errors.Is(err, ErrBusy) || problem != "" || got != nil {
		t.Fatalf("got %d uploads, problem %q, %v; want ErrBusy", len(got), problem, err)
	}
	// A screenshot alone is checked from its header, without a slot.
	if _, problem, err := s.Uploads(t.Context(), [][]byte{et.PNG(t, et.TwoColours(108, 240))}); err != nil || problem != "" {
		t.Errorf("a screenshot: problem %q, %v", problem, err)
	}
}
