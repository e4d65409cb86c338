-- The blind index of online-exploitation identifiers (SPEC §5.2): an
-- HMAC-SHA-256 under the network secret of each normalised phone number,
-- handle or link, so reports naming the same number can be linked without
-- anyone reading another organisation's report. The plaintext is sealed in
-- the report. Only reports whose survivor agreed to matching, and tips, have
-- rows here.
CREATE TABLE identifiers (
	report_id TEXT NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
	kind      TEXT NOT NULL,
	blind     BYTEA NOT NULL,
	org_id    TEXT NOT NULL,
	PRIMARY KEY (report_id, kind, blind)
);
CREATE INDEX identifiers_blind_idx ON identifiers (blind);

-- A screenshot's display copy: decoded, orientation applied, re-encoded
-- without EXIF, GPS or XMP, sealed under the report's key like the original,
-- which is kept as received for the evidence bundle.
ALTER TABLE attachments ADD COLUMN display_sealed BYTEA;
