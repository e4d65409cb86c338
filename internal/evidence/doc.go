// Package evidence owns what Salama does with evidence: the files a
// survivor sends (screenshots, PDFs, voice notes, chat exports), and the
// signed bundle a caseworker hands to the police (SPEC §5.3).
//
// Kinds (kinds.go, chat.go). Check recognises a file from its bytes alone,
// never its name, and checks its structure within bounds without
// rendering, playing or decoding it: a PDF's header and trailer, every Ogg
// page, an MP4's boxes (sound tracks only: videos are refused), runs of
// ADTS or MP3 frames. A chat export (WhatsApp's .txt or .zip, Telegram's
// result.json) is the one kind read whole: into a conversation of (time,
// sender, words) and the phone numbers and usernames in it, within
// ChatMaxText, ChatMaxMessages, ChatMaxShown and the zip limits, in one of
// the decoder's slots (Decoder.Check when a form is checked, which keeps
// the display copy from that reading; Decoder.Conversation).
// docs/evidence-types.md says why, and the limits.
//
// Screenshots. A survivor's screenshot is kept twice, both sealed under the
// report's key: the original exactly as received, for the evidence bundle
// (a court may want the very bytes, metadata included), and a display copy
// for the console, made here: decoded, turned upright by its EXIF
// orientation, scaled down to a screen's size and re-encoded, which leaves
// behind every EXIF, GPS and XMP record (a phone photo can say where it was
// taken, and so where the survivor lives). A file is refused from its header
// alone, before any decoding, when making its display copy would take more
// than MaxDecodeBytes: the cost is computed the way image/png and
// image/jpeg really allocate (an interlaced PNG twice its pixels, a
// progressive JPEG its coefficients too, RGB and CMYK JPEGs their
// conversion), so a "decompression bomb" of a few kilobytes that claims a
// billion pixels, or a layout that costs more than it looks, never reaches
// a decoder. Each decode runs in one of the server's slots for
// memory-heavy work, the ones argon2id evaluations take (Slots, seal.KDF):
// at most one per CPU, the rest waiting in a bounded queue for a bounded
// time, then refused as busy (ErrBusy) so that the survivor can send again.
//
// Bundles. An evidence bundle is a zip with the account, identifiers,
// original screenshots, the thread and the report's audit trail, a
// certificate under section 106B(4) of Kenya's Evidence Act over them
// (certificate.go), a printable summary, and a manifest listing the SHA-256
// of every file, signed with the deployment's Ed25519 key (see bundle.go for
// the exact format). Verify checks one offline, with nothing but the file
// and the public key, against the manifest and the certificate, and names
// every file that does not match.
//
// What it must never do: log, keep anything on disk, decode an image
// whose header it has not checked, unpack a zip (only its chat is read,
// through a limit), or render, play or transcode a PDF or a voice note. It holds no keys: signing goes through
// seal.SigningKey.
package evidence
