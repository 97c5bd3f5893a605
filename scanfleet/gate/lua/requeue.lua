-- Put jobs whose worker is gone back in arq's queue, keeping their slot.
-- ARGV[5..]: now_ms, job_ttl_ms, then ids. A running job is requeued only if its lease has expired
-- (a heartbeat since the caller looked keeps it); a dispatched job only if arq lost it.
-- Returns the ids requeued.
local now_ms, job_ttl_ms = tonumber(ARGV[5]), ARGV[6]
local requeued = {}
for i = 7, #ARGV do
  local id = ARGV[i]
  local state = redis.call('HGET', job_key(id), 'state')
  local lease = tonumber(redis.call('ZSCORE', P .. 'leases', id) or '0')
  local expired = state == 'running' and lease < now_ms
  local lost = state == 'dispatched' and (redis.call('EXISTS', JOB_PREFIX .. id) == 0
                                          or not redis.call('ZSCORE', QUEUE, id))
  if expired or lost then
    redis.call('DEL', IN_PROGRESS_PREFIX .. id)  -- arq would skip the job until this expired
    local org = redis.call('HGET', job_key(id), 'org')
    redis.call('ZREM', P .. 'leases', id)
    dispatch(org, id, redis.call('HGET', job_key(id), 'payload'), now_ms, job_ttl_ms)
    requeued[#requeued + 1] = id
  end
end
return requeued
