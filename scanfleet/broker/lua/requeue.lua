-- Put jobs whose worker is gone back in arq's queue, keeping their slot.
-- ARGV[5..]: now_ms, job_ttl_ms, stall_ms, then ids. A running job is requeued only if its lease has expired
-- (a heartbeat since the caller looked keeps it; leases are on the callers' clocks); a dispatched job only if
-- arq lost it, if no worker can see it (neither ready nor taken: put in arq's queue by an older release's
-- gate, say), or if a worker took it (arq's in-progress marker) but never started it within stall_ms of the
-- take (Redis's clock): that worker died, or Redis went away, between the two steps, and arq's marker would
-- hold the job for its whole time limit. A job's wait among the ready before its take does not count.
-- Returns the ids requeued.
local now_ms, job_ttl_ms, stall_ms = tonumber(ARGV[5]), ARGV[6], tonumber(ARGV[7])
local server_now_ms = server_ms()
local requeued = {}
for i = 8, #ARGV do
  local id = ARGV[i]
  local job = redis.call('HMGET', job_key(id), 'state', 'org', 'dispatched_ms', 'taken_ms')
  local state = job[1]
  local lease = tonumber(redis.call('ZSCORE', LEASES, id) or '0')
  local expired = state == 'running' and lease < now_ms
  local taken = redis.call('EXISTS', IN_PROGRESS_PREFIX .. id) == 1
  local lost = state == 'dispatched' and (redis.call('EXISTS', JOB_PREFIX .. id) == 0
                                          or not redis.call('ZSCORE', QUEUE, id)
                                          or (not taken and not redis.call('ZSCORE', READY, id)))
  -- The take this marker is from: taken_ms, unless the job was dispatched again (requeued, handed back)
  -- since, and not taken since; then its marker is the earlier run's, as old as that dispatch at most.
  local since_ms = math.max(tonumber(job[3] or server_now_ms), tonumber(job[4] or 0))
  local stalled = state == 'dispatched' and taken and server_now_ms - since_ms > stall_ms
  if expired or lost or stalled then
    redis.call('DEL', IN_PROGRESS_PREFIX .. id)  -- arq would skip the job until this expired
    redis.call('ZREM', LEASES, id)
    redis.call('HDEL', job_key(id), 'holder')  -- the run that held it is over, whatever it still does
    dispatch(job[2], id, redis.call('HGET', job_key(id), 'payload'), job_ttl_ms)
    requeued[#requeued + 1] = id
  end
end
return requeued
