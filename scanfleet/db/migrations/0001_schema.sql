-- Organisations, API keys, and the time-series tables of scan results.
--
-- Partitioning: scans, evidence and issues are range-partitioned by DAY on the scan's creation time.
-- Day partitions let retention drop exactly the configured number of days (DETACH + DROP, never a bulk
-- DELETE) and keep each partition small for COPY and index upkeep at high volume; with a 90-day retention
-- that is ~90 partitions per table, which the planner handles well because every lookup by scan id
-- prunes to one partition: the id is a UUIDv7, and created_at is the timestamp inside it.
-- Evidence and issues are keyed on their SCAN's creation time, so a scan and its rows live in the same
-- day and leave together. No DEFAULT partition: it would block creating new ones.

CREATE TABLE organisations (
    id          uuid PRIMARY KEY,
    name        text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 200),
    tier        text NOT NULL DEFAULT 'free' CHECK (tier IN ('free', 'pro', 'enterprise')),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
    id            uuid PRIMARY KEY,
    org_id        uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    name          text NOT NULL,
    prefix        text NOT NULL,           -- the key's first characters, shown so people can tell keys apart
    key_hash      bytea NOT NULL UNIQUE,   -- SHA-256 of the whole key; the key itself is never stored
    scopes        text[] NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL DEFAULT now(),
    revoked_at    timestamptz
);
CREATE INDEX api_keys_org ON api_keys (org_id);

CREATE TABLE scans (
    id             uuid NOT NULL,
    created_at     timestamptz NOT NULL,
    org_id         uuid NOT NULL,
    url            text NOT NULL,
    status         text NOT NULL DEFAULT 'queued'
                   CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
    attempts       integer NOT NULL DEFAULT 0,
    started_at     timestamptz,
    finished_at    timestamptz,
    lease_until    timestamptz,            -- a running scan whose lease passed has lost its worker
    final_url      text,
    http_status    integer,
    error_code     text,
    error_message  text,
    summary        jsonb,
    PRIMARY KEY (id, created_at)
) PARTITION BY RANGE (created_at);
-- An org's scans, newest first (the list endpoint and its cursor).
CREATE INDEX scans_org_id ON scans (org_id, id DESC);
-- Unfinished scans: what the reconciler re-enqueues when Redis has lost them. Small by construction.
CREATE INDEX scans_unfinished ON scans (created_at) WHERE status IN ('queued', 'running');

-- No foreign key to scans: it would cost a lookup per COPYed row; the scan's final-status transaction
-- is the only writer, and retention drops a day of scans, evidence and issues together.
CREATE TABLE evidence (
    scan_created_at  timestamptz NOT NULL,
    scan_id          uuid NOT NULL,
    seq              integer NOT NULL,
    org_id           uuid NOT NULL,
    kind             text NOT NULL,
    severity         text NOT NULL,
    title            text NOT NULL,
    details          jsonb NOT NULL,
    location         text,
    PRIMARY KEY (scan_id, seq, scan_created_at)
) PARTITION BY RANGE (scan_created_at);

CREATE TABLE issues (
    scan_created_at  timestamptz NOT NULL,
    scan_id          uuid NOT NULL,
    seq              integer NOT NULL,
    org_id           uuid NOT NULL,
    code             text NOT NULL,
    severity         text NOT NULL,
    title            text NOT NULL,
    explanation      text NOT NULL,
    evidence_seqs    integer[] NOT NULL,
    PRIMARY KEY (scan_id, seq, scan_created_at)
) PARTITION BY RANGE (scan_created_at);

-- Creates the day partition of `parent` holding `day` (UTC) if it is missing. Safe to call concurrently:
-- an advisory lock per partition name serialises creators, and the existence check runs under it.
CREATE FUNCTION scanfleet_ensure_day_partition(parent regclass, day date) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    child text := format('%s_%s', parent::text, to_char(day, 'YYYYMMDD'));
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('scanfleet.partition'), hashtext(child));
    IF to_regclass(child) IS NOT NULL THEN
        RETURN false;
    END IF;
    EXECUTE format(
        'CREATE TABLE %I PARTITION OF %s FOR VALUES FROM (%L) TO (%L)',
        child, parent,
        (day::timestamp AT TIME ZONE 'UTC'), ((day + 1)::timestamp AT TIME ZONE 'UTC'));
    RETURN true;
END;
$$;
