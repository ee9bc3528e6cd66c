-- omswatch store, version 4: a pair of collectors sharing the store records each timeline change
-- once even when one of them sees it late. dedupe_key is the SHA-256 of what changed (the kind
-- and the finding's identity, or the kind, the node and its new state); a change recorded by the
-- other collector within a few ticks (either way: their clocks may disagree) under the same key
-- is an echo and is not recorded again. NULL for collector start/stop and remediation events,
-- which are each collector's own. Portable DDL, as version 1.
ALTER TABLE events ADD COLUMN dedupe_key CHAR(64);
CREATE INDEX events_by_dedupe_key ON events (dedupe_key, at_unix_ms);
