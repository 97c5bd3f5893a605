-- A worker starts a job: it takes a lease until ARGV[6] (ms). ARGV[5]: id, ARGV[7]: the run's holder token.
-- Returns the job's previous state, or false when the gate does not hold it.
local id, deadline, holder = ARGV[5], ARGV[6], ARGV[7]
local state = redis.call('HGET', job_key(id), 'state')
if not state then return false end
redis.call('HSET', job_key(id), 'state', 'running', 'holder', holder)
redis.call('ZADD', LEASES, deadline, id)
unready(id)  -- taken, whichever way
return state
