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
// alone, before any decoding, when its dimensions would take too much
// memory to decode (a "decompression bomb" is a few kilobytes that claim a
// billion pixels); decoding runs under a memory budget shared by all
// requests, so that many uploads at once queue instead of exhausting the
// server.
//
// Bundles. An evidence bundle is a zip with the account, identifiers,
// original screenshots, the thread and the report's audit trail, and a
// manifest listing the SHA-256 of every file, signed with the deployment's
// Ed25519 key (see bundle.go for the exact format). Verify checks one
// offline, with nothing but the file and the public key, and names the
// first file that does not match.
//
// What it must never do: log, keep anything on disk, or decode an image
// whose header it has not checked. It holds no keys: signing goes through
// seal.SigningKey.
package evidence
