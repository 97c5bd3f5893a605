-- Retries of transient target failures are counted apart from deliveries: `attempts` counts workers that
-- started the job (a crash redelivers it), `retries` the transient failures it was sent back for, and the
-- last of those failures stays visible while the job waits for its next try.
ALTER TABLE scans
    ADD COLUMN retries            integer NOT NULL DEFAULT 0,
    ADD COLUMN last_error_code    text,
    ADD COLUMN last_error_message text;
