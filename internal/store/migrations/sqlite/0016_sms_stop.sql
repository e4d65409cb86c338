-- Numbers that texted STOP (or ACHA): no nudge is sent to them until they
-- text START (or ANZA). Only the number's blind index is kept (an HMAC
-- under a subkey of the network secret, re-keyed with the other blind
-- indexes when the secret rotates), never the number: a dump cannot tell
-- whether a given number is here without the network secret.
CREATE TABLE sms_stops (
	phone_hash BLOB NOT NULL PRIMARY KEY,
	created_at BIGINT NOT NULL
);
