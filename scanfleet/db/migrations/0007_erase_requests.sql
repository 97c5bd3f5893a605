-- Per-organisation erase (GDPR right to erasure): the request is recorded at once; the scheduler removes
-- the org's rows in small batches and keeps the count here, so the org can follow its progress.
CREATE TABLE erase_requests (
    id            uuid PRIMARY KEY,
    org_id        uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    status        text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'running', 'done')),
    requested_at  timestamptz NOT NULL DEFAULT now(),  -- what the org had recorded before this goes
    started_at    timestamptz,
    finished_at   timestamptz,
    lease_until   timestamptz,                         -- a scheduler at work on it; once past, another takes over
    erased        jsonb NOT NULL DEFAULT '{}'          -- rows removed so far, per table
);
-- One open request per organisation: asking again while one is open gets that one.
CREATE UNIQUE INDEX erase_requests_open ON erase_requests (org_id) WHERE status <> 'done';
