-- Timers: work due at a time (a missed heartbeat, an acknowledgement that times out, a
-- snooze that ends, a held alert to release). Rows, never only memory, so a restart
-- resumes them. A claim takes a lease and bumps the fencing token; finishing a timer
-- checks the token, so a node whose lease expired cannot act on it twice. Setting a timer
-- that exists (same kind and subject) moves it and bumps the token too.
CREATE TABLE timers (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT   NOT NULL,
    subject     TEXT   NOT NULL,
    due_at      BIGINT NOT NULL,
    data        TEXT   NOT NULL,
    fence       BIGINT NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_until BIGINT,
    attempts    BIGINT NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL
);
CREATE UNIQUE INDEX timers_one_per_subject ON timers (kind, subject);
CREATE INDEX timers_by_due ON timers (due_at);

-- Held alerts (a maintenance window, flapping) are kept without an incident, so an
-- alert's incident becomes optional. SQLite cannot drop NOT NULL in place: rebuild.
CREATE TABLE alerts_new (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id BIGINT REFERENCES incidents (id),
    service     TEXT   NOT NULL,
    integration TEXT   NOT NULL,
    routing_key TEXT   NOT NULL,
    dedup_key   TEXT   NOT NULL,
    status      TEXT   NOT NULL,
    severity    TEXT   NOT NULL,
    summary     TEXT   NOT NULL,
    body        TEXT   NOT NULL,
    occurrences BIGINT NOT NULL,
    first_seen  BIGINT NOT NULL,
    last_seen   BIGINT NOT NULL,
    resolved_at BIGINT,
    -- Why the alert opened no incident (`maintenance: NAME`, `flapping: …`); NULL when it
    -- did, or once it was released.
    held        TEXT
);
INSERT INTO alerts_new (id, incident_id, service, integration, routing_key, dedup_key, status,
                        severity, summary, body, occurrences, first_seen, last_seen, resolved_at)
    SELECT id, incident_id, service, integration, routing_key, dedup_key, status,
           severity, summary, body, occurrences, first_seen, last_seen, resolved_at FROM alerts;
DROP TABLE alerts;
ALTER TABLE alerts_new RENAME TO alerts;
CREATE UNIQUE INDEX alerts_one_open_per_dedup_key ON alerts (service, dedup_key) WHERE status <> 'resolved';
CREATE INDEX alerts_by_dedup_key ON alerts (service, dedup_key, id);
CREATE INDEX alerts_by_incident ON alerts (incident_id);

-- Who an incident is assigned to (a JSON list of user names; escalation fills it), and
-- until when an acknowledged incident is snoozed.
ALTER TABLE incidents ADD COLUMN assignees TEXT NOT NULL DEFAULT '[]';
ALTER TABLE incidents ADD COLUMN snoozed_until BIGINT;
