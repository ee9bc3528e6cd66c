-- omswatch store, version 3: remediation events (kind 'remediation': a restart requested through
-- the collector, refused, or how it ended). One column per fact, so the history can be read and
-- filtered without parsing; NULL for every other kind. One ADD COLUMN per statement (SQLite).
ALTER TABLE events ADD COLUMN actor VARCHAR(255);
ALTER TABLE events ADD COLUMN program VARCHAR(255);
ALTER TABLE events ADD COLUMN result VARCHAR(32);
ALTER TABLE events ADD COLUMN duration_ms BIGINT;
ALTER TABLE events ADD COLUMN reason MEDIUMTEXT;
ALTER TABLE events ADD COLUMN request_id VARCHAR(64);
CREATE INDEX events_by_kind ON events (kind, at_unix_ms);
