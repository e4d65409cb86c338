// Package seal owns every key and every sealing operation in Salama.
//
// Why it exists: a survivor's words must stay secret for decades, from a
// stolen database, from a curious operator and from the organisations a
// report was never routed to. That only holds if the cryptography is done in
// one place, one way, by code small enough to review. This package is that
// place; no other package imports crypto/cipher, chacha20poly1305, argon2 or
// age.
//
// What it owns (the design is fixed by SPEC §6, nothing here is improvised):
//
//   - report data keys ([DataKey]): one random 256-bit key per report; every
//     field is sealed with XChaCha20-Poly1305 and bound, as associated data,
//     to the report id and the field name, so a ciphertext cannot be moved to
//     another report or another field;
//   - symmetric wrapping keys ([Key]): session keys, receipt wrap keys,
//     password key-encryption keys and recovery keys, which wrap data keys and
//     organisation identities with the same AEAD, bound to who and what for;
//   - organisation key pairs ([OrgIdentity], [OrgRecipient]): age hybrid
//     post-quantum (ML-KEM-768 + X25519) keys; a data key is wrapped to an
//     organisation as one binary age file per recipient;
//   - argon2id ([KDF]): passwords and receipts, with the number of
//     evaluations running at once bounded (each holds its memory) and the
//     rest queued, never refused;
//   - receipts ([Receipt]): 16 uniformly random digits, the survivor's only
//     credential, and their keys ([Receipts]): argon2id under the network
//     salt, each half then keyed with HMAC-SHA-256 under a subkey of the
//     network secret, versioned so that older receipts keep opening;
//   - the network secret ([NetworkSecret]): keys the blind index of
//     identifiers and every MAC the server needs (CSRF tokens, keyed hashes);
//   - backup encryption ([BackupRecipients], [BackupIdentities]): a backup
//     is one age file to X25519 or hybrid post-quantum recipients, and may
//     carry the network secret and signing key ([DeploymentSecrets]).
//
// What it must never do:
//
//   - log anything, or put a secret, a plaintext or caller input (a receipt
//     typed by a survivor) in an error message: errors are typed sentinels
//     wrapped with %w, and key types redact themselves when formatted;
//   - touch the database, the network or any file other than the network
//     secret and signing key files;
//   - implement a primitive: it composes x/crypto's XChaCha20-Poly1305 and
//     argon2id, age, and the standard library's HMAC, HKDF and SHA-256.
//
// Keys are zeroed by Destroy on a best-effort basis: Go may have copied key
// bytes (into cipher state, onto the stack, or while growing a slice) and the
// garbage collector does not clear freed memory. Destroy makes a key unusable
// (every later use returns [ErrDestroyed]); it is not a guarantee that no copy
// of the bytes remains in the process.
//
// # Formats
//
// Everything this package seals with a symmetric key (a [Sealed] field, a
// wrapped data key, a wrapped organisation identity) has the same layout:
//
//	version (1 byte, 0x01) || nonce (24 random bytes) || XChaCha20-Poly1305 ciphertext and tag
//
// with associated data
//
//	version || lp(domain) || lp(binding1) || lp(binding2)
//
// where lp(s) is the 4-byte big-endian length of s followed by s, and domain
// is one of "salama/field", "salama/data-key", "salama/org-identity", so that
// a blob sealed for one purpose never opens as another, even under the same
// key.
//
// A field ([DataKey.Seal]) is sealed in format 0x02 instead: the same
// layout and associated data with 0x02 for the version, over the plaintext
// padded to a size bucket (pad.go), so that a ciphertext's length says
// little about how much a survivor wrote. Fields sealed in format 0x01,
// before padding existed, still open. The formats are pinned by fixed
// vectors in the tests.
package seal
