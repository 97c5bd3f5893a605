-- Capacity: per-organisation overrides of the tier's limits, and cancelled scans.
ALTER TABLE organisations
    ADD COLUMN max_running integer CHECK (max_running >= 0),   -- NULL: the tier's default
    ADD COLUMN max_queued integer CHECK (max_queued >= 0);

ALTER TABLE scans DROP CONSTRAINT scans_status_check;
ALTER TABLE scans ADD CONSTRAINT scans_status_check
    CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled'));
