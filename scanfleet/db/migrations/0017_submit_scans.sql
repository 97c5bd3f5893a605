-- Submissions made together, in one statement and one commit (group commit): each as submit_scan makes it, in
-- the order given. A submission whose lock another transaction holds is left out rather than waited for: a batch
-- holding the locks of the submissions before it never waits for another's, so it closes no cycle of waits with a
-- schedule's fires, which take theirs in an order of their own. The caller submits a left out one alone, waiting
-- its turn. `ord` is the submission's place in the arrays, from 1.
CREATE FUNCTION submit_scans(
    orgs uuid[], targets text[], scan_engines text[], reuse_seconds float8[], new_ids uuid[],
    new_created_ats timestamptz[], lock_names text[]
) RETURNS TABLE (ord int, scan scans, reused text) LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    FOR i IN 1 .. cardinality(orgs) LOOP
        -- Held already, the lock submit_scan takes again is granted at once.
        IF pg_try_advisory_xact_lock(hashtextextended(lock_names[i], 0)) THEN
            RETURN QUERY SELECT i, f.scan, f.reused FROM submit_scan(
                orgs[i], targets[i], scan_engines[i], reuse_seconds[i], new_ids[i], new_created_ats[i], lock_names[i]
            ) AS f;
        END IF;
    END LOOP;
END
$$;
