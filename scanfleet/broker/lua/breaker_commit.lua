-- Write one breaker's new snapshot if it is still the one the caller read (compare and set), and keep the
-- kind's indexes in step. Returns {1, new} when written; {0, current} when another replica wrote first:
-- the caller decides again from `current`, so no failure is lost and no transition is won twice.
--
-- KEYS[1] the breaker's snapshot (a string, see circuit.py; no key = closed with no failures)
-- KEYS[2] zset  the kind's breakers not closed, by when they left closed (for the gauges)
-- KEYS[3] zset  the kind's breakers with a snapshot, by when it expires (to prune KEYS[2] of expired ones)
-- KEYS[4] set   kinds of breaker seen
-- ARGV: expected snapshot ('' = none), new snapshot ('' = delete), name, kind, ttl ms,
--       left closed at ('' = closed), expires at
local expected, new, name, kind, ttl_ms, since, expires_at = unpack(ARGV)
local current = redis.call('GET', KEYS[1]) or ''
if current ~= expected then
  return {0, current}
end
if new == '' then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[3], name)
else
  redis.call('SET', KEYS[1], new, 'PX', ttl_ms)
  redis.call('ZADD', KEYS[3], expires_at, name)
  redis.call('SADD', KEYS[4], kind)
end
if since == '' then
  redis.call('ZREM', KEYS[2], name)
else
  redis.call('ZADD', KEYS[2], since, name)
end
return {1, new}
