-- One benchmark case for wrk, configured by the environment (bench/run.py sets it):
--   BENCH_METHOD   GET or POST
--   BENCH_PATH     the request path
--   BENCH_BODY     form body; every "__N__" becomes a number unique to this run
--   BENCH_HEADERS  extra headers, "Name: value" lines separated by "\n"
--   BENCH_EXPECT   the expected status codes, comma-separated (e.g. "200" or "303")
-- At the end it prints one JSON line: requests, duration, latency percentiles,
-- socket errors and the count of answers with an unexpected status.

local method = os.getenv("BENCH_METHOD") or "GET"
local path = os.getenv("BENCH_PATH") or "/"
local body = os.getenv("BENCH_BODY") or ""
local unique = body:find("__N__", 1, true) ~= nil

local headers = {}
for line in (os.getenv("BENCH_HEADERS") or ""):gmatch("[^\n]+") do
  local name, value = line:match("^([^:]+):%s*(.*)$")
  if name then headers[name] = value end
end
if method == "POST" then
  headers["Content-Type"] = "application/x-www-form-urlencoded"
end

local expected = {}
for code in (os.getenv("BENCH_EXPECT") or "200"):gmatch("%d+") do
  expected[tonumber(code)] = true
end

local threads = {}
local counter = 1

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  unexpected = 0
  statuses = {}
  -- Prebuilt once when every request is the same, so wrk's own cost stays small.
  if not unique then
    fixed = wrk.format(method, path, headers, body ~= "" and body or nil)
  end
end

function request()
  if fixed then return fixed end
  counter = counter + 1
  local n = string.format("%d-%d", id, counter)
  return wrk.format(method, path, headers, (body:gsub("__N__", n)))
end

function response(status, headers, body)
  if not expected[status] then
    unexpected = unexpected + 1
    local key = tostring(status)
    statuses[key] = (statuses[key] or 0) + 1
  end
end

function done(summary, latency, requests)
  local unexpected_total = 0
  local seen = {}
  for _, thread in ipairs(threads) do
    unexpected_total = unexpected_total + thread:get("unexpected")
    for code, count in pairs(thread:get("statuses")) do
      seen[code] = (seen[code] or 0) + count
    end
  end
  local codes = {}
  for code, count in pairs(seen) do
    table.insert(codes, string.format('"%s": %d', code, count))
  end
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "p50_us": %d, "p95_us": %d, "p99_us": %d, ' ..
    '"max_us": %d, "connect_errors": %d, "read_errors": %d, "write_errors": %d, ' ..
    '"timeouts": %d, "unexpected_status": %d, "unexpected_by_status": {%s}}\n',
    summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.timeout, unexpected_total, table.concat(codes, ", ")))
end
