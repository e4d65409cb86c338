-- The audit log, PostgreSQL. Keep in step with sqlite/0002_audit.sql:
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
	prev_hash BYTEA NOT NULL,
	hash      BYTEA NOT NULL,
	sig       BYTEA NOT NULL
);
CREATE INDEX audit_log_report_idx ON audit_log (report_id, seq);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'audit_log is append-only';
END;
$$;

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
	FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
	FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
	FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
