-- Unfinished jobs by creation time, for reconciliation, now picked by finished_at (set once, when a job ends)
-- instead of status. An index whose predicate names status made every status change a non-HOT update, with a
-- new entry in each of the table's indexes; a claim (queued to running), a retry and a hand-back now change no
-- indexed column, so PostgreSQL can update the row in place when its page has room.
CREATE INDEX scans_open ON scans (created_at) WHERE finished_at IS NULL;
DROP INDEX scans_unfinished;
