-- wrk script walking the 4-hop comparison journey of benchmarks/journey.py.
-- Run with one connection per thread (wrk -t C -c C) so each thread's requests are one
-- connection's, strictly in order: dial -> 1 -> 1*1 -> 1*1*<text> (END with a reference).
-- Each thread uses its own session ids and phone numbers; every reply is checked, and done()
-- prints one JSON line (client "wrk") with hops/s, latency percentiles and errors.
-- Usage: wrk -t50 -c50 -d10s --latency -s benchmarks/wrk/journey.lua http://127.0.0.1:8080

local code = os.getenv("BENCH_CODE") or "*152*99#"
local run_id = os.getenv("BENCH_RUN") or tostring(os.time())
local run_tail = tonumber(string.sub(run_id, -3)) or 0
local texts = { "", "1", "1*1", "1*1*Road+to+the+clinic+is+flooded" }
local markers = { "^CON .*Give feedback", "^CON .*Complaint", "^CON .*Type your message",
                  "^END .*Reference: [0-9A-Z]+" }
local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
  table.insert(threads, thread)
end

function init(args)
  step = 1     -- the hop to send next; only a response moves it on, so a request() call whose
  journey = 1  -- request is never sent (wrk calls it once to inspect the script) changes nothing
  errors = 0
  journeys = 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end

local function escape(s)
  return (s:gsub("([^%w%-_.])", function(c) return string.format("%%%02X", string.byte(c)) end))
end

function request()
  local session = "ATUid_wrk_" .. run_id .. "_" .. id .. "_" .. journey
  -- numbers differ between runs too: a journey cut short by the end of a run (the warm-up) is
  -- offered back to its number, as it should be, and that would be a wrong reply here
  local phone = string.format("+2557%03d%02d%05d", run_tail, id % 100, journey % 100000)
  local body = "sessionId=" .. session .. "&serviceCode=" .. escape(code) ..
      "&phoneNumber=" .. escape(phone) .. "&networkCode=64004&text=" .. texts[step]
  return wrk.format(nil, "/ussd/africastalking", nil, body)
end

function response(status, headers, body)
  if status ~= 200 or not string.find(body, markers[step]) then
    errors = errors + 1
    if errors == 1 then
      sample = status .. " at hop " .. step .. ": " .. string.sub(body or "", 1, 100)
    end
    step = 4 -- start a fresh journey after a wrong reply
  elseif step == 4 then
    journeys = journeys + 1
  end
  step = step + 1
  if step > 4 then
    step = 1
    journey = journey + 1
  end
end

function done(summary, latency, requests)
  local errs = 0
  local walked = 0
  local samples = {}
  for _, thread in ipairs(threads) do
    errs = errs + thread:get("errors")
    walked = walked + thread:get("journeys")
    local sample = thread:get("sample")
    if sample and #samples < 5 then
      sample = sample:gsub('[%c"\\]', function(c) return string.format("\\u%04x", string.byte(c)) end)
      table.insert(samples, '"' .. sample .. '"')
    end
  end
  local socket_errors = summary.errors.connect + summary.errors.read + summary.errors.write +
      summary.errors.timeout + summary.errors.status
  local seconds = summary.duration / 1e6
  io.write(string.format(
    '{"client": "wrk", "hops": %d, "journeys": %d, "seconds": %.2f, "hops_per_s": %.1f, ' ..
    '"p50_ms": %.2f, "p90_ms": %.2f, "p99_ms": %.2f, "max_ms": %.2f, "errors": %d, ' ..
    '"error_samples": [%s]}\n',
    summary.requests, walked, seconds, summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, errs + socket_errors, table.concat(samples, ", ")))
end
