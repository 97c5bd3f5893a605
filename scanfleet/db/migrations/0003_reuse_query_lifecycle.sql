-- Reuse and dedup, cross-scan queries, and the lifecycle of finished scans.

-- Soft delete: hidden from every read at once; upkeep purges the rows later.
ALTER TABLE scans ADD COLUMN deleted_at timestamptz;
CREATE INDEX scans_deleted ON scans (deleted_at) WHERE deleted_at IS NOT NULL;

-- "Is this org already scanning this URL?" and "did it scan it a moment ago?": md5 keeps the key small
-- (URLs run to 2 KB); the query re-checks the URL itself.
CREATE INDEX scans_org_url ON scans (org_id, md5(url), created_at DESC);

-- A retried POST with the same Idempotency-Key gets the first answer back.
CREATE TABLE idempotency_keys (
    org_id        uuid NOT NULL,
    key           text NOT NULL CHECK (length(key) BETWEEN 1 AND 200),
    request_hash  bytea NOT NULL,         -- the first request's body: a different body is refused
    status_code   integer,                -- NULL while the first request is still being answered
    response      jsonb,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

-- Which scans saw a third-party or tracker domain: one row per (scan, registrable domain), in the scan's
-- day partition like its evidence, so "scans that saw X between A and B" is one index range scan per day.
CREATE TABLE scan_domains (
    scan_created_at  timestamptz NOT NULL,
    org_id           uuid NOT NULL,
    domain           text NOT NULL,
    scan_id          uuid NOT NULL,
    tracker          boolean NOT NULL,
    vendor           text,
    PRIMARY KEY (org_id, domain, scan_created_at, scan_id)
) PARTITION BY RANGE (scan_created_at);

-- Daily rollups for /v1/stats, kept by the same transaction that writes a scan's result.
CREATE TABLE daily_scan_counts (
    org_id  uuid NOT NULL,
    day     date NOT NULL,
    status  text NOT NULL,
    scans   bigint NOT NULL,
    PRIMARY KEY (org_id, day, status)
);
CREATE TABLE daily_issue_counts (
    org_id    uuid NOT NULL,
    day       date NOT NULL,
    severity  text NOT NULL,
    issues    bigint NOT NULL,
    PRIMARY KEY (org_id, day, severity)
);
