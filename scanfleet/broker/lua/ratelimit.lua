-- Generic cell rate algorithm: `limit` requests per `period_ms`, bursts up to `limit`.
-- KEYS[1]: the caller's theoretical arrival time (ms). ARGV: limit, period_ms.
-- The time is Redis's own: every API replica reads the same clock, so none admits more for running ahead.
-- Returns {allowed (1|0), remaining, retry_after_ms, reset_ms}.
local limit, period = tonumber(ARGV[1]), tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local interval = period / limit
local tat = math.max(tonumber(redis.call('GET', KEYS[1]) or now), now)
local next_tat = tat + interval
if next_tat - period > now then
  return {0, 0, math.ceil(next_tat - period - now), math.ceil(tat - now)}
end
redis.call('SET', KEYS[1], next_tat, 'PX', math.ceil(next_tat - now))
return {1, math.floor((period - (next_tat - now)) / interval), 0, math.ceil(next_tat - now)}
