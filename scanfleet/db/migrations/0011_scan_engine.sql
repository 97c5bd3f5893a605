-- A privacy scan's engine: http (fetch the page and read its HTML and headers) or browser (run the page in
-- Chromium and record what it does). Dedup and reuse are per engine. Test runs keep the default.
ALTER TABLE scans ADD COLUMN engine text NOT NULL DEFAULT 'http' CHECK (engine IN ('http', 'browser'));
