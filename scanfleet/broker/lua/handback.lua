-- A stopping worker gives a started job back: arq keeps it in its queue (a cancelled job stays there), so
-- the gate only marks it dispatched again, ends its lease and makes it ready for a worker to take (once arq
-- has cleared its in-progress marker, as the stopping worker does next).
-- ARGV[5..]: id, holder. Returns false when the gate does not hold the job for this run.
local id = ARGV[5]
local org = redis.call('HGET', job_key(id), 'org')
if not org or held_by_another(id, ARGV[6]) then return false end
local now_ms = server_ms()
redis.call('HSET', job_key(id), 'state', 'dispatched', 'dispatched_ms', now_ms)
redis.call('ZREM', LEASES, id)
make_ready(id, now_ms)
return true
