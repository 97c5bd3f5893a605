-- What deferred jobs waited for has ended early (a circuit closed): make them due now; the reaper's next
-- round brings them back. ARGV[5..]: waiting_on, now_ms. Returns how many were still deferred.
local key, now_ms = P .. 'waiting_on:' .. ARGV[5], tonumber(ARGV[6])
local woken = 0
for _, id in ipairs(redis.call('SMEMBERS', key)) do
  -- Deferred now, and for this reason: a job brought back since and deferred again for another is left alone.
  local job = redis.call('HMGET', job_key(id), 'state', 'waiting_on', 'org')
  if job[1] == 'deferred' and job[2] == ARGV[5] then
    redis.call('ZADD', DEFERRED, now_ms, id)
    redis.call('ZADD', deferred_key(job[3]), now_ms, id)
    woken = woken + 1
  end
end
redis.call('DEL', key)
return woken
