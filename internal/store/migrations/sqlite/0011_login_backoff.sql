-- Staff login back-off (internal/casework/login.go). Keep in step with the
-- other engine's 0011_login_backoff.sql.
--
-- Failed console logins are counted per typed username, known or not, under
-- an HMAC of the normalised username keyed by the network secret: an unknown
-- username is slowed down exactly like a real one, so the answers never tell
-- which usernames exist, and a dump does not list the names people tried.
-- The delay is capped at a few minutes and the count is forgotten after a
-- quiet quarter of an hour, so nobody can lock a colleague out for good; an
-- organisation admin can clear it at once. Rows go when a login succeeds, an
-- admin unlocks, or they are stale (the expire job).
CREATE TABLE login_backoff (
	key_hash     BLOB NOT NULL PRIMARY KEY,
	failures     INTEGER NOT NULL,
	last_failure BIGINT NOT NULL
);
CREATE INDEX login_backoff_last_idx ON login_backoff (last_failure);

-- The old per-user counter and lock, which never forgot a failure: one wrong
-- try an hour kept an account locked for ever.
ALTER TABLE users DROP COLUMN failed_logins;
ALTER TABLE users DROP COLUMN locked_until;
