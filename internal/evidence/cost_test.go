package evidence

import (
	"context"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"runtime"
	"sync"
	"testing"
	"time"

	et "github.com/salama-ke/salama/internal/evidence/evidencetest"
)

// costCases are images of every layout whose decoding costs differ.
func costCases(t *testing.T) []struct {
	name string
	data []byte
} {
	const w, h = 600, 400
	grey := image.NewGray(image.Rect(0, 0, w, h))
	grey16 := image.NewGray16(image.Rect(0, 0, w, h))
	rgb := et.TwoColours(w, h) // opaque: image/png writes it as RGB
	nrgba := image.NewNRGBA(image.Rect(0, 0, w, h))
	rgba64 := image.NewNRGBA64(image.Rect(0, 0, w, h))
	pal := make(color.Palette, 256)
	for i := range pal {
		pal[i] = color.RGBA{uint8(i), 0, 0, 255}
	}
	paletted := image.NewPaletted(image.Rect(0, 0, w, h), pal)
	for i := range nrgba.Pix {
		nrgba.Pix[i] = uint8(i)
		paletted.Pix[i%len(paletted.Pix)] = uint8(i)
	}
	greyTRNS := et.PNG(t, grey)
	greyTRNS = append(greyTRNS[:33:33], append(et.PNGChunk("tRNS", []byte{0, 0}), greyTRNS[33:]...)...)
	jpg := func(img image.Image) []byte {
		b, err := encodeJPEG(img)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	return []struct {
		name string
		data []byte
	}{
		{"png grey", et.PNG(t, grey)},
		{"png grey with tRNS", greyTRNS},
		{"png grey 16-bit", et.PNG(t, grey16)},
		{"png rgb", et.PNG(t, rgb)},
		{"png rgba", et.PNG(t, nrgba)},
		{"png rgba 16-bit", et.PNG(t, rgba64)},
		{"png paletted", et.PNG(t, paletted)},
		{"png grey interlaced", et.InterlacedPNG(grey)},
		{"png rgba interlaced", et.InterlacedPNG(nrgba)},
		{"png rgba 16-bit interlaced", et.InterlacedPNG(rgba64)},
		{"png paletted interlaced", et.InterlacedPNG(paletted)},
		{"jpeg baseline 4:2:0", jpg(rgb)},
		{"jpeg baseline grey", jpg(grey)},
		{"jpeg progressive grey", et.ProgressiveJPEG(w, h, "gray")},
		{"jpeg progressive 4:2:0", et.ProgressiveJPEG(w, h, "4:2:0")},
		{"jpeg progressive 4:4:4", et.ProgressiveJPEG(w, h, "4:4:4")},
		{"jpeg progressive rgb", et.ProgressiveJPEG(w, h, "rgb")},
		{"jpeg progressive cmyk", et.ProgressiveJPEG(w, h, "cmyk")},
	}
}

// allocated is what fn allocates on the heap, in bytes. Nothing else runs
// meanwhile: these tests are not parallel.
func allocated(fn func()) int64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return int64(after.TotalAlloc - before.TotalAlloc)
}

// The cost computed from the header is what the standard library's
// decoders really allocate: never less (or a crafted image would take more
// memory than its slot), and not wildly more (or honest images would be
// refused for nothing). Interlaced PNGs cost twice their pixels, progressive
// JPEGs their coefficients too.
func TestCostIsRealAllocation(t *testing.T) {
	for _, tc := range costCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			info, err := Inspect(tc.data)
			if err != nil {
				t.Fatal(err)
			}
			var source int64
			if info.ContentType == PNG {
				source, err = pngCost(tc.data)
			} else {
				source, err = jpegCost(tc.data)
			}
			if err != nil {
				t.Fatal(err)
			}
			var derr error
			got := allocated(func() { _, derr = decode(info, tc.data) })
			if derr != nil {
				t.Fatalf("the test image does not decode: %v", derr)
			}
			if got > source {
				t.Errorf("decoding allocated %d bytes, the header said %d", got, source)
			}
			if pixels := source - decoderOverhead; got < pixels*9/10 {
				t.Errorf("decoding allocated %d bytes, the header said %d: the estimate is loose", got, source)
			}
			// The whole display copy stays within the cost too.
			var ct string
			total := allocated(func() { ct, _, derr = testDecoder.Display(context.Background(), tc.data) })
			if derr != nil || ct != info.ContentType {
				t.Fatalf("Display: %s %v", ct, derr)
			}
			if total > info.Cost && !raceEnabled {
				t.Errorf("the display copy took %d bytes, the cost said %d", total, info.Cost)
			}
		})
	}
}

// Whether an image is accepted follows from its header alone: the largest
// image of each worst-case layout that fits in MaxDecodeBytes is accepted,
// one pixel row more is refused, every time.
func TestWorstCasesAtTheBound(t *testing.T) {
	for _, tc := range []struct {
		name string
		make func(w, h int) []byte
		// aspect: h = w × num / den
		num, den int
	}{
		{"interlaced rgba png, screenshot-shaped", func(w, h int) []byte { return interlacedHeader(w, h, 6, 8) }, 20, 9},
		{"interlaced rgba png, square", func(w, h int) []byte { return interlacedHeader(w, h, 6, 8) }, 1, 1},
		{"interlaced 16-bit rgba png", func(w, h int) []byte { return interlacedHeader(w, h, 6, 16) }, 4, 3},
		{"progressive 4:2:0 jpeg, photo-shaped", func(w, h int) []byte { return et.ProgressiveJPEG(w, h, "4:2:0") }, 3, 4},
		{"progressive 4:4:4 jpeg", func(w, h int) []byte { return et.ProgressiveJPEG(w, h, "4:4:4") }, 1, 1},
		{"progressive cmyk jpeg", func(w, h int) []byte { return et.ProgressiveJPEG(w, h, "cmyk") }, 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := LargestAccepted(func(w int) []byte { return tc.make(w, w*tc.num/tc.den) })
			if w < 500 {
				t.Fatalf("only %d pixels wide fit: the bound refuses ordinary images", w)
			}
			h := w * tc.num / tc.den
			at, over := tc.make(w, h), tc.make(w, h+16)
			for range 3 {
				if info, err := Inspect(at); err != nil || info.Cost > MaxDecodeBytes {
					t.Fatalf("%d × %d: %v (cost %d)", w, h, err, info.Cost)
				}
				if _, err := Inspect(over); !errors.Is(err, ErrTooLarge) {
					t.Fatalf("%d × %d: %v, want ErrTooLarge", w, h+16, err)
				}
			}
			t.Logf("largest accepted: %d × %d", w, h)
		})
	}
}

// interlacedHeader is the start of an interlaced PNG claiming w × h pixels:
// all Inspect reads.
func interlacedHeader(w, h int, colour, depth byte) []byte {
	ihdr := []byte{byte(w >> 24), byte(w >> 16), byte(w >> 8), byte(w), byte(h >> 24), byte(h >> 16), byte(h >> 8), byte(h), depth, colour, 0, 0, 1}
	return append([]byte("\x89PNG\r\n\x1a\n"), et.PNGChunk("IHDR", ihdr)...)
}

// A worst-case image takes a whole slot, so two running at once are the
// most two slots allow; a third waits, and past its wait is refused as
// busy. Waiters beyond the queue are refused at once.
func TestDecoderSlotsAndQueue(t *testing.T) {
	slots := newCPUSlots(2)
	d := NewDecoder(slots, 3, 100*time.Millisecond)
	img := et.PNG(t, et.TwoColours(64, 64))
	// Hold both slots, as two argon2id evaluations would.
	r1, _ := slots.Slot(context.Background())
	r2, _ := slots.Slot(context.Background())
	if _, _, err := d.Display(context.Background(), img); !errors.Is(err, ErrBusy) {
		t.Fatalf("with every slot taken: %v, want ErrBusy", err)
	}
	// Fill the queue with waiters; the next is refused without waiting.
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for range 3 {
		wg.Go(func() {
			_, _, err := d.Display(context.Background(), img)
			errs <- err
		})
	}
	for len(d.queue) < 3 {
		time.Sleep(time.Millisecond)
	}
	if _, _, err := d.Display(context.Background(), img); !errors.Is(err, ErrBusy) {
		t.Fatalf("with the queue full: %v, want ErrBusy", err)
	}
	r1()
	r2()
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil && !errors.Is(err, ErrBusy) {
			t.Errorf("a queued decode: %v", err)
		}
	}
	if d.Peak() > 2 {
		t.Errorf("%d decodes ran at once on 2 slots", d.Peak())
	}
	// A cancelled request is its own error, not busy.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r1, _ = slots.Slot(context.Background())
	defer r1()
	r2, _ = slots.Slot(context.Background())
	defer r2()
	if _, _, err := d.Display(ctx, img); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

func encodeJPEG(img image.Image) ([]byte, error) {
	var b chunks
	err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 90})
	return b.bytes(), err
}

// held is the bytes a decoded image's pixel buffers take.
func held(img image.Image) int64 {
	switch m := img.(type) {
	case *image.YCbCr:
		return int64(cap(m.Y) + cap(m.Cb) + cap(m.Cr))
	case *image.Gray:
		return int64(cap(m.Pix))
	case *image.Gray16:
		return int64(cap(m.Pix))
	case *image.RGBA:
		return int64(cap(m.Pix))
	case *image.NRGBA:
		return int64(cap(m.Pix))
	case *image.RGBA64:
		return int64(cap(m.Pix))
	case *image.NRGBA64:
		return int64(cap(m.Pix))
	case *image.CMYK:
		return int64(cap(m.Pix))
	case *image.Paletted:
		return int64(cap(m.Pix))
	}
	return 0
}

// FuzzCost: whatever a file claims in its headers and markers, anything
// that decodes holds no more than the cost computed for it.
func FuzzCost(f *testing.F) {
	f.Add(et.ProgressiveJPEG(40, 30, "4:2:0"))
	f.Add(et.ProgressiveJPEG(16, 16, "cmyk"))
	f.Add(et.InterlacedPNG(et.TwoColours(9, 7)))
	f.Add(et.PNG(f, image.NewGray16(image.Rect(0, 0, 5, 5))))
	f.Fuzz(func(t *testing.T, data []byte) {
		info, err := Inspect(data)
		if err != nil || info.Width*info.Height > 1<<20 {
			return
		}
		var source int64
		if info.ContentType == PNG {
			source, err = pngCost(data)
		} else {
			source, err = jpegCost(data)
		}
		if err != nil {
			t.Fatalf("Inspect accepted what the cost could not read: %v", err)
		}
		img, err := decode(info, data)
		if err != nil {
			return
		}
		if n := held(img); n > source {
			t.Fatalf("%T of %d bytes, cost %d", img, n, source)
		}
	})
}
