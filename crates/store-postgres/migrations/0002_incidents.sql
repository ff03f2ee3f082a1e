-- Alerts and the incidents they open. An incident's id is the number people see (#N).
-- One open alert per (service, dedup key), held by a unique index: concurrent or retried
-- triggers cannot open two.

CREATE TABLE incidents (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    service         TEXT   NOT NULL,
    status          TEXT   NOT NULL,
    urgency         TEXT   NOT NULL,
    summary         TEXT   NOT NULL,
    -- The sender's group (Alertmanager's groupKey): its alerts share the open incident.
    group_key       TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    acknowledged_at BIGINT,
    acknowledged_by TEXT,
    resolved_at     BIGINT,
    resolved_by     TEXT
);
CREATE INDEX incidents_by_service ON incidents (service, id);
CREATE INDEX incidents_by_status ON incidents (status, id);
CREATE UNIQUE INDEX incidents_one_open_per_group ON incidents (service, group_key)
    WHERE status <> 'resolved' AND group_key IS NOT NULL;

CREATE TABLE alerts (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    incident_id BIGINT NOT NULL REFERENCES incidents (id),
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
    resolved_at BIGINT
);
CREATE UNIQUE INDEX alerts_one_open_per_dedup_key ON alerts (service, dedup_key) WHERE status <> 'resolved';
CREATE INDEX alerts_by_dedup_key ON alerts (service, dedup_key, id);
CREATE INDEX alerts_by_incident ON alerts (incident_id);

-- The incident timeline: every alert event, status change and note, with its actor.
CREATE TABLE incident_log (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    incident_id BIGINT NOT NULL REFERENCES incidents (id),
    at          BIGINT NOT NULL,
    kind        TEXT   NOT NULL,
    actor       TEXT   NOT NULL,
    data        TEXT   NOT NULL
);
CREATE INDEX incident_log_by_incident ON incident_log (incident_id, id);

-- Changes to a service (deploys, config pushes), shown on its incidents nearby.
CREATE TABLE change_events (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    service     TEXT   NOT NULL,
    integration TEXT   NOT NULL,
    at          BIGINT NOT NULL,
    summary     TEXT   NOT NULL,
    body        TEXT   NOT NULL
);
CREATE INDEX change_events_by_service ON change_events (service, at);
