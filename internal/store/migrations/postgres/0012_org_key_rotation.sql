-- Organisation key rotation (internal/casework/rotation.go, docs/security.md
-- "Organisation key rotation"). Keep in step with the other engine's
-- 0012_org_key_rotation.sql.
--
-- Every holder of a copy of an organisation's private key (each member, and
-- the recovery code) has an age key pair of its own: its private key is
-- sealed under the holder's argon2id key (holder_wrap, recovery_holder_wrap),
-- and the organisation's key is wrapped to its public key (org_key_wrap,
-- recovery_wrap). A new organisation key can so be wrapped for every
-- remaining member without their passwords. Rows from before this migration
-- have no holder key ('') and the organisation key sealed directly under the
-- password's key; they are upgraded at the member's next login (or the next
-- use of the recovery code).
--
-- key_gen counts an organisation's key pairs: report_wraps, users and
-- console_sessions say which generation they hold. An empty org_key_wrap
-- means the member holds no copy (disabled when the key was replaced).
ALTER TABLE organisations ADD COLUMN key_gen INTEGER NOT NULL DEFAULT 1;
ALTER TABLE organisations ADD COLUMN recovery_holder TEXT NOT NULL DEFAULT '';
ALTER TABLE organisations ADD COLUMN recovery_holder_wrap BYTEA;
ALTER TABLE users ADD COLUMN holder_key TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN holder_wrap BYTEA;
ALTER TABLE users ADD COLUMN org_key_gen INTEGER NOT NULL DEFAULT 1;
ALTER TABLE console_sessions ADD COLUMN key_gen INTEGER NOT NULL DEFAULT 1;
ALTER TABLE report_wraps ADD COLUMN key_gen INTEGER NOT NULL DEFAULT 1;
CREATE INDEX report_wraps_gen_idx ON report_wraps (recipient, key_gen);

-- A rotation in progress: the retired generation's private key, wrapped to
-- the next generation's public key (chain), so that members holding only
-- the new key still read what is not yet re-wrapped. Deleted, with every
-- older generation's row, when no report wrap of an older generation is
-- left.
CREATE TABLE org_key_rotations (
	org_id     TEXT NOT NULL REFERENCES organisations (id),
	from_gen   INTEGER NOT NULL,
	chain      BYTEA NOT NULL,
	started_at BIGINT NOT NULL,
	PRIMARY KEY (org_id, from_gen)
);

-- The retired private key sealed for the rotation job, under a key derived
-- from the network secret (never in the database), so that the job re-wraps
-- reports without anyone logged in and resumes after a restart. Never backed
-- up (internal/store/backup.go): after a restore, the next login of any
-- member of the organisation hands the job the key again.
CREATE TABLE org_key_rotation_jobs (
	org_id   TEXT NOT NULL,
	from_gen INTEGER NOT NULL,
	sealed   BYTEA NOT NULL,
	PRIMARY KEY (org_id, from_gen),
	FOREIGN KEY (org_id, from_gen) REFERENCES org_key_rotations (org_id, from_gen) ON DELETE CASCADE
);
