-- The audit log, SQLite. Keep in step with postgres/0002_audit.sql:
-- TestSchemasMatch compares the two.
--
-- A hash chain: each entry carries the SHA-256 of the one before it and its
-- own hash signed with the deployment's Ed25519 key (see internal/audit).
-- report_id is deliberately not a foreign key: an entry outlives the report
-- it is about (withdrawn and purged reports keep their history).
--
-- The triggers make the table append-only for the program itself, so that a
-- bug cannot rewrite history. They are no defence against someone with
-- direct database access, who can drop them: that is what the chain and
-- `salama audit verify` are for.

CREATE TABLE audit_log (
	seq       BIGINT NOT NULL PRIMARY KEY,
	at        BIGINT NOT NULL,
	actor     TEXT NOT NULL,
	org_id    TEXT NOT NULL DEFAULT '',
	action    TEXT NOT NULL,
	report_id TEXT NOT NULL DEFAULT '',
	detail    TEXT NOT NULL DEFAULT '',
	prev_hash BLOB NOT NULL,
	hash      BLOB NOT NULL,
	sig       BLOB NOT NULL
);
CREATE INDEX audit_log_report_idx ON audit_log (report_id, seq);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
	SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
	SELECT RAISE(ABORT, 'audit_log is append-only');
END;
