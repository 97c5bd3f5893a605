-- wrk script for bench/api_stack.py. The bench prepends the settings as Lua globals:
--   KEYS (API keys, sent in turn, one per request), METHOD, PATH, RUN (a tag unique to this run).
-- POST sends {"url": ...} with a URL no other request uses, so nothing is deduplicated or reused.
-- Each thread counts statuses; done() prints one JSON line for the bench to read.

local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
  sent = 0
end

function request()
  sent = sent + 1
  local headers = {}
  if #KEYS > 0 then
    headers["Authorization"] = "Bearer " .. KEYS[(sent + tid) % #KEYS + 1]
  end
  if METHOD == "POST" then
    headers["Content-Type"] = "application/json"
    local body = string.format('{"url": "https://shop.example.com/p/%s-%d-%d"}', RUN, tid, sent)
    return wrk.format("POST", PATH, headers, body)
  end
  return wrk.format("GET", PATH, headers)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local counts = {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do
      counts[tostring(status)] = (counts[tostring(status)] or 0) + n
    end
  end
  local parts = {}
  for status, n in pairs(counts) do
    table.insert(parts, string.format('"%s": %d', status, n))
  end
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "max_us": %d,' ..
    ' "errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d}, "statuses": {%s}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.timeout, table.concat(parts, ", ")))
end
