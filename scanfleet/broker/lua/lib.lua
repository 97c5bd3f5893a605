-- Shared by every gate script (prepended when the scripts are loaded; see scanfleet/broker/keys.py).
--
-- KEYS, the same for every gate script (P = the gate's prefix):
--   KEYS[1] arq's queue        zset  dispatched and running job ids by due time (ms), as arq reads it
--   KEYS[2] P..'jobs'          zset  every job the gate holds, by admission time (for reconciliation)
--   KEYS[3] P..'leases'        zset  running job ids by lease deadline (ms)
--   KEYS[4] P..'deferred'      zset  every deferred job id by due time (ms), for the reaper to bring back
--   KEYS[5] P..'orgs'          set   organisations the gate has seen
--   KEYS[6] P..'durations'     hash  ewma_ms of recent job durations (for Retry-After)
--   KEYS[7] arq's abort set    zset  job ids a worker must cancel
--   KEYS[8] P..'ready'         zset  dispatched job ids no worker has taken yet, by when they may be taken (ms):
--                                    what workers poll (arq's queue also holds every running job)
-- Keys named by an organisation or a job are computed here from ARGV[1] = P (one Redis node, not Cluster):
--   P..'org:'..org      hash  tier, max_running, max_queued
--   P..'active:'..org   set   job ids dispatched to arq or running: its size is the org's "running"
--   P..'waiting:'..org  list  job ids held back, oldest first
--   P..'deferred:'..org zset  job ids set aside until a time (ms): a retry's backoff, an open circuit.
--                             The org's "queued" is its waiting plus its deferred jobs.
--   P..'waiting_on:'..w set   deferred job ids waiting for w (e.g. "target:<host>", a circuit) to end
--   P..'job:'..id       hash  org, payload (arq's serialised job), state, admitted_ms, dispatched_ms,
--                             taken_ms (when a worker last took it), waiting_on (what its current deferral waits for, if anything), holder (the
--                             run that started it last: a run whose lease was reaped must not end another's)
--   arq's job key prefix ARGV[2] and in-progress prefix ARGV[3], each followed by the job id.
-- ARGV[4] is the wake list: a token per job made ready (never more tokens than jobs ready), so that one idle
-- worker blocked on it takes the job now, not at its next poll, and no other worker is woken for it.
local QUEUE, JOBS, LEASES, DEFERRED, ORGS, DURATIONS, ABORTS = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local READY = KEYS[8]
local P, JOB_PREFIX, IN_PROGRESS_PREFIX, WAKE = ARGV[1], ARGV[2], ARGV[3], ARGV[4]

local function org_key(org) return P .. 'org:' .. org end
local function active_key(org) return P .. 'active:' .. org end
local function waiting_key(org) return P .. 'waiting:' .. org end
local function job_key(id) return P .. 'job:' .. id end
local function deferred_key(org) return P .. 'deferred:' .. org end

-- A worker's step on a job it started, by a run that no longer holds it (its lease expired and the job was
-- requeued, maybe started again elsewhere): ignored. '' is the gate's own steps, which always apply.
local function held_by_another(id, holder)
  return holder ~= '' and redis.call('HGET', job_key(id), 'holder') ~= holder
end

-- Redis's own clock (ms). Every time stamped on a dispatched job (its place in arq's queue and among the
-- ready, dispatched_ms, taken_ms) is on it, so that no worker's or API's clock running behind or ahead hides a
-- ready job or makes a taken one look stalled. Scripts replicate their effects (Redis >= 5, Valkey), not their
-- calls, so reading TIME before writing is allowed.
local function server_ms()
  local clock = redis.call('TIME')
  return tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
end

local function queued_count(org)
  return redis.call('LLEN', waiting_key(org)) + redis.call('ZCARD', deferred_key(org))
end

-- The job is for a worker to take from now on (at_ms, Redis's clock): among the ready, and one idle worker
-- woken for it.
local function make_ready(id, at_ms)
  redis.call('ZADD', READY, at_ms, id)
  if redis.call('LLEN', WAKE) < redis.call('ZCARD', READY) then
    redis.call('RPUSH', WAKE, QUEUE)
  end
end

-- Wake-up tokens beyond the jobs ready are dropped: they would wake workers for nothing.
local function trim_tokens()
  local surplus = redis.call('LLEN', WAKE) - redis.call('ZCARD', READY)
  if surplus > 0 then
    redis.call('LTRIM', WAKE, surplus, -1)
  end
end

-- The job is no longer for a worker to take (taken, ended, cancelled).
local function unready(id)
  if redis.call('ZREM', READY, id) == 1 then
    trim_tokens()
  end
end

-- Hand a job to arq exactly as arq's enqueue_job does (its serialised body, then its place in the queue), and
-- make it ready.
local function dispatch(org, id, payload, job_ttl_ms)
  local now_ms = server_ms()
  redis.call('HSET', job_key(id), 'state', 'dispatched', 'dispatched_ms', now_ms)
  redis.call('SADD', active_key(org), id)
  redis.call('PSETEX', JOB_PREFIX .. id, job_ttl_ms, payload)
  redis.call('ZADD', QUEUE, now_ms, id)
  make_ready(id, now_ms)
end

-- Fill the org's free running slots from its waiting list, oldest first. Returns the ids dispatched.
local function promote(org, job_ttl_ms)
  local max_running = tonumber(redis.call('HGET', org_key(org), 'max_running') or '0')
  local promoted = {}
  while redis.call('SCARD', active_key(org)) < max_running do
    local id = redis.call('LPOP', waiting_key(org))
    if not id then break end
    local payload = redis.call('HGET', job_key(id), 'payload')
    if payload then
      dispatch(org, id, payload, job_ttl_ms)
      promoted[#promoted + 1] = id
    end
  end
  return promoted
end

-- The job leaves the gate: its slot (or place in line) is freed and the org's next job promoted.
local function release(id, job_ttl_ms)
  local org = redis.call('HGET', job_key(id), 'org')
  if not org then return nil end
  redis.call('SREM', active_key(org), id)
  redis.call('LREM', waiting_key(org), 0, id)
  redis.call('ZREM', deferred_key(org), id)
  redis.call('ZREM', DEFERRED, id)
  redis.call('DEL', job_key(id))
  redis.call('ZREM', JOBS, id)
  redis.call('ZREM', LEASES, id)
  unready(id)
  return promote(org, job_ttl_ms)
end
