package evidence

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"

	"golang.org/x/sync/semaphore"
)

// Limits on screenshots. A phone screenshot is about 1080 × 2400 (2.6
// megapixels), a phone camera photo 12 to 50 megapixels.
const (
	// MaxSide is the largest width or height accepted.
	MaxSide = 10000
	// MaxPixels is the largest width × height accepted.
	MaxPixels = 40_000_000
	// MaxDecodeBytes bounds the memory one decode may need, estimated from
	// the header (see decodeCost).
	MaxDecodeBytes = 192 << 20
	// DecodeBudget bounds the memory all decodes running at once may need;
	// the rest wait. It is at least MaxDecodeBytes, so any accepted image
	// can run alone.
	DecodeBudget = 256 << 20
	// DisplaySide is the longest side of a display copy: enough to read the
	// text of a screenshot on any screen.
	DisplaySide = 2048
	// JPEGQuality is the quality of re-encoded JPEG display copies.
	JPEGQuality = 85
	// previewSide is the longest side of the blurred preview.
	previewSide = 12
)

// Content types of screenshots.
const (
	JPEG = "image/jpeg"
	PNG  = "image/png"
)

// Errors of Inspect and Display.
var (
	// ErrNotImage: not a JPEG or PNG file, or a header that does not parse.
	ErrNotImage = errors.New("evidence: not a JPEG or PNG image")
	// ErrTooLarge: the header claims more pixels than may be decoded.
	ErrTooLarge = errors.New("evidence: image too large to decode")
	// ErrDamaged: the header was fine but the image data does not decode.
	ErrDamaged = errors.New("evidence: image data damaged")
)

// Info is what an image's header says.
type Info struct {
	ContentType   string
	Width, Height int
	// DecodeBytes is the memory decoding it may take, estimated from the
	// header.
	DecodeBytes int64
}

// Inspect reads an image's header, without decoding the image, and checks
// it against the limits: ErrNotImage if it is not a JPEG or PNG whose header
// parses, ErrTooLarge if its dimensions are over the limits.
func Inspect(data []byte) (Info, error) {
	var (
		cfg image.Config
		err error
		ct  string
	)
	switch {
	case bytes.HasPrefix(data, []byte("\xff\xd8\xff")):
		ct = JPEG
		cfg, err = jpeg.DecodeConfig(bytes.NewReader(data))
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		ct = PNG
		cfg, err = png.DecodeConfig(bytes.NewReader(data))
	default:
		return Info{}, ErrNotImage
	}
	if err != nil || cfg.Width <= 0 || cfg.Height <= 0 {
		return Info{}, ErrNotImage
	}
	info := Info{ContentType: ct, Width: cfg.Width, Height: cfg.Height}
	if cfg.Width > MaxSide || cfg.Height > MaxSide || int64(cfg.Width)*int64(cfg.Height) > MaxPixels {
		return info, fmt.Errorf("%w: %d × %d pixels", ErrTooLarge, cfg.Width, cfg.Height)
	}
	info.DecodeBytes = int64(cfg.Width) * int64(cfg.Height) * decodeCost(ct, cfg.ColorModel, data)
	if info.DecodeBytes > MaxDecodeBytes {
		return info, fmt.Errorf("%w: %d × %d pixels need %d MB to decode", ErrTooLarge, cfg.Width, cfg.Height, info.DecodeBytes>>20)
	}
	return info, nil
}

// decodeCost is an upper bound of the bytes per pixel the standard
// library's decoders allocate for an image of this kind: the decoded pixels,
// and for a progressive JPEG also its coefficients (64 int32 per 8 × 8 block
// of every component: 4 bytes per pixel per component, whatever the chroma
// subsampling).
func decodeCost(ct string, m color.Model, data []byte) int64 {
	var pixel, components int64
	switch m {
	case color.GrayModel:
		pixel, components = 1, 1
	case color.Gray16Model:
		pixel = 2
	case color.YCbCrModel:
		pixel, components = 3, 3 // 4:4:4 at worst
	case color.CMYKModel:
		pixel, components = 4, 4
	case color.RGBA64Model, color.NRGBA64Model:
		pixel = 8
	default: // RGBA, NRGBA, paletted (1, but converted later at 4)
		pixel = 4
	}
	if ct == JPEG && progressiveJPEG(data) {
		pixel += 4 * components
	}
	// The display copy is made at most DisplaySide², a constant; the source
	// dominates.
	return pixel
}

// progressiveJPEG reports whether the first frame header of a JPEG is
// progressive (SOF2, SOF6, SOF10, SOF14).
func progressiveJPEG(data []byte) bool {
	found := false
	walkJPEG(data, func(marker byte, _ []byte) bool {
		switch marker {
		case 0xc0, 0xc1, 0xc3, 0xc5, 0xc7, 0xc9, 0xcb, 0xcd, 0xcf:
			return false
		case 0xc2, 0xc6, 0xca, 0xce:
			found = true
			return false
		}
		return true
	})
	return found
}

// decodeGate shares DecodeBudget between the decodes running at once.
var decodeGate = semaphore.NewWeighted(DecodeBudget)

// Display makes the display copy of a screenshot: decoded, turned upright by
// its EXIF orientation, scaled to at most DisplaySide on its longest side
// and re-encoded (JPEG at JPEGQuality for a JPEG, PNG for a PNG). The result
// carries no metadata at all: the standard library's encoders write none.
// It checks the header first (Inspect's errors), waits for its share of the
// decode budget, and returns ErrDamaged when the image data does not
// decode.
func Display(ctx context.Context, data []byte) (contentType string, out []byte, err error) {
	info, err := Inspect(data)
	if err != nil {
		return "", nil, err
	}
	img, err := decode(ctx, info, data)
	if err != nil {
		return "", nil, err
	}
	w, h := fit(img.Bounds().Dx(), img.Bounds().Dy(), DisplaySide)
	small := orient(downscale(img, w, h), orientation(info.ContentType, data))
	var b bytes.Buffer
	if info.ContentType == JPEG {
		err = jpeg.Encode(&b, small, &jpeg.Options{Quality: JPEGQuality})
	} else {
		err = (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&b, small)
	}
	if err != nil {
		return "", nil, fmt.Errorf("evidence: encode: %w", err)
	}
	return info.ContentType, b.Bytes(), nil
}

// Preview makes the blurred stand-in the console shows until a caseworker
// chooses to see a screenshot: the display copy shrunk to a few pixels, so
// that nothing in it can be made out however it is scaled up.
func Preview(ctx context.Context, display []byte) ([]byte, error) {
	info, err := Inspect(display)
	if err != nil {
		return nil, err
	}
	img, err := decode(ctx, info, display)
	if err != nil {
		return nil, err
	}
	w, h := fit(img.Bounds().Dx(), img.Bounds().Dy(), previewSide)
	var b bytes.Buffer
	if err := png.Encode(&b, downscale(img, w, h)); err != nil {
		return nil, fmt.Errorf("evidence: encode: %w", err)
	}
	return b.Bytes(), nil
}

func decode(ctx context.Context, info Info, data []byte) (image.Image, error) {
	if err := decodeGate.Acquire(ctx, max(info.DecodeBytes, 1)); err != nil {
		return nil, err
	}
	defer decodeGate.Release(max(info.DecodeBytes, 1))
	var (
		img image.Image
		err error
	)
	if info.ContentType == JPEG {
		img, err = jpeg.Decode(bytes.NewReader(data))
	} else {
		img, err = png.Decode(bytes.NewReader(data))
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDamaged, err)
	}
	if b := img.Bounds(); b.Dx() != info.Width || b.Dy() != info.Height {
		return nil, ErrDamaged // the decoder must agree with the header it was checked by
	}
	return img, nil
}

// fit scales w × h down (never up) so that its longest side is at most side.
func fit(w, h, side int) (int, int) {
	if w <= side && h <= side {
		return w, h
	}
	if w >= h {
		return side, max(1, int(int64(h)*int64(side)/int64(w)))
	}
	return max(1, int(int64(w)*int64(side)/int64(h))), side
}

// downscale averages src into a w × h image (w, h no larger than src's):
// each output pixel is the mean of the block of source pixels it covers, in
// premultiplied colour so that transparent pixels do not darken their
// neighbours.
func downscale(src image.Image, w, h int) *image.RGBA {
	b := src.Bounds()
	sw, sh := b.Dx(), b.Dy()
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	col := make([]int, sw) // source column → output column
	width := make([]uint64, w)
	for x := range sw {
		col[x] = x * w / sw
		width[col[x]]++
	}
	row := make([]uint32, 4*sw)
	acc := make([]uint64, 4*w)
	sy := 0
	for oy := range h {
		clear(acc)
		rows := uint64(0)
		for end := (oy + 1) * sh / h; sy < end; sy++ {
			readRow(src, b.Min.X, b.Min.Y+sy, row)
			for x, ox := range col {
				for k := range 4 {
					acc[4*ox+k] += uint64(row[4*x+k])
				}
			}
			rows++
		}
		pix := out.Pix[oy*out.Stride:]
		for ox := range w {
			n := rows * width[ox]
			for k := range 4 {
				pix[4*ox+k] = uint8((acc[4*ox+k] / n) >> 8)
			}
		}
	}
	return out
}

// readRow reads one row of src as premultiplied 16-bit RGBA, with fast
// paths for what the JPEG and PNG decoders return.
func readRow(src image.Image, x0, y int, row []uint32) {
	n := len(row) / 4
	switch m := src.(type) {
	case *image.YCbCr:
		for x := range n {
			yi, ci := m.YOffset(x0+x, y), m.COffset(x0+x, y)
			r, g, b := color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
			row[4*x], row[4*x+1], row[4*x+2], row[4*x+3] = uint32(r)*0x101, uint32(g)*0x101, uint32(b)*0x101, 0xffff
		}
	case *image.RGBA:
		p := m.Pix[m.PixOffset(x0, y):]
		for i := range 4 * n {
			row[i] = uint32(p[i]) * 0x101
		}
	case *image.NRGBA:
		p := m.Pix[m.PixOffset(x0, y):]
		for x := range n {
			a := uint32(p[4*x+3]) * 0x101
			for k := range 3 {
				row[4*x+k] = uint32(p[4*x+k]) * 0x101 * a / 0xffff
			}
			row[4*x+3] = a
		}
	case *image.Gray:
		p := m.Pix[m.PixOffset(x0, y):]
		for x := range n {
			v := uint32(p[x]) * 0x101
			row[4*x], row[4*x+1], row[4*x+2], row[4*x+3] = v, v, v, 0xffff
		}
	case *image.Paletted:
		p := m.Pix[m.PixOffset(x0, y):]
		for x := range n {
			if int(p[x]) >= len(m.Palette) {
				row[4*x], row[4*x+1], row[4*x+2], row[4*x+3] = 0, 0, 0, 0
				continue
			}
			row[4*x], row[4*x+1], row[4*x+2], row[4*x+3] = m.Palette[p[x]].RGBA()
		}
	default:
		for x := range n {
			row[4*x], row[4*x+1], row[4*x+2], row[4*x+3] = src.At(x0+x, y).RGBA()
		}
	}
}

// orient turns an image stored with EXIF orientation o (1 to 8) upright.
func orient(src *image.RGBA, o int) *image.RGBA {
	if o < 2 || o > 8 {
		return src
	}
	w, h := src.Rect.Dx(), src.Rect.Dy()
	dw, dh := w, h
	if o >= 5 {
		dw, dh = h, w
	}
	dst := image.NewRGBA(image.Rect(0, 0, dw, dh))
	for y := range dh {
		for x := range dw {
			// The stored pixel (sx, sy) shown at (x, y) once upright. EXIF
			// names where the stored first row and first column belong.
			var sx, sy int
			switch o {
			case 2: // first row at the top, first column on the right: mirror
				sx, sy = w-1-x, y
			case 3: // bottom, right: turn half a circle
				sx, sy = w-1-x, h-1-y
			case 4: // bottom, left: flip
				sx, sy = x, h-1-y
			case 5: // left, top: transpose
				sx, sy = y, x
			case 6: // right, top: turn a quarter clockwise
				sx, sy = y, h-1-x
			case 7: // right, bottom: transverse
				sx, sy = w-1-y, h-1-x
			case 8: // left, bottom: turn a quarter anticlockwise
				sx, sy = w-1-y, x
			}
			copy(dst.Pix[dst.PixOffset(x, y):][:4], src.Pix[src.PixOffset(sx, sy):][:4])
		}
	}
	return dst
}

// orientation returns the EXIF orientation (1 to 8) of a JPEG's APP1 Exif
// segment or a PNG's eXIf chunk; 1 when there is none or it does not parse.
func orientation(ct string, data []byte) int {
	var tiff []byte
	if ct == JPEG {
		walkJPEG(data, func(marker byte, seg []byte) bool {
			if marker == 0xe1 && bytes.HasPrefix(seg, []byte("Exif\x00\x00")) {
				tiff = seg[6:]
				return false
			}
			return true
		})
	} else {
		walkPNG(data, func(typ string, chunk []byte) bool {
			if typ == "eXIf" {
				tiff = chunk
				return false
			}
			return typ != "IDAT"
		})
	}
	return tiffOrientation(tiff)
}

// walkJPEG calls fn with each marker segment before the image data (the
// first SOS), until fn returns false. It stops quietly at anything
// malformed.
func walkJPEG(data []byte, fn func(marker byte, seg []byte) bool) {
	if len(data) < 2 || data[0] != 0xff || data[1] != 0xd8 {
		return
	}
	i := 2
	for i+4 <= len(data) {
		if data[i] != 0xff {
			return
		}
		marker := data[i+1]
		switch {
		case marker == 0xff: // fill byte
			i++
			continue
		case marker == 0xd8, marker == 0x01, marker >= 0xd0 && marker <= 0xd7: // no length
			i += 2
			continue
		case marker == 0xd9, marker == 0xda: // end of image, start of scan
			return
		}
		n := int(binary.BigEndian.Uint16(data[i+2:]))
		if n < 2 || i+2+n > len(data) {
			return
		}
		if !fn(marker, data[i+4:i+2+n]) {
			return
		}
		i += 2 + n
	}
}

// walkPNG calls fn with each chunk's type and data until fn returns false.
// It does not check CRCs: it only looks for metadata to honour or to know
// about, never for pixels.
func walkPNG(data []byte, fn func(typ string, chunk []byte) bool) {
	const sig = "\x89PNG\r\n\x1a\n"
	if !bytes.HasPrefix(data, []byte(sig)) {
		return
	}
	for i := len(sig); i+12 <= len(data); {
		n := binary.BigEndian.Uint32(data[i:])
		if uint64(n) > uint64(len(data)-i-12) {
			return
		}
		end := i + 8 + int(n)
		if !fn(string(data[i+4:i+8]), data[i+8:end]) {
			return
		}
		i = end + 4
	}
}

// tiffOrientation reads the Orientation tag (0x0112, one SHORT) of a TIFF
// structure's first image directory, as EXIF stores it.
func tiffOrientation(t []byte) int {
	if len(t) < 8 {
		return 1
	}
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 1
	}
	if bo.Uint16(t[2:]) != 42 {
		return 1
	}
	ifd := bo.Uint32(t[4:])
	if uint64(ifd)+2 > uint64(len(t)) {
		return 1
	}
	count := int(bo.Uint16(t[ifd:]))
	for k := range count {
		e := uint64(ifd) + 2 + 12*uint64(k)
		if e+12 > uint64(len(t)) {
			return 1
		}
		entry := t[e : e+12]
		if bo.Uint16(entry) != 0x0112 {
			continue
		}
		if bo.Uint16(entry[2:]) != 3 || bo.Uint32(entry[4:]) != 1 {
			return 1 // not one SHORT
		}
		if o := int(bo.Uint16(entry[8:])); o >= 1 && o <= 8 {
			return o
		}
		return 1
	}
	return 1
}
