-- The run holding a job moves its lease on to ARGV[6] (ms). ARGV[5]: id, ARGV[7]: the run's holder token.
-- Returns false when the gate does not hold the job for this run: its lease was reaped and the job requeued,
-- and the run must not keep alive a lease that is now another run's.
local id, deadline, holder = ARGV[5], ARGV[6], ARGV[7]
if redis.call('ZSCORE', LEASES, id) == false or held_by_another(id, holder) then return false end
redis.call('ZADD', LEASES, deadline, id)
return true
