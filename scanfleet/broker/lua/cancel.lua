-- Take a job back before a worker starts it. ARGV[5..]: id, now_ms, job_ttl_ms.
-- Returns 'removed' (it had not started; its place is freed), 'running' (a worker has it: arq's abort set
-- tells that worker to cancel it, and its slot frees when it stops), or 'unknown'.
local id, now_ms, job_ttl_ms = ARGV[5], tonumber(ARGV[6]), ARGV[7]
local state = redis.call('HGET', job_key(id), 'state')
if not state then return 'unknown' end
if state == 'running' or redis.call('EXISTS', IN_PROGRESS_PREFIX .. id) == 1 then
  redis.call('ZADD', ABORTS, now_ms, id)
  return 'running'
end
if state == 'dispatched' then
  redis.call('ZREM', QUEUE, id)
  redis.call('DEL', JOB_PREFIX .. id)
end
release(id, job_ttl_ms)
return 'removed'
