-- Deferred jobs whose time has come go back to the head of their org's line (they were accepted before
-- anything behind them) and run as soon as the org has a free slot.
-- ARGV[5..]: now_ms, job_ttl_ms, limit. Returns the ids brought back.
local now_ms, job_ttl_ms, limit = tonumber(ARGV[5]), ARGV[6], tonumber(ARGV[7])
local due = redis.call('ZRANGEBYSCORE', P .. 'deferred', '-inf', now_ms, 'LIMIT', 0, limit)
local orgs = {}
for _, id in ipairs(due) do
  redis.call('ZREM', P .. 'deferred', id)
  local org = redis.call('HGET', job_key(id), 'org')
  if org then
    redis.call('ZREM', deferred_key(org), id)
    redis.call('HSET', job_key(id), 'state', 'waiting')
    redis.call('LPUSH', waiting_key(org), id)
    orgs[org] = true
  end
end
for org in pairs(orgs) do
  promote(org, now_ms, job_ttl_ms)
end
return due
