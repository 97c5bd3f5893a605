-- Test runs: a second kind of job in the same tables, so they share the gate, leases, partitions,
-- evidence and lifecycle with privacy scans. A run's suite is its spec; its verdict is the outcome of
-- its checks (the job itself can succeed with a failed verdict: the checks ran and found a fault).
ALTER TABLE scans
    ADD COLUMN kind text NOT NULL DEFAULT 'privacy' CHECK (kind IN ('privacy', 'checks')),
    ADD COLUMN spec jsonb,
    ADD COLUMN verdict text CHECK (verdict IN ('passed', 'degraded', 'failed'));
ALTER TABLE scans ALTER COLUMN url DROP NOT NULL;
ALTER TABLE scans ADD CONSTRAINT scans_kind_fields
    CHECK ((kind = 'privacy' AND url IS NOT NULL) OR (kind = 'checks' AND spec IS NOT NULL));
-- Lists per kind, newest first (replaces the kind-less list index).
DROP INDEX scans_org_id;
CREATE INDEX scans_org_kind_id ON scans (org_id, kind, id DESC);

-- Heartbeats: the customer's job calls the ping URL; a missed deadline (period + grace) is a failed run.
CREATE TABLE heartbeats (
    id               uuid PRIMARY KEY,
    org_id           uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    name             text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    token_hash       bytea NOT NULL UNIQUE,      -- the ping token is a credential: stored as SHA-256 only
    period_seconds   integer NOT NULL CHECK (period_seconds BETWEEN 10 AND 31536000),
    grace_seconds    integer NOT NULL CHECK (grace_seconds BETWEEN 0 AND 31536000),
    created_at       timestamptz NOT NULL DEFAULT now(),
    last_ping_at     timestamptz,
    deadline         timestamptz NOT NULL,       -- next ping due by then (period + grace after the last)
    missed_runs      integer NOT NULL DEFAULT 0
);
CREATE INDEX heartbeats_org ON heartbeats (org_id);
CREATE INDEX heartbeats_deadline ON heartbeats (deadline);
