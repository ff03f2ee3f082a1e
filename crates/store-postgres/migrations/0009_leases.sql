-- Named leases: work one node at a time should do holds one (a shard of monitors, the
-- SLO evaluator, a deploy lock). `fence` grows each time the lease changes hands and is
-- never reset: a released lease keeps its row with `expires_at` 0, so the next holder's
-- fence is higher than every earlier one. Instants in microseconds since the Unix epoch.
CREATE TABLE leases (
    name       TEXT   PRIMARY KEY,
    holder     TEXT   NOT NULL,
    fence      BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
