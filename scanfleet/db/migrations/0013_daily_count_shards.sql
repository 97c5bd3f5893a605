-- The daily rollups are kept by the transaction that writes each scan's result, and one organisation's scans of
-- one day all counted into one row per status: every finishing transaction queued on that row's lock until the
-- one before it committed, serialising an organisation's results fleet-wide. The counts now go into shards (the
-- scan id picks one of 32) in tables of their own; readers add up both these and the unsharded tables, which
-- keep what releases before this one counted and what their workers count while a rolling deploy replaces them
-- (their ON CONFLICT names the unsharded tables' keys, which stay as they were).
CREATE TABLE daily_scan_count_shards (
    org_id  uuid NOT NULL,
    day     date NOT NULL,
    status  text NOT NULL,
    shard   smallint NOT NULL,
    scans   bigint NOT NULL,
    PRIMARY KEY (org_id, day, status, shard)
);
CREATE TABLE daily_issue_count_shards (
    org_id    uuid NOT NULL,
    day       date NOT NULL,
    severity  text NOT NULL,
    shard     smallint NOT NULL,
    issues    bigint NOT NULL,
    PRIMARY KEY (org_id, day, severity, shard)
);
