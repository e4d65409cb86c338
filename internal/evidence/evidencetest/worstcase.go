package evidencetest

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"image"
	"image/png"
	"io"
)

// The standard library's encoders write neither interlaced PNGs nor
// progressive JPEGs, the two layouts whose decoding costs most per pixel;
// these write them, for the tests of decoding costs and for the benchmark's
// worst-case uploads. They panic on what can only be a programming error.

// InterlacedPNG writes img as an Adam7-interlaced PNG with the colour type
// and bit depth image/png's encoder picks for it (8 or 16 bits: for a
// paletted image, use more than 16 colours). Other chunks (PLTE, tRNS) are
// kept.
func InterlacedPNG(img image.Image) []byte {
	var flat bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.NoCompression}).Encode(&flat, img); err != nil {
		panic(err)
	}
	p := flat.Bytes()
	w, h := img.Bounds().Dx(), img.Bounds().Dy()
	var (
		out  = []byte("\x89PNG\r\n\x1a\n")
		idat []byte
		bpp  int
	)
	for i := 8; i+12 <= len(p); {
		n := int(binary.BigEndian.Uint32(p[i:]))
		typ, data := string(p[i+4:i+8]), p[i+8:i+8+n]
		switch typ {
		case "IHDR":
			ihdr := append([]byte{}, data...)
			ihdr[12] = 1 // Adam7
			depth, colour := int(data[8]), data[9]
			channels := map[byte]int{0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[colour]
			if depth < 8 {
				panic("evidencetest: InterlacedPNG needs 8 or 16 bits per sample")
			}
			bpp = channels * depth / 8
			out = append(out, PNGChunk("IHDR", ihdr)...)
		case "IDAT":
			idat = append(idat, data...)
		case "IEND":
		default:
			out = append(out, PNGChunk(typ, data)...)
		}
		i += 12 + n
	}
	zr, err := zlib.NewReader(bytes.NewReader(idat))
	if err != nil {
		panic(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		panic(err)
	}
	stride := 1 + w*bpp // NoCompression rows carry filter 0: the bytes as they are
	pixel := func(x, y int) []byte { return raw[y*stride+1+x*bpp:][:bpp] }
	var rows bytes.Buffer
	for _, pass := range [7][4]int{{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4}, {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}} {
		x0, y0, dx, dy := pass[0], pass[1], pass[2], pass[3]
		if x0 >= w || y0 >= h {
			continue
		}
		for y := y0; y < h; y += dy {
			rows.WriteByte(0)
			for x := x0; x < w; x += dx {
				rows.Write(pixel(x, y))
			}
		}
	}
	var z bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&z, zlib.BestSpeed)
	zw.Write(rows.Bytes())
	zw.Close()
	out = append(out, PNGChunk("IDAT", z.Bytes())...)
	return append(out, PNGChunk("IEND", nil)...)
}

// ProgressiveJPEG writes a w × h mid-grey progressive JPEG (SOF2) of the
// given layout: "gray" (one component), "4:4:4" or "4:2:0" (YCbCr), "rgb"
// (components named R, G, B, which the decoder converts to RGBA) or "cmyk"
// (four components and an Adobe marker, converted to CMYK).
// It is made by hand: every coefficient is zero, so a DC scan of all
// components and an AC scan of each need one Huffman code each (0: no
// difference; 0x00: end of block), a bit per block. It decodes with
// image/jpeg like any camera's progressive JPEG, allocating the same.
func ProgressiveJPEG(w, h int, subsampling string) []byte {
	type comp struct{ id, hv byte }
	var comps []comp
	switch subsampling {
	case "gray":
		comps = []comp{{1, 0x11}}
	case "4:4:4":
		comps = []comp{{1, 0x11}, {2, 0x11}, {3, 0x11}}
	case "4:2:0":
		comps = []comp{{1, 0x22}, {2, 0x11}, {3, 0x11}}
	case "rgb":
		comps = []comp{{'R', 0x11}, {'G', 0x11}, {'B', 0x11}}
	case "cmyk":
		comps = []comp{{1, 0x11}, {2, 0x11}, {3, 0x11}, {4, 0x11}}
	default:
		panic("evidencetest: subsampling " + subsampling)
	}
	seg := func(out []byte, marker byte, payload []byte) []byte {
		out = append(out, 0xff, marker)
		out = binary.BigEndian.AppendUint16(out, uint16(len(payload)+2))
		return append(out, payload...)
	}
	out := []byte{0xff, 0xd8}
	if subsampling == "cmyk" { // Adobe APP14, transform 0: CMYK, not YCCK
		out = seg(out, 0xee, []byte("Adobe\x00\x64\x00\x00\x00\x00\x00"))
	}
	out = seg(out, 0xdb, append([]byte{0}, bytes.Repeat([]byte{1}, 64)...)) // DQT 0: all ones
	sof := []byte{8}
	sof = binary.BigEndian.AppendUint16(sof, uint16(h))
	sof = binary.BigEndian.AppendUint16(sof, uint16(w))
	sof = append(sof, byte(len(comps)))
	for _, c := range comps {
		sof = append(sof, c.id, c.hv, 0)
	}
	out = seg(out, 0xc2, sof)
	oneCode := func(class byte) []byte { // one code of length 1 for symbol 0
		t := []byte{class<<4 | 0, 1}
		t = append(t, make([]byte, 15)...)
		return append(t, 0)
	}
	out = seg(out, 0xc4, append(oneCode(0), oneCode(1)...))
	// Enough zero bits for every block of every component (a few bytes
	// more than the decoder reads are ignored, as libjpeg ignores them).
	hmax, vmax := int(comps[0].hv>>4), int(comps[0].hv&15)
	mxx, myy := (w+8*hmax-1)/(8*hmax), (h+8*vmax-1)/(8*vmax)
	blocks := 0
	for _, c := range comps {
		blocks += mxx * myy * int(c.hv>>4) * int(c.hv&15)
	}
	zeros := make([]byte, blocks/8+16)
	dc := []byte{byte(len(comps))}
	for _, c := range comps {
		dc = append(dc, c.id, 0x00)
	}
	dc = append(dc, 0, 0, 0) // Ss=0, Se=0, Ah=Al=0
	out = seg(out, 0xda, dc)
	out = append(out, zeros...)
	for _, c := range comps {
		out = seg(out, 0xda, []byte{1, c.id, 0x00, 1, 63, 0})
		out = append(out, zeros...)
	}
	return append(out, 0xff, 0xd9)
}

// Padded grows a PNG or JPEG to size bytes with metadata the decoders skip
// without keeping (a private ancillary PNG chunk; JPEG comments), so that a
// test or the benchmark can send an image as big in bytes as it is costly
// in pixels. The filling is a fixed pattern that compresses poorly.
func Padded(data []byte, size int) []byte {
	fill := func(n int) []byte {
		b := make([]byte, n)
		x := uint32(2463534242)
		for i := range b {
			x ^= x << 13
			x ^= x >> 17
			x ^= x << 5
			b[i] = byte(x)
		}
		return b
	}
	switch {
	case bytes.HasPrefix(data, []byte("\x89PNG")):
		n := size - len(data) - 12
		if n < 0 {
			return data
		}
		iend := len(data) - 12
		out := append([]byte{}, data[:iend]...)
		out = append(out, PNGChunk("slPd", fill(n))...)
		return append(out, data[iend:]...)
	case bytes.HasPrefix(data, []byte{0xff, 0xd8}):
		out := append([]byte{}, data[:2]...)
		for need := size - len(data); need > 4; {
			n := min(need-4, 65533)
			out = append(out, 0xff, 0xfe)
			out = binary.BigEndian.AppendUint16(out, uint16(n+2))
			out = append(out, fill(n)...)
			need -= n + 4
		}
		return append(out, data[2:]...)
	}
	return data
}
