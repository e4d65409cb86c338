package evidence

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	et "github.com/salama-ke/salama/internal/evidence/evidencetest"
)

// testDecoder has slots of its own, one per CPU.
var testDecoder = NewDecoder(nil, 64, time.Minute)

// Issue 6: a JPEG (or PNG) with GPS EXIF comes out of the display pipeline
// without it, and turned upright.
func TestDisplayDropsMetadataAndTurnsUpright(t *testing.T) {
	stored := et.TwoColours(40, 20) // as the camera stored it: red left, blue right
	for _, tc := range []struct {
		name, ct string
		data     []byte
	}{
		{"jpeg", JPEG, et.WithJPEGMetadata(et.JPEG(t, stored), 6)},
		{"png", PNG, et.WithPNGMetadata(et.PNG(t, stored), 6)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := et.Metadata(tc.data); len(got) < 6 {
				t.Fatalf("the test image carries too little metadata to prove anything: %q", got)
			}
			if o := orientation(tc.ct, tc.data); o != 6 {
				t.Fatalf("orientation read as %d, want 6", o)
			}
			ct, out, err := testDecoder.Display(t.Context(), tc.data)
			if err != nil {
				t.Fatal(err)
			}
			if ct != tc.ct {
				t.Errorf("content type %s, want %s", ct, tc.ct)
			}
			if got := et.Metadata(out); len(got) != 0 {
				t.Errorf("the display copy still carries %q", got)
			}
			img, _, err := image.Decode(bytes.NewReader(out))
			if err != nil {
				t.Fatal(err)
			}
			// Orientation 6: the stored left (red) side is the top once upright.
			if b := img.Bounds(); b.Dx() != 20 || b.Dy() != 40 {
				t.Fatalf("display copy is %v, want 20 × 40", b)
			}
			top, bottom := rgb(img.At(10, 5)), rgb(img.At(10, 35))
			if !(top[0] > 150 && top[2] < 100 && bottom[2] > 150 && bottom[0] < 100) {
				t.Errorf("not turned upright: top %v, bottom %v", top, bottom)
			}
		})
	}
}

func rgb(c color.Color) [3]uint32 {
	r, g, b, _ := c.RGBA()
	return [3]uint32{r >> 8, g >> 8, b >> 8}
}

func TestOrient(t *testing.T) {
	// A 3 × 2 image whose pixels are a b c / d e f (by red value).
	src := image.NewRGBA(image.Rect(0, 0, 3, 2))
	for i, v := range "abcdef" {
		src.Pix[4*i] = uint8(v)
	}
	for o, want := range map[int][]string{
		1: {"abc", "def"},
		2: {"cba", "fed"},
		3: {"fed", "cba"},
		4: {"def", "abc"},
		5: {"ad", "be", "cf"},
		6: {"da", "eb", "fc"},
		7: {"fc", "eb", "da"},
		8: {"cf", "be", "ad"},
		9: {"abc", "def"}, // not an orientation: left alone
	} {
		got := downscale(src, 3, 2, o)
		var rows []string
		for y := range got.Rect.Dy() {
			var row []byte
			for x := range got.Rect.Dx() {
				row = append(row, got.Pix[got.PixOffset(x, y)])
			}
			rows = append(rows, string(row))
		}
		if len(rows) != len(want) || func() bool {
			for i := range rows {
				if rows[i] != want[i] {
					return true
				}
			}
			return false
		}() {
			t.Errorf("orientation %d: %q, want %q", o, rows, want)
		}
	}
}

// A big image is scaled down to DisplaySide, keeping its shape and colours.
func TestDisplayScalesDown(t *testing.T) {
	t.Parallel()
	_, out, err := testDecoder.Display(t.Context(), et.PNG(t, et.TwoColours(4100, 300)))
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != DisplaySide || b.Dy() != 300*DisplaySide/4100 {
		t.Errorf("scaled to %v", b)
	}
	if l, r := rgb(img.At(10, 10)), rgb(img.At(DisplaySide-10, 10)); l != [3]uint32{220, 20, 20} || r != [3]uint32{20, 20, 220} {
		t.Errorf("colours changed: %v %v", l, r)
	}
}

// bombPNG is a valid PNG header claiming w × h grey pixels, followed by a
// real zlib stream of zero rows: a few kilobytes that decode to w × h bytes.
func bombPNG(t testing.TB, w, h int) []byte {
	t.Helper()
	ihdr := binary.BigEndian.AppendUint32(nil, uint32(w))
	ihdr = binary.BigEndian.AppendUint32(ihdr, uint32(h))
	ihdr = append(ihdr, 8, 0, 0, 0, 0) // 8-bit greyscale
	var z bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&z, zlib.BestCompression)
	row := make([]byte, 1+w)
	for range h {
		zw.Write(row)
	}
	zw.Close()
	out := []byte("\x89PNG\r\n\x1a\n")
	out = append(out, et.PNGChunk("IHDR", ihdr)...)
	out = append(out, et.PNGChunk("IDAT", z.Bytes())...)
	return append(out, et.PNGChunk("IEND", nil)...)
}

// withJPEGSize rewrites the frame header (SOF0) of a JPEG written by the
// standard library to claim w × h pixels, and optionally to be progressive.
func withJPEGSize(t *testing.T, jpg []byte, w, h int, progressive bool) []byte {
	t.Helper()
	out := append([]byte{}, jpg...)
	for i := 2; i+9 <= len(out) && out[i] == 0xff; i += 2 + int(binary.BigEndian.Uint16(out[i+2:])) {
		if out[i+1] == 0xc0 { // FF C0, length, precision, height, width
			binary.BigEndian.PutUint16(out[i+5:], uint16(h))
			binary.BigEndian.PutUint16(out[i+7:], uint16(w))
			if progressive {
				out[i+1] = 0xc2
			}
			return out
		}
	}
	t.Fatal("no SOF0 in the test JPEG")
	return nil
}

// Decompression bombs are refused from the header, before anything is
// decoded: refusing one allocates almost nothing, where decoding it would
// need gigabytes.
func TestBombsRefusedBeforeDecoding(t *testing.T) {
	// Not parallel: it measures allocation.
	// testdata/bomb-7000x7000.png is bombPNG(t, 7000, 7000), kept as a
	// file because compressing 49 MB of zeros is slow under -race.
	bomb, err := os.ReadFile(filepath.Join("testdata", "bomb-7000x7000.png"))
	if err != nil {
		t.Fatal(err)
	}
	small := et.JPEG(t, et.TwoColours(16, 16))
	cases := []struct {
		name string
		data []byte
	}{
		{"png 7000 × 7000 of zeros", bomb},
		{"png 60000 × 60000 header", bombPNG(t, 60000, 1)[:8+25]},
		{"png wider than MaxSide", bombPNG(t, MaxSide+1, 1)},
		{"jpeg claiming 60000 × 60000", withJPEGSize(t, small, 60000, 60000, false)},
		{"jpeg claiming 9000 × 4000", withJPEGSize(t, small, 9000, 4990, false)},
		{"progressive jpeg claiming 6000 × 6000", withJPEGSize(t, small, 6000, 6000, true)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if len(tc.data) > 200<<10 {
				t.Fatalf("the bomb is %d bytes; it should be small", len(tc.data))
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, _, err := testDecoder.Display(context.Background(), tc.data)
			runtime.ReadMemStats(&after)
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("Display = %v, want ErrTooLarge", err)
			}
			if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
				t.Errorf("refusing it allocated %d bytes: it was decoded", n)
			}
		})
	}
	// The same limits accept an ordinary big photo header (12 MP, baseline).
	if _, err := Inspect(withJPEGSize(t, small, 4000, 3000, false)); err != nil {
		t.Errorf("a 12 MP photo header: %v", err)
	}
}

func TestInspectAndDamage(t *testing.T) {
	for _, data := range [][]byte{nil, []byte("GIF89a...."), []byte("MZ\x90\x00"), []byte("\xff\xd8\xff\xe0garbage"), []byte("\x89PNG\r\n\x1a\nshort")} {
		if _, err := Inspect(data); !errors.Is(err, ErrNotImage) {
			t.Errorf("Inspect(%q) = %v, want ErrNotImage", data, err)
		}
	}
	jpg := et.JPEG(t, et.TwoColours(640, 640))
	info, err := Inspect(jpg)
	if err != nil || info.ContentType != JPEG || info.Width != 640 || info.Height != 640 {
		t.Fatalf("Inspect = %+v, %v", info, err)
	}
	// A header that parses, then the data cut short.
	if _, err := Inspect(jpg[:len(jpg)*3/4]); err != nil {
		t.Fatalf("the cut JPEG's header: %v", err)
	}
	if _, _, err := testDecoder.Display(t.Context(), jpg[:len(jpg)*3/4]); !errors.Is(err, ErrDamaged) {
		t.Errorf("truncated JPEG: %v, want ErrDamaged", err)
	}
	p := et.PNG(t, et.TwoColours(64, 64))
	if _, _, err := testDecoder.Display(t.Context(), p[:len(p)-30]); !errors.Is(err, ErrDamaged) {
		t.Errorf("truncated PNG: %v, want ErrDamaged", err)
	}
}

func TestPreviewShowsNothing(t *testing.T) {
	_, display, err := testDecoder.Display(t.Context(), et.PNG(t, et.TwoColours(540, 1200)))
	if err != nil {
		t.Fatal(err)
	}
	pv, err := testDecoder.Preview(t.Context(), display)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(pv))
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); max(b.Dx(), b.Dy()) > previewSide {
		t.Errorf("preview is %v", b)
	}
}

func FuzzOrientation(f *testing.F) {
	f.Add(et.TIFF(6))
	f.Add([]byte("II*\x00\x08\x00\x00\x00\x01\x00\x12\x01\x03\x00\x01\x00\x00\x00\x03\x00"))
	f.Fuzz(func(t *testing.T, tiff []byte) {
		if o := tiffOrientation(tiff); o < 1 || o > 8 {
			t.Fatalf("orientation %d", o)
		}
		jpg := et.WithJPEGMetadata([]byte{0xff, 0xd8, 0xff, 0xd9}, 1)
		_ = orientation(JPEG, append(jpg[:4:4], tiff...))
		_ = orientation(PNG, append([]byte("\x89PNG\r\n\x1a\n"), tiff...))
	})
}

// Whatever a survivor's browser sends, the pipeline refuses or converts it;
// it never panics.
func FuzzDisplay(f *testing.F) {
	f.Add(et.WithJPEGMetadata(et.JPEG(f, et.TwoColours(8, 8)), 6))
	f.Add(et.WithPNGMetadata(et.PNG(f, et.TwoColours(8, 8)), 3))
	f.Add(bombPNG(f, 20000, 2))
	f.Fuzz(func(t *testing.T, data []byte) {
		info, err := Inspect(data)
		if err != nil {
			return
		}
		if info.Width*info.Height > 1<<20 {
			return // accepted, but too slow to decode in a fuzz loop
		}
		ct, out, err := testDecoder.Display(t.Context(), data)
		if err != nil {
			return
		}
		if ct != info.ContentType || len(et.Metadata(out)) != 0 {
			t.Fatalf("display copy %s with metadata %q", ct, et.Metadata(out))
		}
	})
}
