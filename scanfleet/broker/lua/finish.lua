-- A job ended (succeeded, failed or cancelled): free its slot and dispatch the org's next job at once.
-- ARGV[5..]: id, job_ttl_ms, duration_ms ('' when unknown), holder ('' from the gate's own steps).
-- Returns the ids promoted.
local id, job_ttl_ms, duration_ms, holder = ARGV[5], ARGV[6], tonumber(ARGV[7]), ARGV[8]
if held_by_another(id, holder) then return {} end
if duration_ms then
  -- Recent job durations, for an honest Retry-After.
  local ewma = tonumber(redis.call('HGET', DURATIONS, 'ewma_ms') or duration_ms)
  redis.call('HSET', DURATIONS, 'ewma_ms', ewma + 0.2 * (duration_ms - ewma))
end
return release(id, job_ttl_ms) or {}
