// Package audit owns Salama's audit log: what an entry means, which actions
// are recorded, and the hash chain that lets `salama audit verify` detect an
// edit or a deletion (SPEC §6).
//
// Why: caseworkers open sealed reports of sexual exploitation. Survivors,
// organisations and courts must be able to trust that every read of sealed
// content, every export and every status change left a trace that nobody,
// including an operator with database access, removed or altered quietly.
//
// # The chain
//
// Entries are numbered 1, 2, 3 … without gaps. Each carries the SHA-256 hash
// of the entry before it (32 zero bytes for entry 1), its own hash over its
// canonical encoding (see [EntryHash]), and an Ed25519 signature of that hash
// by the deployment's signing key (seal.SigningKey), which is never stored in
// the database. So someone with write access to the database alone
//
//   - who edits an entry leaves a hash that no longer matches (edited);
//   - who deletes an entry leaves a gap in the numbers (deleted);
//   - who moves entries leaves a genuine entry that does not follow the one
//     before it (reordered);
//   - who recomputes hashes to cover any of that cannot sign them (bad
//     signature).
//
// What the chain cannot show: removing the newest entries (truncating the
// tail) leaves a shorter chain that is still valid. So each server keeps a
// signed checkpoint of the head in its data directory (checkpoint.go), which
// `salama audit verify` checks and moves forward, and prints for operators
// to record elsewhere (a ticket, a notebook, another organisation): a log
// that no longer holds the checkpoint's entry, with its hash, was cut back.
// Someone who holds the signing key as well as the database and the data
// directory can rewrite everything but the copies kept elsewhere.
//
// The signing key can be rotated (keys.go): a rotation entry, signed by the
// new key, names the old and the new one, and Verify accepts the change
// there.
//
// # What an entry may say
//
// An entry says who did what to which report, never what the report says.
// Actor, OrgID and ReportID are identifiers (a user id, an organisation id,
// a report id), never names, phone numbers or handles. A failed login whose
// name matched no user is recorded with actor "unknown", never the typed
// name, which may be a phone number or a password typed into the wrong box.
//
// Detail is short and structured: space-separated key=value pairs whose keys
// come from an allow-list (detailKeys in action.go) and whose values contain no spaces,
// such as "status=in_review→closed reason=resolved". It must never hold
// sealed content or anything derived from it: report text, identifiers of
// the abuser or the survivor, file names, note or message text, receipts,
// passwords, TOTP codes, session ids or client addresses. Refer to a note,
// message or attachment by its id. [Log.Record] refuses a detail that does
// not have this shape; the shape makes free text impossible, the key list
// keeps it meaningful, and review keeps the values honest.
//
// # When to record
//
// Record before the action takes effect and do not perform it if Record
// fails: sealed content is opened only after its read is on the log.
//
// What this package must never do: log, update or delete an entry (the store
// has no method for either, and the database refuses both), or accept text a
// person wrote.
package audit
