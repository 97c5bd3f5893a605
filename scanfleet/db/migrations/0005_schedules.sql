-- Recurring jobs. next_fire_at is the claim: a scheduler takes due rows with FOR UPDATE SKIP LOCKED,
-- makes their jobs and moves next_fire_at in the same transaction, so each fire happens once whatever
-- the number of scheduler replicas.
CREATE TABLE schedules (
    id                uuid PRIMARY KEY,
    org_id            uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    name              text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    kind              text NOT NULL CHECK (kind IN ('privacy', 'checks')),
    target            jsonb NOT NULL,            -- {"url": ...} for a scan, the suite for a run
    cron              text,
    timezone          text NOT NULL DEFAULT 'UTC',
    interval_seconds  integer,
    jitter_seconds    integer NOT NULL DEFAULT 0,
    state             text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'paused')),
    next_fire_at      timestamptz,               -- planned time + jitter; NULL while paused
    last_fired_at     timestamptz,
    last_outcome      text,                      -- accepted, reused, rejected (capacity)
    fires             integer NOT NULL DEFAULT 0,
    rejected_fires    integer NOT NULL DEFAULT 0,
    created_at        timestamptz NOT NULL DEFAULT now(),
    CHECK ((cron IS NULL) <> (interval_seconds IS NULL))
);
CREATE INDEX schedules_org ON schedules (org_id);
CREATE INDEX schedules_due ON schedules (next_fire_at) WHERE state = 'active';

-- Each fire, kept so a schedule shows what became of it (a fire refused for capacity is not lost silently).
CREATE TABLE schedule_fires (
    schedule_id  uuid NOT NULL REFERENCES schedules (id) ON DELETE CASCADE,
    planned_at   timestamptz NOT NULL,
    fired_at     timestamptz NOT NULL DEFAULT now(),
    outcome      text NOT NULL,
    job_id       uuid,
    PRIMARY KEY (schedule_id, planned_at)
);
