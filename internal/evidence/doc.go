// Package evidence owns what Salama does with evidence: the screenshots a
// survivor sends, and the signed bundle a caseworker hands to the police
// (SPEC §5.3).
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
// What it must never do: log, keep anything on disk, or decode an image
// whose header it has not checked. It holds no keys: signing goes through
// seal.SigningKey.
package evidence
