-- Referrals (SPEC §3 rule 5, §4.4). A referral shares only the fields the
-- survivor agreed to: when it is sent to a member organisation, that
-- organisation receives a new report row (kind 'referral', its own data key
-- wrapped to its own key) holding only those fields; referred_report_id
-- points at it. A referral to a service that does not run Salama (a
-- hospital, a police gender desk) is a recorded hand-off: nothing is sent
-- electronically, and to_org is ''.
CREATE TABLE referrals (
	id                 TEXT NOT NULL PRIMARY KEY,
	report_id          TEXT NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
	from_org           TEXT NOT NULL REFERENCES organisations (id),
	to_org             TEXT NOT NULL DEFAULT '',
	service_id         TEXT NOT NULL,
	state              TEXT NOT NULL,
	fields             TEXT NOT NULL DEFAULT '',
	consent            TEXT NOT NULL DEFAULT '',
	created_by         TEXT NOT NULL,
	created_at         BIGINT NOT NULL,
	updated_at         BIGINT NOT NULL,
	reason             TEXT NOT NULL DEFAULT '',
	handoff_method     TEXT NOT NULL DEFAULT '',
	referred_report_id TEXT NOT NULL DEFAULT '',
	sealed             BLOB
);
CREATE INDEX referrals_report_idx ON referrals (report_id, created_at);
CREATE INDEX referrals_to_idx ON referrals (to_org, state);
CREATE INDEX referrals_referred_idx ON referrals (referred_report_id);
