// Package evidencetest makes the images tests need: photos and screenshots
// carrying what phones write into them (EXIF with an orientation and GPS
// coordinates, an XMP packet), and an independent reader of the metadata an
// image file carries, so that a test can show that metadata went in and
// none came out.
//
// It is imported only by tests and the benchmark (for worst-case uploads),
// and does not use package evidence: a test of the display pipeline must
// not check it with its own code.
package evidencetest

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"testing"
)

// Red and Blue are the colours of TwoColours.
var (
	Red  = color.RGBA{220, 20, 20, 255}
	Blue = color.RGBA{20, 20, 220, 255}
)

// TwoColours is a w × h image, red on the left half, blue on the right.
func TwoColours(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			if x < w/2 {
				img.SetRGBA(x, y, Red)
			} else {
				img.SetRGBA(x, y, Blue)
			}
		}
	}
	return img
}

// Latitude is the GPS latitude written into the test images (a place in
// Nairobi), as its XMP packet spells it: a test greps for it.
const Latitude = "1,17.5760S"

// TIFF builds the TIFF structure of an EXIF block as a phone camera writes
// it: IFD0 with Make, Orientation and a pointer to the GPS IFD, which holds
// the latitude and longitude of a place in Nairobi.
func TIFF(orientation uint16) []byte {
	be := binary.BigEndian
	var b []byte
	b = append(b, "MM\x00\x2a"...)
	b = be.AppendUint32(b, 8)
	entry := func(tag, typ uint16, count, value uint32) {
		b = be.AppendUint16(b, tag)
		b = be.AppendUint16(b, typ)
		b = be.AppendUint32(b, count)
		b = be.AppendUint32(b, value)
	}
	const ifd0Entries, gpsEntries = 3, 4
	gpsIFD := uint32(8 + 2 + 12*ifd0Entries + 4)
	data := gpsIFD + 2 + 12*gpsEntries + 4
	b = be.AppendUint16(b, ifd0Entries)
	entry(0x010f, 2, 4, be.Uint32([]byte("Tec\x00"))) // Make, inline ASCII
	entry(0x0112, 3, 1, uint32(orientation)<<16)      // Orientation: a SHORT in the first two bytes
	entry(0x8825, 4, 1, gpsIFD)                       // the GPS IFD
	b = be.AppendUint32(b, 0)
	b = be.AppendUint16(b, gpsEntries)
	entry(0x0001, 2, 2, be.Uint32([]byte("S\x00\x00\x00"))) // GPSLatitudeRef
	entry(0x0002, 5, 3, data)                               // GPSLatitude: 3 RATIONAL
	entry(0x0003, 2, 2, be.Uint32([]byte("E\x00\x00\x00"))) // GPSLongitudeRef
	entry(0x0004, 5, 3, data+24)                            // GPSLongitude
	b = be.AppendUint32(b, 0)
	for _, r := range [][2]uint32{{1, 1}, {17, 1}, {3456, 100}, {36, 1}, {49, 1}, {1234, 100}} {
		b = be.AppendUint32(b, r[0])
		b = be.AppendUint32(b, r[1])
	}
	return b
}

const xmp = `<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="` + Latitude + `" exif:GPSLongitude="36,49.2057E"/></rdf:RDF></x:xmpmeta>`

// WithJPEGMetadata inserts an EXIF APP1 segment (with GPS and the
// orientation) and an XMP APP1 segment right after a JPEG's SOI marker.
func WithJPEGMetadata(jpg []byte, orientation uint16) []byte {
	seg := func(payload []byte) []byte {
		s := []byte{0xff, 0xe1}
		s = binary.BigEndian.AppendUint16(s, uint16(len(payload)+2))
		return append(s, payload...)
	}
	out := append([]byte{}, jpg[:2]...)
	out = append(out, seg(append([]byte("Exif\x00\x00"), TIFF(orientation)...))...)
	out = append(out, seg(append([]byte("http://ns.adobe.com/xap/1.0/\x00"), xmp...))...)
	return append(out, jpg[2:]...)
}

// PNGChunk encodes one PNG chunk with its CRC.
func PNGChunk(typ string, data []byte) []byte {
	c := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	c = append(c, typ...)
	c = append(c, data...)
	return binary.BigEndian.AppendUint32(c, crc32.ChecksumIEEE(c[4:]))
}

// WithPNGMetadata inserts an eXIf chunk (with GPS and the orientation) and
// an XMP iTXt chunk after a PNG's IHDR chunk.
func WithPNGMetadata(p []byte, orientation uint16) []byte {
	ihdrEnd := 8 + 8 + 13 + 4
	out := append([]byte{}, p[:ihdrEnd]...)
	out = append(out, PNGChunk("eXIf", TIFF(orientation))...)
	out = append(out, PNGChunk("iTXt", append([]byte("XML:com.adobe.xmp\x00\x00\x00\x00\x00"), xmp...))...)
	return append(out, p[ihdrEnd:]...)
}

// JPEG encodes img at quality 95.
func JPEG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// PNG encodes img.
func PNG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// Photo is a w × h JPEG as a phone camera writes it: TwoColours as stored,
// EXIF with the orientation and GPS, and XMP with GPS.
func Photo(t testing.TB, w, h int, orientation uint16) []byte {
	return WithJPEGMetadata(JPEG(t, TwoColours(w, h)), orientation)
}

// Metadata lists the metadata in an image file: JPEG APPn and COM segments
// before the image data, PNG chunks other than IHDR, PLTE, IDAT and IEND,
// and anywhere in the file the words EXIF, GPS and XMP records are made of
// and the test images' latitude. Empty means none.
func Metadata(data []byte) []string {
	var found []string
	switch {
	case bytes.HasPrefix(data, []byte{0xff, 0xd8}):
		for i := 2; i+4 <= len(data) && data[i] == 0xff; {
			marker := data[i+1]
			if marker == 0xda || marker == 0xd9 { // start of scan, end of image
				break
			}
			n := int(binary.BigEndian.Uint16(data[i+2:]))
			if n < 2 {
				break
			}
			if marker >= 0xe0 && marker <= 0xef || marker == 0xfe {
				found = append(found, "JPEG segment "+string(data[i+4:min(i+2+n, i+4+12, len(data))]))
			}
			i += 2 + n
		}
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		for i := 8; i+8 <= len(data); {
			n := int(binary.BigEndian.Uint32(data[i:]))
			switch typ := string(data[i+4 : i+8]); typ {
			case "IHDR", "PLTE", "IDAT", "IEND":
			default:
				found = append(found, "PNG chunk "+typ)
			}
			i += 12 + n
		}
	}
	for _, needle := range []string{"Exif", "GPS", "ns.adobe.com", "xmpmeta", Latitude} {
		if bytes.Contains(data, []byte(needle)) {
			found = append(found, needle)
		}
	}
	return found
}
