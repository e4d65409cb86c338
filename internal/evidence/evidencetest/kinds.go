package evidencetest

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
)

// The files below are built byte by byte from their formats' specifications
// (not by package evidence), small, and shaped like what phones write.

// PDF is a minimal well-formed PDF of one empty page.
func PDF() []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	offs := []int{}
	obj := func(s string) {
		offs = append(offs, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", len(offs), s)
	}
	obj("<< /Type /Catalog /Pages 2 0 R >>")
	obj("<< /Type /Pages /Kids [3 0 R] /Count 1 >>")
	obj("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>")
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(offs)+1)
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offs)+1, xref)
	return b.Bytes()
}

// oggPage is one Ogg page carrying packet (under 255 × 255 bytes).
func oggPage(packet []byte, seq uint32, headerType byte) []byte {
	var segs []byte
	n := len(packet)
	for n >= 255 {
		segs = append(segs, 255)
		n -= 255
	}
	segs = append(segs, byte(n))
	h := make([]byte, 27)
	copy(h, "OggS")
	h[5] = headerType
	binary.LittleEndian.PutUint32(h[14:], 0x5a1a3a) // stream serial
	binary.LittleEndian.PutUint32(h[18:], seq)
	h[26] = byte(len(segs))
	// The CRC is left zero: readers that check it are players, and the
	// server plays nothing.
	return append(append(h, segs...), packet...)
}

// Ogg is an Opus voice note as WhatsApp records it: the OpusHead and
// OpusTags pages, then n pages of (silent) audio.
func Ogg(n int) []byte {
	head := append([]byte("OpusHead"), 1, 1, 0x38, 1, 0x80, 0xbb, 0, 0, 0, 0, 0)
	tags := append([]byte("OpusTags"), 8, 0, 0, 0)
	tags = append(append(tags, "WhatsApp"...), 0, 0, 0, 0)
	out := append(oggPage(head, 0, 2), oggPage(tags, 1, 0)...)
	for i := range n {
		out = append(out, oggPage(bytes.Repeat([]byte{0xf8, 0xff, 0xfe}, 20), uint32(2+i), 0)...)
	}
	return out
}

func box(typ string, parts ...[]byte) []byte {
	body := bytes.Join(parts, nil)
	b := make([]byte, 8, 8+len(body))
	binary.BigEndian.PutUint32(b, uint32(8+len(body)))
	copy(b[4:], typ)
	return append(b, body...)
}

func hdlr(handler string) []byte {
	return box("hdlr", make([]byte, 8), []byte(handler), make([]byte, 13))
}

// M4A is an AAC voice note in an MP4 container ("M4A " brand) with one
// sound track, as an iPhone writes it. With video, it has a picture
// track too: a video, which Salama refuses.
func M4A(video bool) []byte {
	ftyp := box("ftyp", []byte("M4A "), []byte{0, 0, 2, 0}, []byte("M4A isommp42"))
	tracks := [][]byte{box("mvhd", make([]byte, 100)), box("trak", box("tkhd", make([]byte, 84)), box("mdia", box("mdhd", make([]byte, 24)), hdlr("soun")))}
	if video {
		tracks = append(tracks, box("trak", box("mdia", hdlr("vide"))))
	}
	return bytes.Join([][]byte{ftyp, box("moov", tracks...), box("mdat", bytes.Repeat([]byte{0x21, 0x10}, 200))}, nil)
}

// ADTS is bare AAC: n frames of 32 bytes.
func ADTS(n int) []byte {
	var out []byte
	for range n {
		f := make([]byte, 32)
		f[0], f[1] = 0xff, 0xf1          // sync, MPEG-4, layer 0, no CRC
		f[2] = 1<<6 | 4<<2               // AAC LC, 44.1 kHz
		f[3] = 2<<6 | byte(len(f)>>11)&3 // stereo, length high bits
		f[4] = byte(len(f) >> 3)         // length
		f[5] = byte(len(f)&7)<<5 | 0x1f  // length low bits, buffer fullness
		f[6] = 0xfc
		out = append(out, f...)
	}
	return out
}

// MP3 is n frames of MPEG-1 Layer III at 128 kbit/s, 44.1 kHz, after an
// ID3v2.4 tag when id3 is set.
func MP3(n int, id3 bool) []byte {
	var out []byte
	if id3 {
		tag := append([]byte("TIT2"), 0, 0, 0, 6, 0, 0, 3)
		tag = append(tag, "Voice"...)
		out = append([]byte{'I', 'D', '3', 4, 0, 0, 0, 0, 0, byte(len(tag))}, tag...)
	}
	const size = 144 * 128000 / 44100 // 417 bytes, no padding
	for range n {
		f := make([]byte, size)
		f[0], f[1], f[2], f[3] = 0xff, 0xfb, 0x90, 0x64
		out = append(out, f...)
	}
	return out
}

// WhatsAppAndroid is a chat as Android's "Export chat" writes it.
func WhatsAppAndroid(lines ...string) []byte {
	s := "12/03/2026, 21:10 - Messages and calls are end-to-end encrypted. No one outside of this chat, not even WhatsApp, can read or listen to them. Tap to learn more.\n"
	for i, l := range lines {
		s += fmt.Sprintf("12/03/2026, 21:%02d - %s\n", 11+i%48, l)
	}
	return []byte(s)
}

// WhatsAppIOS is a chat as an iPhone writes it (inside _chat.txt).
func WhatsAppIOS(lines ...string) []byte {
	s := "\u200e[12/03/2026, 21:10:00] Boss: \u200eMessages and calls are end-to-end encrypted.\n"
	for i, l := range lines {
		s += fmt.Sprintf("[12/03/2026, 21:%02d:05] %s\n", 11+i%48, l)
	}
	return []byte(s)
}

// Zip is a zip of the named files, deflated.
func Zip(files ...string) func(contents ...[]byte) []byte {
	return func(contents ...[]byte) []byte {
		var b bytes.Buffer
		w := zip.NewWriter(&b)
		for i, name := range files {
			f, err := w.Create(name)
			if err != nil {
				panic(err)
			}
			f.Write(contents[i])
		}
		if err := w.Close(); err != nil {
			panic(err)
		}
		return b.Bytes()
	}
}

// ZipBomb is a zip whose _chat.txt is size bytes of one repeated line,
// deflated a thousandfold.
func ZipBomb(size int) []byte {
	line := "12/03/2026, 21:14 - Boss: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"
	return Zip("_chat.txt")([]byte(strings.Repeat(line, size/len(line))))
}

// Telegram is a Telegram Desktop result.json of the given messages, each
// [from, text].
func Telegram(msgs ...[2]string) []byte {
	type m struct {
		ID   int    `json:"id"`
		Type string `json:"type"`
		Date string `json:"date"`
		From string `json:"from"`
		Text any    `json:"text"`
	}
	var list []m
	for i, x := range msgs {
		var text any = x[1]
		if i%2 == 1 { // Telegram writes formatted text as pieces
			text = []any{"", map[string]string{"type": "plain", "text": x[1]}}
		}
		list = append(list, m{ID: i + 1, Type: "message", Date: fmt.Sprintf("2026-03-12T21:%02d:05", 10+i%50), From: x[0], Text: text})
	}
	b, _ := json.MarshalIndent(map[string]any{"name": "Boss", "type": "personal_chat", "id": 4242, "messages": list}, "", " ")
	return b
}

// EXE is the start of a Windows program.
func EXE() []byte {
	b := make([]byte, 512)
	copy(b, "MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff")
	copy(b[64:], "This program cannot be run in DOS mode.")
	return b
}
