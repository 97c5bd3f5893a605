-- Artifacts: the files a job produced (screenshots, HARs, documents, DOM snapshots). The bytes are blobs in the
-- artifact store, named <org>/<sha256>; a row here is what makes a blob the job's. Rows are written in the
-- transaction of the job's result and live in the job's day partition like its evidence, so retention drops
-- them with that day; a blob no row references any more is removed by the scheduler's sweep.
CREATE TABLE artifacts (
    scan_created_at  timestamptz NOT NULL,
    scan_id          uuid NOT NULL,
    -- A UUIDv7 that carries the job's creation time: a lookup by id prunes to the job's day.
    id               uuid NOT NULL,
    seq              integer NOT NULL,  -- the order the job produced them in
    org_id           uuid NOT NULL,
    kind             text NOT NULL,
    content_type     text NOT NULL,
    sha256           text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    size             bigint NOT NULL CHECK (size >= 0),
    step             text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (id, scan_created_at)
) PARTITION BY RANGE (scan_created_at);
CREATE INDEX artifacts_scan ON artifacts (scan_id, scan_created_at);
-- The sweep's question: does any row still reference this org's blob?
CREATE INDEX artifacts_blob ON artifacts (org_id, sha256);

-- The days that already have job partitions get theirs, so results of jobs from before the upgrade write at once.
DO $$
DECLARE
    part record;
BEGIN
    FOR part IN SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                WHERE i.inhparent = 'scans'::regclass AND c.relname ~ '^scans_[0-9]{8}$' LOOP
        PERFORM scanfleet_ensure_day_partition('artifacts'::regclass, to_date(substr(part.relname, 7), 'YYYYMMDD'));
    END LOOP;
END;
$$;
