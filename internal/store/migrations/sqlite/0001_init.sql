-- Salama initial schema, SQLite. Keep in step with postgres/0001_init.sql:
-- TestSchemasMatch compares the two.
--
-- Timestamps are BIGINT unix seconds, booleans BOOLEAN (0/1), binary BLOB.
-- Every key column is also NOT NULL: SQLite would otherwise let a non-integer
-- PRIMARY KEY hold NULL, which PostgreSQL does not.

CREATE TABLE settings (
	key   TEXT NOT NULL PRIMARY KEY,
	value BLOB NOT NULL
);

CREATE TABLE organisations (
	id               TEXT NOT NULL PRIMARY KEY,
	name             TEXT NOT NULL,
	intake           BOOLEAN NOT NULL DEFAULT false,
	child_protection BOOLEAN NOT NULL DEFAULT false,
	public_key       TEXT NOT NULL,
	recovery_salt    BLOB,
	recovery_params  TEXT,
	recovery_wrap    BLOB,
	created_at       BIGINT NOT NULL
);

CREATE TABLE services (
	id         TEXT NOT NULL PRIMARY KEY,
	org_id     TEXT NOT NULL REFERENCES organisations (id),
	data       TEXT NOT NULL, -- JSON
	updated_at BIGINT NOT NULL
);
CREATE INDEX services_org_idx ON services (org_id);

CREATE TABLE reports (
	id             TEXT NOT NULL PRIMARY KEY,
	case_ref       TEXT NOT NULL UNIQUE,
	kind           TEXT NOT NULL,
	channel        TEXT NOT NULL,
	org_id         TEXT NOT NULL REFERENCES organisations (id),
	status         TEXT NOT NULL,
	closed_reason  TEXT NOT NULL DEFAULT '',
	created_at     BIGINT NOT NULL,
	updated_at     BIGINT NOT NULL,
	about          TEXT NOT NULL DEFAULT '',
	categories     TEXT NOT NULL DEFAULT '',
	age_band       TEXT NOT NULL DEFAULT '',
	county         TEXT NOT NULL DEFAULT '',
	when_last      TEXT NOT NULL DEFAULT '',
	danger_now     TEXT NOT NULL DEFAULT '',
	help_wanted    TEXT NOT NULL DEFAULT '',
	contact_pref   TEXT NOT NULL DEFAULT '',
	consent_refer  BOOLEAN NOT NULL DEFAULT false,
	consent_match  BOOLEAN NOT NULL DEFAULT false,
	consent_stats  BOOLEAN NOT NULL DEFAULT false,
	child_involved BOOLEAN NOT NULL DEFAULT false,
	urgency        INTEGER NOT NULL DEFAULT 0,
	withdrawn_at   BIGINT
);
CREATE INDEX reports_inbox_idx ON reports (org_id, status, urgency DESC, created_at);
CREATE INDEX reports_created_idx ON reports (created_at);

CREATE TABLE report_fields (
	report_id TEXT NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
	name      TEXT NOT NULL,
	sealed    BLOB NOT NULL,
	PRIMARY KEY (report_id, name)
);

CREATE TABLE report_wraps (
	report_id TEXT NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
	recipient TEXT NOT NULL,
	wrap      BLOB NOT NULL,
	PRIMARY KEY (report_id, recipient)
);

CREATE TABLE receipts (
	lookup    BLOB NOT NULL PRIMARY KEY,
	report_id TEXT NOT NULL UNIQUE REFERENCES reports (id) ON DELETE CASCADE,
	wrap      BLOB NOT NULL
);

CREATE TABLE messages (
	id         TEXT NOT NULL PRIMARY KEY,
	report_id  TEXT NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
	author     TEXT NOT NULL,
	user_id    TEXT,
	created_at BIGINT NOT NULL,
	sealed     BLOB NOT NULL
);
CREATE INDEX messages_report_idx ON messages (report_id, created_at);

CREATE TABLE attachments (
	id         TEXT NOT NULL PRIMARY KEY,
	report_id  TEXT NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
	created_at BIGINT NOT NULL,
	sealed     BLOB NOT NULL
);
CREATE INDEX attachments_report_idx ON attachments (report_id);

CREATE TABLE survivor_sessions (
	id_hash    BLOB NOT NULL PRIMARY KEY,
	report_id  TEXT NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
	sealed_key BLOB NOT NULL,
	created_at BIGINT NOT NULL,
	last_seen  BIGINT NOT NULL
);
CREATE INDEX survivor_sessions_report_idx ON survivor_sessions (report_id);
CREATE INDEX survivor_sessions_seen_idx ON survivor_sessions (last_seen);

CREATE TABLE submit_tokens (
	token_hash BLOB NOT NULL PRIMARY KEY,
	report_id  TEXT NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
	created_at BIGINT NOT NULL
);
CREATE INDEX submit_tokens_report_idx ON submit_tokens (report_id);
CREATE INDEX submit_tokens_created_idx ON submit_tokens (created_at);
