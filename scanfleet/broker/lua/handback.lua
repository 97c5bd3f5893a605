-- A stopping worker gives a started job back: arq keeps it in its queue (a cancelled job stays there), so
-- the gate only marks it dispatched again, ends its lease and wakes a worker to take it (once arq has
-- cleared its in-progress marker, as the stopping worker does next).
-- ARGV[5..]: id, now_ms, holder. Returns false when the gate does not hold the job for this run.
local id = ARGV[5]
local org = redis.call('HGET', job_key(id), 'org')
if not org or held_by_another(id, ARGV[7]) then return false end
redis.call('HSET', job_key(id), 'state', 'dispatched', 'dispatched_ms', ARGV[6])
redis.call('ZREM', LEASES, id)
redis.call('PUBLISH', WAKE, QUEUE)
return true
