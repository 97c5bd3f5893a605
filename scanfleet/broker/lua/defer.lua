-- Set a job aside until a time, freeing its running slot: a retry waiting out its backoff, or a job whose
-- target's circuit is open. It keeps its place among the org's queued jobs and is not in arq's queue.
-- ARGV[5..]: id, due_ms, now_ms, job_ttl_ms, waiting_on ('' or what the job waits for, e.g. a circuit: when
-- that ends early, `wake_waiting` makes the job due at once), holder. Returns false when the gate does not
-- hold the job for this run, else the ids promoted into the freed slot.
local id, due_ms, now_ms, job_ttl_ms, waiting_on = ARGV[5], tonumber(ARGV[6]), tonumber(ARGV[7]), ARGV[8], ARGV[9]
local org = redis.call('HGET', job_key(id), 'org')
if not org or held_by_another(id, ARGV[10]) then return false end
-- waiting_on: only this deferral's (an earlier one's is over).
redis.call('HSET', job_key(id), 'state', 'deferred', 'waiting_on', waiting_on)
redis.call('SREM', active_key(org), id)
redis.call('LREM', waiting_key(org), 0, id)
redis.call('ZREM', LEASES, id)
redis.call('ZREM', QUEUE, id)
redis.call('ZADD', deferred_key(org), due_ms, id)
redis.call('ZADD', DEFERRED, due_ms, id)
if waiting_on ~= '' then
  redis.call('SADD', P .. 'waiting_on:' .. waiting_on, id)
  redis.call('PEXPIRE', P .. 'waiting_on:' .. waiting_on, math.max(due_ms - now_ms, 0) + 86400000)
end
return promote(org, job_ttl_ms)
