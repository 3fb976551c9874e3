-- bench/http_wrk.lua — the wrk script of the HTTP workloads (bench/run.sh).
--
--   MF_WRK_BODIES=FILE [MF_WRK_DELAY_MS=N] wrk -s bench/http_wrk.lua ...
--
-- POSTs to the URL's path (/get-online-features) the JSON bodies of FILE,
-- one a line, in turn (the connections of a wrk thread share its place in
-- the list; threads start at different lines), so the server reads
-- different entity keys from one request to the next (run.sh writes the
-- bodies with keys drawn at random). With
-- MF_WRK_DELAY_MS, each connection waits that long before each request (a
-- fixed rate: at most 1000 / N requests per second per connection).
--
-- At the end prints one line of "key value" pairs:
--   wrk requests N seconds S req_per_s R p50_us A p90_us B p99_us C
--   p999_us D max_us E mean_us F err_connect . err_read . err_write .
--   err_timeout . non_2xx . errors T bytes_per_req Z
-- (non_2xx: answers with a status >= 400, which wrk counts in
-- errors.status; errors: the sum of the five.) With MF_WRK_HIST=FILE, also
-- writes the latency histogram to FILE, "microseconds count" a line, so
-- that the runs of a case can be merged before taking percentiles.

local bodies = {}
local n = 0
local pos = 0
local delay_ms = tonumber(os.getenv("MF_WRK_DELAY_MS") or "")
local threads = {}
local counter = 0

local function load_bodies()
  local path = os.getenv("MF_WRK_BODIES")
  if not path then error("http_wrk.lua: MF_WRK_BODIES is not set") end
  local f = assert(io.open(path, "r"))
  for line in f:lines() do
    if #line > 0 then
      n = n + 1
      bodies[n] = line
    end
  end
  f:close()
  if n == 0 then error("http_wrk.lua: no bodies in " .. path) end
end

-- setup runs in the main Lua state, once per thread: number the threads.
function setup(thread)
  counter = counter + 1
  thread:set("thread_no", counter)
  table.insert(threads, thread)
end

function init(args)
  load_bodies()
  -- threads start far apart in the list
  pos = math.floor(((thread_no or 1) - 1) * n * 0.618) % n
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  pos = pos + 1
  if pos > n then pos = 1 end
  return wrk.format(nil, nil, nil, bodies[pos])
end

if delay_ms then
  function delay()
    return delay_ms
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  local secs = summary.duration / 1e6
  local errors = e.connect + e.read + e.write + e.status + e.timeout
  io.write(string.format(
    "wrk requests %d seconds %.3f req_per_s %.1f p50_us %d p90_us %d p99_us %d p999_us %d max_us %d mean_us %.1f " ..
      "err_connect %d err_read %d err_write %d err_timeout %d non_2xx %d errors %d bytes_per_req %.1f\n",
    summary.requests, secs, summary.requests / secs, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency:percentile(99.9), latency.max, latency.mean, e.connect, e.read, e.write,
    e.timeout, e.status, errors, summary.requests > 0 and summary.bytes / summary.requests or 0))
  local hist = os.getenv("MF_WRK_HIST")
  if hist then
    local f = assert(io.open(hist, "w"))
    for i = 1, #latency do
      local v, c = latency(i)
      f:write(string.format("%d %d\n", v, c))
    end
    f:close()
  end
end
