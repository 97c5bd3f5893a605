-- A worker takes up to ARGV[5] ready jobs, earliest first, marking each in progress for arq exactly as arq's
-- own start_jobs does (its in-progress key, for ARGV[6] ms), in one step: the poll reads the ready jobs only,
-- never the running ones arq's queue also holds. Ready means by Redis's clock, whatever the worker's says.
-- A ready job arq's queue no longer holds (cancelled, ended) is dropped. One a worker still marks in progress
-- (handed back, its marker not cleared yet) or that arq put off (a score past now) is looked at again later.
-- Each job taken records when (taken_ms): reconciliation judges a stalled take from it.
-- Returns {{id, arq's score, ...}, the ids in arq's abort set} (the aborts: what arq's poll reads next).
local limit, in_progress_ms = tonumber(ARGV[5]), ARGV[6]
local LOOK_AGAIN_MS = 100
local taken = {}
if limit > 0 then
  local now_ms = server_ms()
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', READY, '-inf', now_ms, 'LIMIT', 0, limit)) do
    local score = redis.call('ZSCORE', QUEUE, id)
    if not score then
      redis.call('ZREM', READY, id)
    elseif tonumber(score) > now_ms or redis.call('EXISTS', IN_PROGRESS_PREFIX .. id) == 1 then
      redis.call('ZADD', READY, math.max(tonumber(score), now_ms + LOOK_AGAIN_MS), id)
    else
      redis.call('PSETEX', IN_PROGRESS_PREFIX .. id, in_progress_ms, '1')
      redis.call('HSET', job_key(id), 'taken_ms', now_ms)
      redis.call('ZREM', READY, id)
      taken[#taken + 1] = id
      taken[#taken + 1] = score
    end
  end
  trim_tokens()
end
return {taken, redis.call('ZRANGE', ABORTS, 0, -1)}
