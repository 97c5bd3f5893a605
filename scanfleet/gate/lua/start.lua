-- A worker starts a job: it takes a lease until ARGV[6] (ms). ARGV[5]: id.
-- Returns the job's previous state, or false when the gate does not hold it.
local id, deadline = ARGV[5], ARGV[6]
local state = redis.call('HGET', job_key(id), 'state')
if not state then return false end
redis.call('HSET', job_key(id), 'state', 'running')
redis.call('ZADD', P .. 'leases', deadline, id)
return state
