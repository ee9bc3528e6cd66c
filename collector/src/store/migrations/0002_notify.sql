-- omswatch store, version 2: what the notifications need. Portable DDL, as version 1.

-- The webhook outbox keeps its rows once delivered or refused (until their event is pruned by
-- retention), so a delivery can be shown and a permanent failure keeps its last error.
-- state: pending (to send, or retrying), delivered (a 2xx), failed (refused for good: a 4xx other
-- than 408 and 429). done_at_unix_ms: when it was delivered or refused.
ALTER TABLE webhook_outbox ADD COLUMN state VARCHAR(16) NOT NULL DEFAULT 'pending';
ALTER TABLE webhook_outbox ADD COLUMN done_at_unix_ms BIGINT;
CREATE INDEX webhook_outbox_by_target ON webhook_outbox (target, state, event_id);
-- Counting the backlog (pending, failed) must not scan the delivered rows, the bulk of the table.
CREATE INDEX webhook_outbox_by_state ON webhook_outbox (state);

-- Leases expire by the DATABASE's clock (version 1's comment said the taker's monotonic clock):
-- the holder sets expires_at_unix_ms to the database's now plus the lease's time to live at each
-- renewal, and another collector may take the lease once the database's now is past it. One
-- clock decides, so the collectors' own clocks may disagree.
ALTER TABLE leases ADD COLUMN expires_at_unix_ms BIGINT NOT NULL DEFAULT 0;
