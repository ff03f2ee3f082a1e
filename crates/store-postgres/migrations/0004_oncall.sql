-- Overrides made through the API or the CLI ("I'll cover for Ann tonight"): people on
-- call instead of whoever a schedule's layers say. Kept apart from the schedule's spec so
-- that schedules managed by configuration files still take them.
CREATE TABLE schedule_overrides (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    schedule    TEXT   NOT NULL,
    username    TEXT   NOT NULL,
    starts_at   BIGINT NOT NULL,
    ends_at     BIGINT NOT NULL,
    created_by  TEXT   NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX schedule_overrides_by_schedule ON schedule_overrides (schedule, ends_at);

-- The escalation an incident follows: the policy as it was when the incident opened
-- (JSON: name, spec), and where it stands (round, level). NULL when its service has none.
ALTER TABLE incidents ADD COLUMN escalation TEXT;
