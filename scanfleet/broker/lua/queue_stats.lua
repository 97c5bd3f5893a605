-- Queue truth in one atomic read: jobs ready, running and deferred, the oldest ready job's due time, live workers.
-- KEYS: arq's queue (zset, score = due ms; running jobs stay in it), the gate's leases (zset), the gate's
-- deferred jobs (zset, held outside arq's queue), the worker registry (zset, score = last heartbeat ms).
-- ARGV: arq's in-progress key prefix, now_ms, workers_since_ms, batch.
-- Returns {ready, running, deferred, oldest ready score or -1, workers}.
--
-- Cost is O(running + 1), not O(queue): the states are counted by ZCOUNT, and only started jobs are visited —
-- those holding a lease, and those at the head of the queue, where arq takes its jobs from.
local queue, leases, parked, workers = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local in_progress, now_ms, since_ms, batch = ARGV[1], tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4])

local due = redis.call('ZCOUNT', queue, '-inf', now_ms)
local later = redis.call('ZCOUNT', queue, '(' .. now_ms, '+inf')
local running = 0

-- A leased job runs on a worker, wherever arq's queue has it (arq's retry moves its score ahead).
for _, id in ipairs(redis.call('ZRANGE', leases, 0, -1)) do
  running = running + 1
  local score = redis.call('ZSCORE', queue, id)
  if score then
    if tonumber(score) <= now_ms then due = due - 1 else later = later - 1 end
  end
end

-- A job arq has taken but the gate has not started yet has only arq's in-progress key. arq takes the lowest
-- scores first, so walking from the head past started jobs finds those and then the oldest ready job.
local oldest = -1
local rank = 0
while oldest < 0 do
  local page = redis.call('ZRANGE', queue, rank, rank + batch - 1, 'WITHSCORES')
  if #page == 0 then break end
  for i = 1, #page, 2 do
    local id, score = page[i], tonumber(page[i + 1])
    if score > now_ms then break end
    if not redis.call('ZSCORE', leases, id) then
      if redis.call('EXISTS', in_progress .. id) == 1 then
        running = running + 1
        due = due - 1
      else
        oldest = score
        break
      end
    end
  end
  if tonumber(page[#page]) > now_ms then break end
  rank = rank + batch
end

local deferred = later + redis.call('ZCARD', parked)
return {due, running, deferred, oldest, redis.call('ZCOUNT', workers, since_ms, '+inf')}
