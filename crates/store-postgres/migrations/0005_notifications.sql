-- The outbox: every notification to send, one row per person, contact method and
-- incident event. Each channel's sender claims its due rows with a lease and a fencing
-- token (as timers), so a slow channel never holds up another, a restart resumes, and an
-- outcome is recorded once. The delivery id is fixed when the row is made: retries carry
-- the same one (an email's Message-ID, a webhook's X-Shinrai-Delivery) for receivers to
-- deduplicate on.
CREATE TABLE notifications (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    incident_id BIGINT NOT NULL REFERENCES incidents (id),
    username    TEXT   NOT NULL,
    channel     TEXT   NOT NULL,
    contact     TEXT   NOT NULL,
    address     TEXT   NOT NULL,
    event       TEXT   NOT NULL,
    delivery_id TEXT   NOT NULL,
    -- pending, sent, dead (gave up), cancelled (acknowledged before it was due)
    status      TEXT   NOT NULL,
    due_at      BIGINT NOT NULL,
    attempts    BIGINT NOT NULL DEFAULT 0,
    fence       BIGINT NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_until BIGINT,
    last_error  TEXT,
    created_at  BIGINT NOT NULL,
    sent_at     BIGINT
);
CREATE UNIQUE INDEX notifications_by_delivery_id ON notifications (delivery_id);
CREATE INDEX notifications_due ON notifications (channel, status, due_at);
CREATE INDEX notifications_by_incident ON notifications (incident_id, id);
