-- wrk script for the benchmark's wrk driver (scripts/bench/wrk.ts).
-- Counts every response by status in each thread (wrk's own summary counts only
-- status > 399, and a 3xx is a failure here too), then, when the run is done, prints
-- one line `WRK_JSON {...}` with: requests, duration_us, the per-status counts,
-- socket errors (connect/read/write/timeout) and latency p50/p99/max in µs.
-- Keys: none (this is a wrk script, not a Redis one). Arguments: none.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local codes = {}
  for _, t in ipairs(threads) do
    for code, n in pairs(t:get("statuses")) do
      codes[code] = (codes[code] or 0) + n
    end
  end
  local parts = {}
  for code, n in pairs(codes) do
    table.insert(parts, string.format('"%d":%d', code, n))
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"statuses":{%s},' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d},' ..
    '"latency_us":{"p50":%d,"p99":%d,"max":%d}}\n',
    summary.requests, summary.duration, table.concat(parts, ","),
    e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
