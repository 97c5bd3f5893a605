-- When each API key was last used: written at most once a minute per key (a write per request would turn every
-- read into one). A revocation may lie ahead: a rotated key keeps working until its grace period ends, so a key
-- authenticates while revoked_at is null or still in the future.
ALTER TABLE api_keys ADD COLUMN last_used_at timestamptz;
