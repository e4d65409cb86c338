-- USSD conversations. The gateway's session id is kept only as a keyed hash
-- (HMAC under the network secret); the state holds the menu position and the
-- structured answers so far, never a receipt, a phone number or free text.
-- Rows live for minutes: a gateway session lasts at most 180 seconds.
CREATE TABLE ussd_sessions (
	id_hash    BYTEA NOT NULL PRIMARY KEY,
	state      TEXT NOT NULL,
	updated_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL
);
CREATE INDEX ussd_sessions_expires_idx ON ussd_sessions (expires_at);
