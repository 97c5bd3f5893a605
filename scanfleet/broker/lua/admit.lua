-- Admit one job for an org: dispatch it if a running slot is free, hold it if there is room in line,
-- refuse it otherwise. ARGV[5..]: org, id, payload, tier, max_running, max_queued, now_ms, job_ttl_ms, force.
-- `force` = '1' never refuses: for jobs accepted earlier that Redis lost, re-admitted by reconciliation.
-- Returns {outcome, running, queued} with outcome dispatched | waiting | rejected | exists.
local org, id, payload, tier = ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local max_running, max_queued = tonumber(ARGV[9]), tonumber(ARGV[10])
local now_ms, job_ttl_ms, force = tonumber(ARGV[11]), ARGV[12], ARGV[13] == '1'

redis.call('HSET', org_key(org), 'tier', tier, 'max_running', max_running, 'max_queued', max_queued)
redis.call('SADD', ORGS, org)
local running = redis.call('SCARD', active_key(org))
local queued = queued_count(org)
if redis.call('EXISTS', job_key(id)) == 1 then
  return {'exists', running, queued}
end

local outcome
if running < max_running and redis.call('LLEN', waiting_key(org)) == 0 then
  outcome = 'dispatched'
elseif queued < max_queued or force then
  outcome = 'waiting'
else
  return {'rejected', running, queued}
end
redis.call('HSET', job_key(id), 'org', org, 'payload', payload, 'state', outcome, 'admitted_ms', now_ms)
redis.call('ZADD', JOBS, now_ms, id)
if outcome == 'dispatched' then
  dispatch(org, id, payload, job_ttl_ms)
  running = running + 1
else
  redis.call('RPUSH', waiting_key(org), id)
  queued = queued + 1
  -- A raised limit (or a reconciled slot) may leave room the waiting list can use right now.
  promote(org, job_ttl_ms)
end
return {outcome, running, queued}
