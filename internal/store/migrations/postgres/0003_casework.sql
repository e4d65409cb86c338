-- Caseworkers, their sessions, private notes, and the casework columns of a
-- report. Keep in step with the other engine's 0003_casework.sql.

-- A user's password (or, until enrolment, a one-time enrolment code) goes
-- through argon2id: the first half is the verifier, the second the key that
-- unwraps org_key_wrap, the organisation's private key. The TOTP secret is
-- sealed under the same key, so a database dump alone reveals neither.
CREATE TABLE users (
	id             TEXT NOT NULL PRIMARY KEY,
	org_id         TEXT NOT NULL REFERENCES organisations (id),
	username       TEXT NOT NULL UNIQUE,
	display_name   TEXT NOT NULL DEFAULT '',
	role           TEXT NOT NULL,
	disabled       BOOLEAN NOT NULL DEFAULT false,
	kdf_salt       BYTEA NOT NULL,
	kdf_params     TEXT NOT NULL,
	verifier       BYTEA NOT NULL,
	org_key_wrap   BYTEA NOT NULL,
	totp_sealed    BYTEA,
	totp_last_step BIGINT NOT NULL DEFAULT 0,
	enrol_expires  BIGINT,
	failed_logins  INTEGER NOT NULL DEFAULT 0,
	locked_until   BIGINT NOT NULL DEFAULT 0,
	created_at     BIGINT NOT NULL
);
CREATE INDEX users_org_idx ON users (org_id);

-- A console login: the organisation key sealed under a session key that
-- lives only in the caseworker's cookie.
CREATE TABLE console_sessions (
	id_hash    BYTEA NOT NULL PRIMARY KEY,
	user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	sealed_key BYTEA NOT NULL,
	created_at BIGINT NOT NULL,
	last_seen  BIGINT NOT NULL
);
CREATE INDEX console_sessions_user_idx ON console_sessions (user_id);
CREATE INDEX console_sessions_seen_idx ON console_sessions (last_seen);

CREATE TABLE notes (
	id         TEXT NOT NULL PRIMARY KEY,
	report_id  TEXT NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
	user_id    TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	sealed     BYTEA NOT NULL
);
CREATE INDEX notes_report_idx ON notes (report_id, created_at);

ALTER TABLE reports ADD COLUMN assigned_to TEXT NOT NULL DEFAULT '';
ALTER TABLE reports ADD COLUMN gbv_type TEXT NOT NULL DEFAULT '';
ALTER TABLE reports ADD COLUMN context_flags TEXT NOT NULL DEFAULT '';
ALTER TABLE reports ADD COLUMN opened_at BIGINT;
ALTER TABLE reports ADD COLUMN first_response_at BIGINT;


-- The inbox reads one status at a time, most urgent first, then oldest.
-- inbox_rank = (16 - urgency) << 40 | created_at folds both into one
-- ascending key, so keyset pagination is a single row-value comparison
-- (inbox_rank, id) > ($1, $2) that both engines answer with an index seek,
-- however deep the page.
ALTER TABLE reports ADD COLUMN inbox_rank BIGINT NOT NULL DEFAULT 0;
DROP INDEX reports_inbox_idx;
CREATE INDEX reports_inbox_idx ON reports (org_id, status, inbox_rank, id);
