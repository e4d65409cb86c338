package evidence

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

// Content types of the other evidence Salama takes besides screenshots:
// what survivors actually have on their phones. Each is recognised from its
// bytes alone (Check); a file's name and the type its browser claims are
// never looked at.
const (
	PDF = "application/pdf"
	// Voice notes: WhatsApp and Telegram record Opus in Ogg; iPhones and
	// some Android apps write AAC in an MP4 container (.m4a) or bare
	// (ADTS); older apps and forwarded audio are MP3.
	Ogg = "audio/ogg"
	M4A = "audio/mp4"
	AAC = "audio/aac"
	MP3 = "audio/mpeg"
	// Chat exports: the .txt and the .zip WhatsApp's "Export chat"
	// writes, and Telegram Desktop's result.json.
	WhatsAppText = "text/plain; charset=utf-8"
	WhatsAppZip  = "application/zip"
	TelegramJSON = "application/json"
	// Conversation is the content type of a chat export's display copy:
	// the conversation as read from the export, as JSON (see Chat).
	Conversation = "application/vnd.salama.conversation+json"
)

// Kind is what the console does with a file.
type Kind string

// Kinds of evidence.
const (
	KindImage Kind = "image" // shown blurred, revealed as a clean copy
	KindPDF   Kind = "pdf"   // downloaded after a reveal, never shown
	KindAudio Kind = "audio" // played after a reveal, or downloaded
	KindChat  Kind = "chat"  // read as a conversation after a reveal
	KindOther Kind = ""      // anything else: downloaded from a bundle only
)

// KindOf is the kind of a content type as Check returns it.
func KindOf(contentType string) Kind {
	switch contentType {
	case JPEG, PNG:
		return KindImage
	case PDF:
		return KindPDF
	case Ogg, M4A, AAC, MP3:
		return KindAudio
	case WhatsAppText, WhatsAppZip, TelegramJSON:
		return KindChat
	}
	return KindOther
}

// Extension is the file name extension a file of this content type gets in
// an evidence bundle.
func Extension(contentType string) string {
	switch contentType {
	case JPEG:
		return ".jpg"
	case PNG:
		return ".png"
	case PDF:
		return ".pdf"
	case Ogg:
		return ".ogg"
	case M4A:
		return ".m4a"
	case AAC:
		return ".aac"
	case MP3:
		return ".mp3"
	case WhatsAppText:
		return ".txt"
	case WhatsAppZip:
		return ".zip"
	case TelegramJSON:
		return ".json"
	}
	return ".bin"
}

// Errors of Check, besides Inspect's.
var (
	// ErrUnknownType: none of the kinds Salama takes (a program, a video,
	// a document other than PDF, a zip that is not a chat export…).
	ErrUnknownType = errors.New("evidence: not a file type we take")
	// ErrBrokenFile: it starts like a kind Salama takes, but its
	// structure does not hold together (cut off, damaged, or made to
	// look like one).
	ErrBrokenFile = errors.New("evidence: the file is damaged")
	// ErrVideo: an MP4 with a picture track. Salama takes no video: a
	// video may be of the abuse itself (see the form's warning).
	ErrVideo = errors.New("evidence: a video, not a voice note")
	// ErrBomb: a zip whose entries claim more than the limits allow
	// (ZipMaxEntries, ZipMaxTotal, ZipMaxRatio).
	ErrBomb = errors.New("evidence: a zip too large to open safely")
	// ErrNotChat: text, JSON or a zip that is not a chat export Salama
	// can read.
	ErrNotChat = errors.New("evidence: not a chat export")
)

// Check recognises a file from its bytes and checks its structure, within
// the bounds of its kind, without rendering, playing or decoding it: a
// screenshot by its header (Inspect), a PDF by its header and trailer, a
// voice note by walking its frames, pages or boxes, a chat export by
// reading it (within ChatMaxText, ChatMaxMessages and the zip limits). It
// returns the content type (one of JPEG, PNG, PDF, Ogg, M4A, AAC, MP3,
// WhatsAppText, WhatsAppZip, TelegramJSON) or the reason it refuses the
// file. It reads nothing beyond data and allocates at most the chat
// bounds.
func Check(data []byte) (string, error) {
	if ct, ok, err := checkMedia(data); ok {
		return ct, err
	}
	if ct := chatType(data); ct != "" {
		_, err := ReadChat(ct, data)
		return ct, err
	}
	return "", ErrUnknownType
}

// checkMedia is Check for every kind but chat exports: ok is false when
// data does not start as a screenshot, a PDF or a voice note does.
func checkMedia(data []byte) (ct string, ok bool, err error) {
	switch {
	case bytes.HasPrefix(data, []byte("\xff\xd8\xff")), bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		info, err := Inspect(data)
		return info.ContentType, true, err
	case bytes.HasPrefix(data, []byte("%PDF-")):
		return PDF, true, checkPDF(data)
	case bytes.HasPrefix(data, []byte("OggS")):
		return Ogg, true, checkOgg(data)
	case len(data) >= 12 && string(data[4:8]) == "ftyp":
		return M4A, true, checkMP4(data)
	case bytes.HasPrefix(data, []byte("ID3")):
		ct, err := checkID3(data)
		return ct, true, err
	case len(data) >= 2 && data[0] == 0xff && data[1]&0xf6 == 0xf0:
		return AAC, true, checkADTS(data)
	case len(data) >= 2 && data[0] == 0xff && data[1]&0xe0 == 0xe0:
		return MP3, true, checkMP3(data)
	}
	return "", false, nil
}

// chatType is the chat export Check reads data as, for data checkMedia
// does not take: a zip, or text or JSON (chatTextType); "" for anything
// else.
func chatType(data []byte) string {
	if bytes.HasPrefix(data, []byte("PK\x03\x04")) {
		return WhatsAppZip
	}
	return chatTextType(data)
}

// pdfTail is how far from the end a PDF's %%EOF may be: readers accept
// it within the last 1024 bytes, and so does Check.
const pdfTail = 1024

// checkPDF checks what every PDF has, without parsing it: the header
// "%PDF-1.x" or "%PDF-2.x", a "startxref" and "%%EOF" near the end, and at
// least one object ("obj" … "endobj"). A PDF is never opened on the server:
// the console only offers it as a download (see docs/evidence.md).
func checkPDF(data []byte) error {
	if len(data) < 16 || (data[5] != '1' && data[5] != '2') || data[6] != '.' || data[7] < '0' || data[7] > '9' {
		return fmt.Errorf("%w: no PDF version", ErrBrokenFile)
	}
	tail := data[max(0, len(data)-pdfTail):]
	if !bytes.Contains(tail, []byte("%%EOF")) {
		return fmt.Errorf("%w: no end of PDF (cut off?)", ErrBrokenFile)
	}
	if !bytes.Contains(data[max(0, len(data)-4*pdfTail):], []byte("startxref")) {
		return fmt.Errorf("%w: no PDF cross-reference", ErrBrokenFile)
	}
	if !bytes.Contains(data, []byte(" obj")) || !bytes.Contains(data, []byte("endobj")) {
		return fmt.Errorf("%w: no PDF objects", ErrBrokenFile)
	}
	return nil
}

// checkOgg walks every Ogg page (RFC 3533) to the end of the file: each
// starts "OggS", version 0, and its segment table gives its length. The
// first page must open an Opus or Vorbis stream: Ogg also carries video
// (Theora), which Salama does not take.
func checkOgg(data []byte) error {
	first := true
	for i := 0; i < len(data); {
		if len(data)-i < 27 || string(data[i:i+4]) != "OggS" || data[i+4] != 0 {
			return fmt.Errorf("%w: Ogg page %d", ErrBrokenFile, i)
		}
		n := int(data[i+26])
		if len(data)-i < 27+n {
			return fmt.Errorf("%w: Ogg segment table cut off", ErrBrokenFile)
		}
		body := 0
		for _, s := range data[i+27 : i+27+n] {
			body += int(s)
		}
		end := i + 27 + n + body
		if end > len(data) {
			return fmt.Errorf("%w: Ogg page cut off", ErrBrokenFile)
		}
		if first {
			p := data[i+27+n : end]
			if !bytes.HasPrefix(p, []byte("OpusHead")) && !bytes.HasPrefix(p, []byte("\x01vorbis")) {
				return fmt.Errorf("%w: Ogg without Opus or Vorbis audio", ErrUnknownType)
			}
			first = false
		}
		i = end
	}
	return nil
}

// m4aBrands are the ISO BMFF brands of audio files as phones write them.
// A brand says little (every MP4 is "isom"), so the tracks decide: see
// checkMP4.
var m4aBrands = []string{"M4A ", "M4B ", "mp42", "mp41", "isom", "iso2", "iso4", "iso5", "iso6", "dash", "3gp4", "3gp5", "3gp6", "3gp7"}

// mp4Depth bounds how deep checkMP4 follows boxes inside boxes.
const mp4Depth = 4

// checkMP4 walks an ISO BMFF file's boxes (ISO/IEC 14496-12): every box's
// size must fit its parent; the major brand must be an audio or general
// MP4 one; and every track's handler (moov/trak/mdia/hdlr) must be sound:
// a file with a video track is refused (ErrVideo), one with no sound track
// is not a voice note.
func checkMP4(data []byte) error {
	if !slices.Contains(m4aBrands, string(data[8:12])) {
		return fmt.Errorf("%w: MP4 brand %q", ErrUnknownType, data[8:12])
	}
	sound := 0
	var walk func(b []byte, depth int) error
	walk = func(b []byte, depth int) error {
		for len(b) > 0 {
			if len(b) < 8 {
				return fmt.Errorf("%w: MP4 box cut off", ErrBrokenFile)
			}
			size, head := uint64(binary.BigEndian.Uint32(b)), uint64(8)
			typ := string(b[4:8])
			switch size {
			case 0: // to the end of its parent
				size = uint64(len(b))
			case 1:
				if len(b) < 16 {
					return fmt.Errorf("%w: MP4 box cut off", ErrBrokenFile)
				}
				size, head = binary.BigEndian.Uint64(b[8:]), 16
			}
			if size < head || size > uint64(len(b)) {
				return fmt.Errorf("%w: MP4 box %q of %d bytes in %d", ErrBrokenFile, typ, size, len(b))
			}
			inner := b[head:size]
			switch typ {
			case "moov", "trak", "mdia":
				if depth >= mp4Depth {
					return fmt.Errorf("%w: MP4 boxes too deep", ErrBrokenFile)
				}
				if err := walk(inner, depth+1); err != nil {
					return err
				}
			case "hdlr":
				// version and flags (4), pre_defined (4), handler_type (4)
				if len(inner) < 12 {
					return fmt.Errorf("%w: MP4 handler cut off", ErrBrokenFile)
				}
				switch string(inner[8:12]) {
				case "soun":
					sound++
				case "vide", "pict", "auxv":
					return ErrVideo
				}
			}
			b = b[size:]
		}
		return nil
	}
	if err := walk(data, 0); err != nil {
		return err
	}
	if sound == 0 {
		return fmt.Errorf("%w: MP4 without a sound track", ErrUnknownType)
	}
	return nil
}

// audioFrames is how many frames in a row must parse after the first for
// bare MP3 or AAC: one frame sync can be chance, a run of them is not.
const audioFrames = 3

// checkID3 skips an ID3v2 tag (its size is four 7-bit bytes) and checks
// that MP3 or AAC frames follow.
func checkID3(data []byte) (string, error) {
	if len(data) < 10 || data[3] < 2 || data[3] > 4 || data[6]|data[7]|data[8]|data[9] >= 0x80 {
		return MP3, fmt.Errorf("%w: ID3 tag", ErrBrokenFile)
	}
	n := 10 + (int(data[6])<<21 | int(data[7])<<14 | int(data[8])<<7 | int(data[9]))
	if data[5]&0x10 != 0 {
		n += 10 // footer
	}
	if n >= len(data) {
		return MP3, fmt.Errorf("%w: no audio after the ID3 tag", ErrBrokenFile)
	}
	rest := data[n:]
	if len(rest) >= 2 && rest[0] == 0xff && rest[1]&0xf6 == 0xf0 {
		return AAC, checkADTS(rest)
	}
	return MP3, checkMP3(rest)
}

// checkADTS checks that a run of ADTS frames (ISO/IEC 13818-7) starts the
// file: sync word, layer 0, a valid sampling rate, and a frame length
// that lands on the next frame.
func checkADTS(data []byte) error {
	return frames(data, func(h []byte) int {
		if len(h) < 7 || h[0] != 0xff || h[1]&0xf6 != 0xf0 || (h[2]>>2)&15 > 12 {
			return 0
		}
		n := int(h[3]&3)<<11 | int(h[4])<<3 | int(h[5]>>5)
		if n < 7 {
			return 0
		}
		return n
	})
}

// mp3Rates are the bitrates in kbit/s of MPEG-1 and MPEG-2 Layer III by
// index (0 free, 15 reserved: both refused).
var mp3Rates = [2][16]int{
	{0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 0},
	{0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160, 0},
}

// mp3Hz are the sampling rates of MPEG-1 by index; MPEG-2 halves them,
// MPEG-2.5 quarters them.
var mp3Hz = [3]int{44100, 48000, 32000}

// checkMP3 checks that a run of MPEG audio Layer III frames starts the
// file (other layers are not what phones record).
func checkMP3(data []byte) error {
	return frames(data, func(h []byte) int {
		if len(h) < 4 || h[0] != 0xff || h[1]&0xe0 != 0xe0 {
			return 0
		}
		version, layer := (h[1]>>3)&3, (h[1]>>1)&3 // version 3: MPEG-1, 2: MPEG-2, 0: MPEG-2.5
		rate, hz := int(h[2]>>4), int(h[2]>>2)&3
		if version == 1 || layer != 1 || hz == 3 {
			return 0
		}
		table, samples, div := 0, 144, 1
		if version != 3 {
			table, samples = 1, 72
			div = map[byte]int{2: 2, 0: 4}[version]
		}
		kbps := mp3Rates[table][rate]
		if kbps == 0 {
			return 0
		}
		return samples*kbps*1000/(mp3Hz[hz]/div) + int(h[2]>>1)&1
	})
}

// frames checks that the file starts with audioFrames + 1 frames in a
// row (or as many as the file holds, at least two, and the last ending at
// its end), each of the length size reads from its header (0: not a
// frame).
func frames(data []byte, size func(h []byte) int) error {
	i, n := 0, 0
	for n <= audioFrames && i < len(data) {
		k := size(data[i:])
		if k == 0 || k > len(data)-i {
			return fmt.Errorf("%w: audio frame %d", ErrBrokenFile, n)
		}
		i += k
		n++
	}
	if n < 2 {
		return fmt.Errorf("%w: too short for audio", ErrBrokenFile)
	}
	return nil
}
