-- A bound on the creation time of every scan still queued or running. A submission's lookup of the URL's scans in
-- flight has no other bound on time, so it read every day partition retention keeps: 94 at its default, which
-- doubled what a submission cost PostgreSQL against 4. Upkeep moves the bound forward to the day before the oldest
-- unfinished scan's (scans.bound_open: a margin for submissions whose id was made before their row commits, and for
-- clocks apart); it never moves back. From '-infinity' until then: every partition, as before.
CREATE TABLE scans_open_since (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    since timestamptz NOT NULL
);
INSERT INTO scans_open_since (since) VALUES ('-infinity');

-- As 0014, the lookup bounded by that, or for a recent scan to reuse by the reuse window if it reaches earlier.
-- A variable, not a subquery: PostgreSQL prunes the partitions before it when it plans the lookup, or when a cached
-- generic plan starts.
CREATE OR REPLACE FUNCTION submit_scan(
    org uuid, target text, scan_engine text, reuse_seconds float8, new_id uuid, new_created_at timestamptz,
    lock_name text
) RETURNS TABLE (scan scans, reused text) LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    open_since timestamptz;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended(lock_name, 0));
    SELECT o.since INTO open_since FROM scans_open_since o;
    IF reuse_seconds > 0 THEN
        open_since := least(open_since, now() - make_interval(secs => reuse_seconds));
    END IF;
    RETURN QUERY
    WITH found AS (
        SELECT s, CASE WHEN s.status = 'succeeded' THEN 'recent' ELSE 'in_flight' END
        FROM scans s
        WHERE s.org_id = org AND md5(s.url) = md5(target) AND s.url = target AND s.engine = scan_engine
            AND s.deleted_at IS NULL AND s.created_at >= open_since
            AND (s.status IN ('queued', 'running') OR (s.status = 'succeeded' AND reuse_seconds > 0
                 AND s.created_at >= now() - make_interval(secs => reuse_seconds)))
        ORDER BY s.status = 'succeeded', s.created_at DESC
        LIMIT 1
    ), made AS (
        INSERT INTO scans AS s (id, created_at, org_id, url, engine)
        SELECT new_id, new_created_at, org, target, scan_engine
        WHERE NOT EXISTS (SELECT FROM found)
        RETURNING s, NULL::text
    )
    SELECT * FROM found UNION ALL SELECT * FROM made;
END
$$;
