-- For each kind of breaker: how many are not closed, and since when the oldest of them has been.
-- Returns a flat list: kind, count, left closed at ('' if none), for each kind seen.
-- Breakers whose snapshot expired (nobody touched them for a long time) leave the indexes first, so one call
-- costs O(kinds + expired), never a SCAN. Key layout: see scanfleet/broker/breakers.py.
-- KEYS[1] the set of kinds seen. Each kind's keys are computed from ARGV[1], the prefix; ARGV[2] now (epoch s).
local P, now = ARGV[1], ARGV[2]
local out = {}
for _, kind in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local open, expiring = P .. 'open:' .. kind, P .. 'expiring:' .. kind
  for _, name in ipairs(redis.call('ZRANGEBYSCORE', expiring, '-inf', now, 'LIMIT', 0, 1000)) do
    -- Its deadline was reckoned on a replica's clock: trust only the key's own expiry.
    if redis.call('EXISTS', P .. 'state:' .. kind .. ':' .. name) == 0 then
      redis.call('ZREM', expiring, name)
      redis.call('ZREM', open, name)
    end
  end
  local oldest = redis.call('ZRANGE', open, 0, 0, 'WITHSCORES')
  out[#out + 1] = kind
  out[#out + 1] = redis.call('ZCARD', open)
  out[#out + 1] = oldest[2] or ''
end
return out
