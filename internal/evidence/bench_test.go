package evidence

import (
	"image"
	"math/rand/v2"
	"testing"

	et "github.com/salama-ke/salama/internal/evidence/evidencetest"
)

// noisy is a w × h image with the detail of a real photo (noise compresses
// poorly, like one).
func noisy(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = uint8(r.IntN(256)), uint8(r.IntN(256)), uint8(r.IntN(256)), 255
	}
	return img
}

// Display copies of what survivors send: a phone screenshot (PNG) and a
// 12-megapixel phone photo (JPEG). Run with -benchmem: the allocation per
// operation is the memory one upload takes.
func BenchmarkDisplay(b *testing.B) {
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"screenshot-1080x2400-png", et.PNG(b, et.TwoColours(1080, 2400))},
		{"photo-4000x3000-jpeg", et.JPEG(b, noisy(4000, 3000))},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(tc.data)))
			for b.Loop() {
				if _, _, err := testDecoder.Display(b.Context(), tc.data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
