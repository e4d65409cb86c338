-- Durable background work (retention, escalation, notifications, session
-- expiry). A job is claimed by leasing its row: on PostgreSQL with
-- FOR UPDATE SKIP LOCKED so two instances never take the same job; on SQLite
-- the single writer serialises claims. A lease that runs out (a crashed
-- worker) makes the job claimable again, so jobs survive restarts.
CREATE TABLE jobs (
	id           TEXT NOT NULL PRIMARY KEY,
	kind         TEXT NOT NULL,
	unique_key   TEXT UNIQUE,
	payload      TEXT NOT NULL DEFAULT '',
	state        TEXT NOT NULL,
	run_at       BIGINT NOT NULL,
	attempts     INTEGER NOT NULL DEFAULT 0,
	leased_by    TEXT NOT NULL DEFAULT '',
	lease_until  BIGINT NOT NULL DEFAULT 0,
	last_error   TEXT NOT NULL DEFAULT '',
	created_at   BIGINT NOT NULL,
	updated_at   BIGINT NOT NULL
);
CREATE INDEX jobs_due_idx ON jobs (state, run_at);
