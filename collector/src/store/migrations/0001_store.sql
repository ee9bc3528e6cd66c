-- omswatch store, version 1. Portable DDL: this same text runs on SQLite and on MySQL, MariaDB
-- and OceanBase. Keys are made by the collector (no AUTO_INCREMENT); LONGBLOB and MEDIUMTEXT are
-- MySQL's names for values over 64 KiB, which SQLite's type affinity accepts as BLOB and TEXT.
-- Times are Unix milliseconds of the writing collector's clock (BIGINT).

-- Each node's last report (a protobuf NodeReport) and when it arrived.
CREATE TABLE node_reports (
    node VARCHAR(255) NOT NULL PRIMARY KEY,
    received_at_unix_ms BIGINT NOT NULL,
    report LONGBLOB NOT NULL
);

-- The timeline. kind: raised, cleared, node_state, collector. nodes and evidence are JSON.
CREATE TABLE events (
    id VARCHAR(64) NOT NULL PRIMARY KEY,
    at_unix_ms BIGINT NOT NULL,
    kind VARCHAR(16) NOT NULL,
    code VARCHAR(64),
    severity VARCHAR(16),
    nodes MEDIUMTEXT NOT NULL,
    message MEDIUMTEXT,
    evidence MEDIUMTEXT,
    finding_id MEDIUMTEXT,
    from_state VARCHAR(16),
    to_state VARCHAR(16),
    region VARCHAR(255),
    raised_at_unix_ms BIGINT,
    collector VARCHAR(255) NOT NULL
);
CREATE INDEX events_by_time ON events (at_unix_ms);
CREATE INDEX events_by_code ON events (code, at_unix_ms);

-- Findings active now, one row per finding identity (finding_key = SHA-256 of finding_id).
-- Raising is an INSERT and clearing a DELETE, each in the transaction of its event, so of two
-- collectors sharing the store only the first records the event, whatever their clocks say.
CREATE TABLE active_findings (
    finding_key CHAR(64) NOT NULL PRIMARY KEY,
    finding_id MEDIUMTEXT NOT NULL,
    code VARCHAR(64) NOT NULL,
    severity VARCHAR(16) NOT NULL,
    nodes MEDIUMTEXT NOT NULL,
    message MEDIUMTEXT NOT NULL,
    evidence MEDIUMTEXT NOT NULL,
    raised_at_unix_ms BIGINT NOT NULL,
    raised_event_id VARCHAR(64) NOT NULL
);

-- Each node's state (ONLINE, DEGRADED, DOWN) as last recorded; changed by compare-and-set.
CREATE TABLE node_states (
    node VARCHAR(255) NOT NULL PRIMARY KEY,
    state VARCHAR(16) NOT NULL,
    since_unix_ms BIGINT NOT NULL
);

-- Notifications to deliver: one row per event and target (target = SHA-256 of the receiver's
-- URL, which may hold a token), written in the event's transaction, deleted once delivered.
CREATE TABLE webhook_outbox (
    event_id VARCHAR(64) NOT NULL,
    target CHAR(64) NOT NULL,
    attempts BIGINT NOT NULL,
    next_attempt_unix_ms BIGINT NOT NULL,
    last_error MEDIUMTEXT,
    PRIMARY KEY (event_id, target)
);
CREATE INDEX webhook_outbox_due ON webhook_outbox (next_attempt_unix_ms);

-- Leases between the collectors of a pair (e.g. name 'webhooks': who sends). Taken over by
-- compare-and-set on generation once the holder stopped renewing it for a while, as measured
-- by the taker's own monotonic clock: no synchronized clocks needed.
CREATE TABLE leases (
    name VARCHAR(64) NOT NULL PRIMARY KEY,
    holder VARCHAR(255) NOT NULL,
    generation BIGINT NOT NULL,
    renewed_at_unix_ms BIGINT NOT NULL
);

-- Facts about the store itself (e.g. which state file was imported, and when).
CREATE TABLE store_meta (
    meta_key VARCHAR(64) NOT NULL PRIMARY KEY,
    meta_value MEDIUMTEXT NOT NULL
);
