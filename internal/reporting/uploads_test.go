package reporting

import (
	"bytes"
	"encoding/binary"
	"testing"

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
		got, problem := Uploads(tc.files)
		if problem != tc.problem {
			t.Errorf("%s: problem %q, want %q", tc.name, problem, tc.problem)
		}
		if problem == "" && (len(got) != len(tc.files) || got[0].ContentType != "image/png" || got[1].ContentType != "image/jpeg" || !bytes.Equal(got[1].Data, tc.files[1])) {
			t.Errorf("%s: read %d uploads", tc.name, len(got))
		}
	}
}
