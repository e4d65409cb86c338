-- Messages that are never lost (internal/sms, internal/notify): SMS nudges,
-- SMS help replies and staff alerts are durable jobs (0006_jobs.sql),
-- enqueued in the transaction of what causes them. Keep in step with the
-- other engine's 0009_outbox.sql: TestSchemasMatch compares them.

-- One row per nudge: the neutral "you have a new message" SMS to a survivor
-- who chose SMS contact, queued with a caseworker's message. It holds no
-- number (the job's payload carries it, sealed, until the job ends) and no
-- word of the message: only what the console shows on the thread. state is
-- queued, sent or failed. At most one nudge per report waits at a time: a
-- second message while one is queued is covered by it. not_before is when
-- the nudge may go: a nudge is sent at most once per quiet period, counted
-- from the last one actually sent. failure is a short reason code.
CREATE TABLE nudges (
	id         TEXT NOT NULL PRIMARY KEY,
	report_id  TEXT NOT NULL REFERENCES reports (id),
	message_id TEXT NOT NULL,
	state      TEXT NOT NULL,
	not_before BIGINT NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	sent_at    BIGINT,
	failure    TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX nudges_queued_idx ON nudges (report_id) WHERE state = 'queued';
CREATE INDEX nudges_report_idx ON nudges (report_id, created_at);

-- Inbound SMS already answered, by a keyed hash (network secret) of the
-- provider's message id, so that a callback posted twice gets one reply.
-- Rows expire; nothing else about the message is kept.
CREATE TABLE sms_inbound_seen (
	id_hash    BYTEA NOT NULL PRIMARY KEY,
	expires_at BIGINT NOT NULL
);
CREATE INDEX sms_inbound_seen_expires_idx ON sms_inbound_seen (expires_at);

-- Where an organisation's staff alerts go: an email address or a phone
-- number, sealed under a key derived from the network secret (the server
-- reads it to send, unattended; a dump alone does not). channel is email or
-- sms. last_sent_at, last_error and last_error_at say how the last delivery
-- went, for the console's Alerts page.
CREATE TABLE alert_contacts (
	id            TEXT NOT NULL PRIMARY KEY,
	org_id        TEXT NOT NULL REFERENCES organisations (id),
	channel       TEXT NOT NULL,
	sealed        BYTEA NOT NULL,
	created_at    BIGINT NOT NULL,
	last_sent_at  BIGINT,
	last_error    TEXT NOT NULL DEFAULT '',
	last_error_at BIGINT
);
CREATE INDEX alert_contacts_org_idx ON alert_contacts (org_id);
