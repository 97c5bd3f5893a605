-- Deferred jobs whose time has come go back to the head of their org's line (they were accepted before
-- anything behind them), earliest due first, and run as soon as the org has a free slot. A job whose
-- deferring run arq has not finished ending (its in-progress marker is still there) waits for the next
-- round: arq's ending would otherwise remove the job from the queue it was just put back in.
-- ARGV[5..]: now_ms, job_ttl_ms, limit. Returns the ids brought back, in due order.
local now_ms, job_ttl_ms, limit = tonumber(ARGV[5]), ARGV[6], tonumber(ARGV[7])
local back, brought, orgs = {}, {}, {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', DEFERRED, '-inf', now_ms, 'LIMIT', 0, limit)) do
  if redis.call('EXISTS', IN_PROGRESS_PREFIX .. id) == 0 then
    redis.call('ZREM', DEFERRED, id)
    brought[#brought + 1] = id
    local org = redis.call('HGET', job_key(id), 'org')
    if org then
      redis.call('ZREM', deferred_key(org), id)
      redis.call('HSET', job_key(id), 'state', 'waiting')
      back[#back + 1] = {org, id}
      orgs[org] = true
    end
  end
end
for i = #back, 1, -1 do  -- pushed latest first, so the earliest due heads the line
  redis.call('LPUSH', waiting_key(back[i][1]), back[i][2])
end
for org in pairs(orgs) do
  promote(org, job_ttl_ms)
end
return brought
