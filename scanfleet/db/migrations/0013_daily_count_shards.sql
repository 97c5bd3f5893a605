-- The daily rollups are kept by the transaction that writes each scan's result, and one organisation's scans of
-- one day all counted into one row per status: every finishing transaction queued on that row's lock until the
-- one before it committed, serialising an organisation's results fleet-wide. Each count is now split over 32
-- shards (the scan id picks one); readers add the shards up.
ALTER TABLE daily_scan_counts ADD COLUMN shard smallint NOT NULL DEFAULT 0;
ALTER TABLE daily_scan_counts DROP CONSTRAINT daily_scan_counts_pkey;
ALTER TABLE daily_scan_counts ADD PRIMARY KEY (org_id, day, status, shard);
ALTER TABLE daily_issue_counts ADD COLUMN shard smallint NOT NULL DEFAULT 0;
ALTER TABLE daily_issue_counts DROP CONSTRAINT daily_issue_counts_pkey;
ALTER TABLE daily_issue_counts ADD PRIMARY KEY (org_id, day, severity, shard);
