-- Generic cell rate algorithm: `limit` requests per `period_ms`, bursts up to `limit`; up to `count` requests
-- taken at once (an API process takes a few at a time for one key and spends them itself).
-- KEYS[1]: the caller's theoretical arrival time (ms). ARGV: limit, period_ms, count.
-- The time is Redis's own: every API replica reads the same clock, so none admits more for running ahead.
-- Returns {taken (0 = refused), remaining, retry_after_ms, reset_ms}.
local limit, period, count = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local interval = period / limit
local tat = math.max(tonumber(redis.call('GET', KEYS[1]) or now), now)
local available = math.floor((now + period - tat) / interval)
if available < 1 then
  return {0, 0, math.ceil(tat + interval - period - now), math.ceil(tat - now)}
end
local taken = math.min(count, available)
local next_tat = tat + taken * interval
redis.call('SET', KEYS[1], next_tat, 'PX', math.ceil(next_tat - now))
return {taken, available - taken, 0, math.ceil(next_tat - now)}
