-- Routing rules, edited by network coordinators (SPEC §5.1): the first rule
-- (by position) whose conditions all match a new report picks the one
-- organisation that receives it; '' means "any". The network's intake
-- organisation takes whatever no rule claims, and a child's report always
-- reaches a child-protection service whatever the rules say.
CREATE TABLE routing_rules (
	id         TEXT NOT NULL PRIMARY KEY,
	position   INTEGER NOT NULL,
	county     TEXT NOT NULL DEFAULT '',
	category   TEXT NOT NULL DEFAULT '',
	age_group  TEXT NOT NULL DEFAULT '',
	need       TEXT NOT NULL DEFAULT '',
	org_id     TEXT NOT NULL REFERENCES organisations (id),
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
CREATE INDEX routing_rules_position_idx ON routing_rules (position);
