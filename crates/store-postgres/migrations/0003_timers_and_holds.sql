-- Timers: work due at a time (a missed heartbeat, an acknowledgement that times out, a
-- snooze that ends, a held alert to release). Rows, never only memory, so a restart
-- resumes them. A claim takes a lease (FOR UPDATE SKIP LOCKED) and bumps the fencing
-- token; finishing a timer checks the token, so a node whose lease expired cannot act on
-- it twice. Setting a timer that exists (same kind and subject) moves it and bumps the
-- token too.
CREATE TABLE timers (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
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

-- Held alerts (a maintenance window, flapping) are kept without an incident.
ALTER TABLE alerts ALTER COLUMN incident_id DROP NOT NULL;
-- Why the alert opened no incident (`maintenance: NAME`, `flapping: …`); NULL when it
-- did, or once it was released.
ALTER TABLE alerts ADD COLUMN held TEXT;

-- Who an incident is assigned to (a JSON list of user names; escalation fills it), and
-- until when an acknowledged incident is snoozed.
ALTER TABLE incidents ADD COLUMN assignees TEXT NOT NULL DEFAULT '[]';
ALTER TABLE incidents ADD COLUMN snoozed_until BIGINT;
