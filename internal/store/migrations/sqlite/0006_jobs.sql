-- Durable background work and the data lifecycle (SPEC §5.5, §7). Keep in
-- step with the other engine's 0006_jobs.sql: TestSchemasMatch compares them.
--
-- A job is claimed by leasing its row: on PostgreSQL with
-- FOR UPDATE SKIP LOCKED, so two instances never take the same job; on SQLite
-- the single writer serialises claims. A lease that runs out (a crashed
-- worker) makes the job claimable again, so jobs survive restarts.
--
-- state is pending, running, done or failed (gave up after its attempts).
-- leased_by holds the claim's token (worker name and a random nonce): every
-- later update of a claimed job names it, so a worker whose lease ran out and
-- was taken over cannot finish, or fail, the job it lost. A job with
-- every_secs > 0 is periodic: finishing it schedules it again instead of
-- marking it done, so one row per kind carries the schedule across restarts
-- and instances. unique_key makes enqueueing idempotent (NULL: no key).
-- payload is stored in clear and copied into backups: it names things by id
-- and never holds what a survivor typed, a phone number or a receipt.
CREATE TABLE jobs (
	id          TEXT NOT NULL PRIMARY KEY,
	kind        TEXT NOT NULL,
	unique_key  TEXT UNIQUE,
	payload     TEXT NOT NULL DEFAULT '',
	state       TEXT NOT NULL,
	run_at      BIGINT NOT NULL,
	every_secs  BIGINT NOT NULL DEFAULT 0,
	attempts    INTEGER NOT NULL DEFAULT 0,
	leased_by   TEXT NOT NULL DEFAULT '',
	lease_until BIGINT NOT NULL DEFAULT 0,
	last_error  TEXT NOT NULL DEFAULT '',
	created_at  BIGINT NOT NULL,
	updated_at  BIGINT NOT NULL
);
CREATE INDEX jobs_due_idx ON jobs (state, run_at);

-- Retention (internal/retention). escalated_at: nobody in the receiving
-- organisation opened the report within the escalation period, and the
-- console flags it. purged_at: retention destroyed its content exactly as a
-- withdrawal does (status 'purged'); the row stays for anonymous counts.
ALTER TABLE reports ADD COLUMN escalated_at BIGINT;
ALTER TABLE reports ADD COLUMN purged_at BIGINT;

-- The retention job's two questions, asked every hour, each answered from a
-- small partial index rather than a scan of every report ever made: which
-- live reports has nobody opened, oldest first; which closed reports have
-- been quiet longest.
CREATE INDEX reports_unopened_idx ON reports (created_at)
	WHERE opened_at IS NULL AND withdrawn_at IS NULL AND purged_at IS NULL;
CREATE INDEX reports_closed_idx ON reports (updated_at) WHERE status = 'closed';
