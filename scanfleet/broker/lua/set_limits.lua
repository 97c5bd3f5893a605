-- An org's tier or limits changed: store them and use any new room at once.
-- ARGV[5..]: org, tier, max_running, max_queued, job_ttl_ms. Returns the ids promoted.
local org = ARGV[5]
redis.call('HSET', org_key(org), 'tier', ARGV[6], 'max_running', ARGV[7], 'max_queued', ARGV[8])
redis.call('SADD', ORGS, org)
return promote(org, ARGV[9])
