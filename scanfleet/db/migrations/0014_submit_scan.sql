-- A scan's submission in one round trip: the lock per (org, engine, URL), then the scan to reuse or the new row.
-- A function, because in READ COMMITTED each statement of a VOLATILE function takes a new snapshot: the lookup
-- after the lock sees what the lock's last holder committed, which a single statement taking both could not.
-- The lock is held to the end of the caller's transaction: the statement's own, or the caller's (a schedule's
-- fire). The lock's name is the one the statements before this function took, so releases side by side agree.
CREATE FUNCTION submit_scan(
    org uuid, target text, scan_engine text, reuse_seconds float8, new_id uuid, new_created_at timestamptz,
    lock_name text
) RETURNS TABLE (scan scans, reused text) LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended(lock_name, 0));
    RETURN QUERY
    WITH found AS (
        SELECT s, CASE WHEN s.status = 'succeeded' THEN 'recent' ELSE 'in_flight' END
        FROM scans s
        WHERE s.org_id = org AND md5(s.url) = md5(target) AND s.url = target AND s.engine = scan_engine
            AND s.deleted_at IS NULL
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
