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
	"runtime"
	"runtime/debug"
	"sync/atomic"
	"time"
)

// Limits on screenshots. A phone screenshot is about 1080 × 2400 (2.6
// megapixels), a phone camera photo 12 to 50 megapixels.
const (
	// MaxSide is the largest width or height accepted.
	MaxSide = 10000
	// MaxPixels is the largest width × height accepted.
	MaxPixels = 40_000_000
	// MaxDecodeBytes bounds the memory making one display copy may take,
	// computed from the header (see Info.Cost): the decoder's buffers, the
	// display copy and its encoding. It is one slot of memory-heavy work,
	// the memory of one argon2id evaluation (seal.DefaultKDFParams), so
	// that decodes and key derivations can share the same slots.
	MaxDecodeBytes = 64 << 20
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

// Errors of Inspect, Display and Preview.
var (
	// ErrNotImage: not a JPEG or PNG file, or a header that does not parse.
	ErrNotImage = errors.New("evidence: not a JPEG or PNG image")
	// ErrTooLarge: the header claims more pixels than may be decoded, or a
	// layout whose decoding would need more than MaxDecodeBytes.
	ErrTooLarge = errors.New("evidence: image too large to decode")
	// ErrDamaged: the header was fine but the image data does not decode.
	ErrDamaged = errors.New("evidence: image data damaged")
	// ErrBusy: every slot stayed taken, or too many images were already
	// waiting for one; nothing is wrong with the image. Try again later.
	ErrBusy = errors.New("evidence: too many images being opened at once")
)

// Info is what an image's header says.
type Info struct {
	ContentType   string
	Width, Height int
	// Cost is the memory making its display copy takes at most, in bytes,
	// computed from the header the way the standard library's decoders
	// allocate (see pngCost, jpegCost and displayCost).
	Cost int64
}

// Inspect reads an image's header, without decoding the image, and checks
// it against the limits: ErrNotImage if it is not a JPEG or PNG whose header
// parses, ErrTooLarge if its dimensions or its decoding cost are over the
// limits. The verdict depends on the header alone, never on timing or load.
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
	var source int64
	if ct == PNG {
		source, err = pngCost(data)
	} else {
		source, err = jpegCost(data)
	}
	if err != nil {
		return Info{}, ErrNotImage
	}
	info.Cost = source + displayCost(cfg.Width, cfg.Height)
	if info.Cost > MaxDecodeBytes {
		return info, fmt.Errorf("%w: %d × %d pixels need %d MB to open", ErrTooLarge, cfg.Width, cfg.Height, info.Cost>>20)
	}
	return info, nil
}

// LargestAccepted is the largest width w (up to MaxSide) for which Inspect
// accepts image(w), an image whose cost grows with w: the benchmark and the
// tests use it to find the worst case the limits let through.
func LargestAccepted(image func(w int) []byte) int {
	lo, hi := 0, MaxSide+1 // image(lo) is accepted (or lo is 0), image(hi) is not
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if _, err := Inspect(image(mid)); err == nil {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo
}

// pngCost is what image/png allocates to decode this PNG: the image in the
// type the decoder picks for its colour type, bit depth and transparency
// (a grey image with a tRNS chunk becomes NRGBA: 4 bytes a pixel, not 1);
// for an interlaced (Adam7) image, as much again, since each of the seven
// passes is decoded into an image of its own before it is merged into the
// whole; the current and previous rows; and the zlib reader.
func pngCost(data []byte) (int64, error) {
	const sig = len("\x89PNG\r\n\x1a\n")
	if len(data) < sig+8+13 || string(data[sig+4:sig+8]) != "IHDR" {
		return 0, ErrNotImage
	}
	ihdr := data[sig+8:]
	w, h := int64(binary.BigEndian.Uint32(ihdr)), int64(binary.BigEndian.Uint32(ihdr[4:]))
	depth, colour, interlaced := int64(ihdr[8]), ihdr[9], ihdr[12] == 1
	transparent := false
	walkPNG(data, func(typ string, _ []byte) bool {
		transparent = transparent || typ == "tRNS"
		return typ != "IDAT"
	})
	var pixel, channels int64
	switch colour {
	case 0: // grey
		pixel, channels = 1, 1
		if transparent {
			pixel = 4
		}
		if depth == 16 {
			pixel *= 2
		}
	case 3: // palette
		pixel, channels = 1, 1
	case 2, 4, 6: // RGB, grey + alpha, RGBA
		pixel, channels = 4, map[byte]int64{2: 3, 4: 2, 6: 4}[colour]
		if depth == 16 {
			pixel = 8
		}
	default:
		return 0, ErrNotImage
	}
	img := w * h * pixel
	rows := 2 * (1 + (channels*depth*w+7)/8)
	if interlaced {
		img *= 2
		rows *= 3 // the seven passes' rows: w/8 + w/8 + w/4 + w/4 + w/2 + w/2 + w
	}
	return img + rows + decoderOverhead, nil
}

// jpegCost is what image/jpeg allocates to decode this JPEG, from its frame
// header: the image at the size of whole MCUs, in the planes of its chroma
// subsampling (a 4:2:0 photo takes 1.5 bytes a pixel, a 4:4:4 one 3); the
// black plane of a 4-component image, and the CMYK or RGBA image it is
// converted into; the RGBA copy an RGB-coded JPEG is converted into; and,
// for a progressive JPEG, the coefficients of every block of every
// component, 64 × 4 bytes each, kept between scans. It reads every marker
// of the file, scans included, since a marker after the first scan still
// changes what the decoder converts to.
func jpegCost(data []byte) (int64, error) {
	type comp struct {
		id   byte
		h, v int64
	}
	var (
		w, h        int64
		comps       []comp
		progressive bool
		adobeRGB    bool
		found       bool
	)
	walkJPEGAll(data, func(marker byte, seg []byte) bool {
		switch {
		case marker == 0xee && len(seg) >= 12 && string(seg[:5]) == "Adobe":
			adobeRGB = adobeRGB || seg[11] == 0 // 0: RGB or CMYK, not YCbCr
		case !found && (marker >= 0xc0 && marker <= 0xcf && marker != 0xc4 && marker != 0xc8 && marker != 0xcc):
			found = true
			progressive = marker == 0xc2 || marker == 0xc6 || marker == 0xca || marker == 0xce
			if len(seg) < 6 {
				return false
			}
			h, w = int64(binary.BigEndian.Uint16(seg[1:])), int64(binary.BigEndian.Uint16(seg[3:]))
			n := int(seg[5])
			if len(seg) < 6+3*n {
				return false
			}
			for i := range n {
				c := seg[6+3*i:]
				comps = append(comps, comp{id: c[0], h: int64(c[1] >> 4), v: int64(c[1] & 15)})
			}
		}
		return true
	})
	if !found || len(comps) == 0 || w <= 0 || h <= 0 {
		return 0, ErrNotImage
	}
	if len(comps) == 1 {
		comps[0].h, comps[0].v = 1, 1 // one component is never interleaved
	}
	h0, v0 := max(comps[0].h, 1), max(comps[0].v, 1)
	mxx, myy := (w+8*h0-1)/(8*h0), (h+8*v0-1)/(8*v0)
	var planes, coeffs int64
	for _, c := range comps {
		blocks := mxx * myy * c.h * c.v
		planes += 64 * blocks // 8 × 8 bytes per block of this component
		coeffs += 256 * blocks
	}
	cost := planes + decoderOverhead
	if progressive {
		cost += coeffs
	}
	switch {
	case len(comps) == 4:
		cost += 4 * w * h // the CMYK (or RGBA) image it becomes
	case len(comps) == 3 && (adobeRGB || comps[0].id == 'R' && comps[1].id == 'G' && comps[2].id == 'B'):
		cost += 4 * w * h // an RGB JPEG is converted to RGBA
	}
	return cost, nil
}

// decoderOverhead covers what a decoder holds besides its image: zlib's
// window and tables, Huffman and quantisation tables, buffered readers.
const decoderOverhead = 256 << 10

// displayCost is what making the display copy of a w × h image takes
// besides the decoded source: the scaled RGBA copy, the scaler's rows, and
// the encoding, which at worst (noise) is as big as the pixels and is held
// twice while it is gathered into one slice (see chunks), and the encoder's
// own tables.
func displayCost(w, h int) int64 {
	dw, dh := fit(w, h, DisplaySide)
	pixels := int64(dw) * int64(dh) * 4
	scaler := 24*int64(w) + 40*int64(dw)
	encoded := pixels + int64(dh) + 64<<10
	return pixels + scaler + 2*encoded + 1<<20
}

// Defaults for NewDecoder: how many images may wait for a slot or run, and
// how long one waits. Past either, a survivor is asked to send again in a
// minute, with every word she typed kept.
const (
	DefaultQueue = 32
	DefaultWait  = 30 * time.Second
)

// Slots hands out the server's slots for memory-heavy work: each is one
// CPU and MaxDecodeBytes of memory. seal.KDF's Slot is the server's, so
// that argon2id evaluations and decodes together never hold more memory
// than its bound promises.
type Slots interface {
	Slot(ctx context.Context) (release func(), err error)
}

// Decoder makes display copies and previews, each in one slot; at most
// Queue wait or run at once, and none waits longer than Wait. Past either,
// the work is refused with ErrBusy: a survivor is asked to try again rather
// than a queue growing without end.
type Decoder struct {
	slots Slots
	queue chan struct{}
	wait  time.Duration

	inFlight, peak atomic.Int64
	busy           atomic.Int64
}

// NewDecoder returns a decoder taking its slots from slots (nil: a slot per
// CPU of its own), letting queue images wait or run at once, each waiting
// at most wait for a slot.
func NewDecoder(slots Slots, queue int, wait time.Duration) *Decoder {
	if slots == nil {
		slots = newCPUSlots(runtime.GOMAXPROCS(0))
	}
	return &Decoder{slots: slots, queue: make(chan struct{}, max(queue, 1)), wait: wait}
}

// InFlight is how many decodes hold a slot now; Peak the most ever at once;
// Busy how many were refused with ErrBusy.
func (d *Decoder) InFlight() int { return int(d.inFlight.Load()) }

// Peak is the most decodes that ever held a slot at once.
func (d *Decoder) Peak() int { return int(d.peak.Load()) }

// Busy counts the decodes refused with ErrBusy.
func (d *Decoder) Busy() int { return int(d.busy.Load()) }

// run runs fn in a slot.
func (d *Decoder) run(ctx context.Context, cost int64, fn func() error) error {
	select {
	case d.queue <- struct{}{}:
	default:
		d.busy.Add(1)
		return ErrBusy
	}
	defer func() { <-d.queue }()
	wctx, cancel := context.WithTimeout(ctx, d.wait)
	defer cancel()
	release, err := d.slots.Slot(wctx)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		d.busy.Add(1)
		return ErrBusy
	}
	defer release()
	n := d.inFlight.Add(1)
	for p := d.peak.Load(); n > p && !d.peak.CompareAndSwap(p, n); p = d.peak.Load() {
	}
	defer d.inFlight.Add(-1)
	err = fn()
	if cost > 8<<20 {
		// What the decode allocated is garbage now. Collect it and give
		// it back to the system while the slot is still held, so that the
		// memory resident stays near what the slots promise instead of
		// growing until the collector's next turn (and the scavenger's).
		debug.FreeOSMemory()
	}
	return err
}

// cpuSlots is a semaphore of one slot per CPU, for a Decoder that shares
// nothing.
type cpuSlots chan struct{}

func newCPUSlots(n int) cpuSlots { return make(cpuSlots, max(n, 1)) }

func (s cpuSlots) Slot(ctx context.Context) (func(), error) {
	select {
	case s <- struct{}{}:
		return func() { <-s }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Display makes the display copy of a screenshot: decoded, turned upright by
// its EXIF orientation, scaled to at most DisplaySide on its longest side
// and re-encoded (JPEG at JPEGQuality for a JPEG, PNG for a PNG). The result
// carries no metadata at all: the standard library's encoders write none.
// It checks the header first (Inspect's errors), waits for a slot (ErrBusy
// when none comes in time), and returns ErrDamaged when the image data does
// not decode.
func (d *Decoder) Display(ctx context.Context, data []byte) (contentType string, out []byte, err error) {
	info, err := Inspect(data)
	if err != nil {
		return "", nil, err
	}
	err = d.run(ctx, info.Cost, func() error {
		img, err := decode(info, data)
		if err != nil {
			return err
		}
		o := orientation(info.ContentType, data)
		w, h := fit(img.Bounds().Dx(), img.Bounds().Dy(), DisplaySide)
		small := downscale(img, w, h, o)
		img = nil // the source is garbage from here on
		var c chunks
		if info.ContentType == JPEG {
			err = jpeg.Encode(&c, small, &jpeg.Options{Quality: JPEGQuality})
		} else {
			err = (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&c, small)
		}
		if err != nil {
			return fmt.Errorf("evidence: encode: %w", err)
		}
		out = c.bytes()
		return nil
	})
	if err != nil {
		return "", nil, err
	}
	return info.ContentType, out, nil
}

// Preview makes the blurred stand-in the console shows until a caseworker
// chooses to see a screenshot: the display copy shrunk to a few pixels, so
// that nothing in it can be made out however it is scaled up.
func (d *Decoder) Preview(ctx context.Context, display []byte) ([]byte, error) {
	info, err := Inspect(display)
	if err != nil {
		return nil, err
	}
	var out []byte
	err = d.run(ctx, info.Cost, func() error {
		img, err := decode(info, display)
		if err != nil {
			return err
		}
		w, h := fit(img.Bounds().Dx(), img.Bounds().Dy(), previewSide)
		var b bytes.Buffer
		if err := png.Encode(&b, downscale(img, w, h, 1)); err != nil {
			return fmt.Errorf("evidence: encode: %w", err)
		}
		out = b.Bytes()
		return nil
	})
	return out, err
}

func decode(info Info, data []byte) (image.Image, error) {
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

// chunks gathers an encoder's output in pieces of 64 KB and hands it over
// as one slice of exactly its length: at most twice the output is held
// while it is gathered, where a growing bytes.Buffer holds up to three
// times and leaves a slice with room to spare.
type chunks struct {
	list [][]byte
	n    int
}

func (c *chunks) Write(p []byte) (int, error) {
	written := len(p)
	for len(p) > 0 {
		if len(c.list) == 0 || len(c.list[len(c.list)-1]) == cap(c.list[len(c.list)-1]) {
			c.list = append(c.list, make([]byte, 0, 64<<10))
		}
		last := &c.list[len(c.list)-1]
		k := min(len(p), cap(*last)-len(*last))
		*last = append(*last, p[:k]...)
		p = p[k:]
	}
	c.n += written
	return written, nil
}

func (c *chunks) bytes() []byte {
	out := make([]byte, 0, c.n)
	for _, b := range c.list {
		out = append(out, b...)
	}
	c.list = nil
	return out
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

// downscale averages src into a w × h image (w, h no larger than src's)
// and turns it upright by EXIF orientation o (1 to 8; anything else is 1):
// each output pixel is the mean of the block of source pixels it covers, in
// premultiplied colour so that transparent pixels do not darken their
// neighbours, written straight to its upright place, so that no second
// copy is made to turn it.
func downscale(src image.Image, w, h, o int) *image.RGBA {
	b := src.Bounds()
	sw, sh := b.Dx(), b.Dy()
	if o < 1 || o > 8 {
		o = 1
	}
	dw, dh := w, h
	if o >= 5 {
		dw, dh = h, w
	}
	out := image.NewRGBA(image.Rect(0, 0, dw, dh))
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
		for ox := range w {
			n := rows * width[ox]
			x, y := upright(o, w, h, ox, oy)
			pix := out.Pix[out.PixOffset(x, y):]
			for k := range 4 {
				pix[k] = uint8((acc[4*ox+k] / n) >> 8)
			}
		}
	}
	return out
}

// upright is where the pixel stored at (x, y) of a w × h image with EXIF
// orientation o belongs once the image is turned upright. EXIF names where
// the stored first row and first column belong.
func upright(o, w, h, x, y int) (int, int) {
	switch o {
	case 2: // first row at the top, first column on the right: mirror
		return w - 1 - x, y
	case 3: // bottom, right: turn half a circle
		return w - 1 - x, h - 1 - y
	case 4: // bottom, left: flip
		return x, h - 1 - y
	case 5: // left, top: transpose
		return y, x
	case 6: // right, top: turn a quarter clockwise
		return h - 1 - y, x
	case 7: // right, bottom: transverse
		return h - 1 - y, w - 1 - x
	case 8: // left, bottom: turn a quarter anticlockwise
		return y, w - 1 - x
	}
	return x, y
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
	walkJPEGSegments(data, false, fn)
}

// walkJPEGAll is walkJPEG through the whole file: past each start of scan
// it skips the entropy-coded data (where 0xff is followed by a stuffed zero
// or a restart marker) to the next marker, as the decoder does, until the
// end of the image.
func walkJPEGAll(data []byte, fn func(marker byte, seg []byte) bool) {
	walkJPEGSegments(data, true, fn)
}

// walkJPEGSegments is walkJPEG, or with scans walkJPEGAll.
func walkJPEGSegments(data []byte, scans bool, fn func(marker byte, seg []byte) bool) {
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
		case marker == 0xd9, marker == 0xda && !scans: // end of image, start of scan
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
		if marker != 0xda {
			continue
		}
		for i+1 < len(data) && !(data[i] == 0xff && data[i+1] != 0 && data[i+1] != 0xff && (data[i+1] < 0xd0 || data[i+1] > 0xd7)) {
			i++
		}
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
