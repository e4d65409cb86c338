-- Statistics as they were first published (internal/stats, record.go). A
-- page that changes is many pages: once a month's figures, or a whole
-- year's, are on a page they are kept here and shown from here for ever,
-- whatever later happens to the reports they counted. period is
-- '2026-03' for a month, '2026' for a year; data is the published figures
-- as JSON (coarse counts and how each is shown, nothing else); k is the
-- threshold they were published with.
CREATE TABLE stats_published (
	period       TEXT NOT NULL PRIMARY KEY,
	year         INTEGER NOT NULL,
	k            INTEGER NOT NULL,
	data         TEXT NOT NULL,
	published_at BIGINT NOT NULL
);
CREATE INDEX stats_published_year_idx ON stats_published (year, published_at);
