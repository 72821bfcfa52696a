-- wrk script for bench_service.py: POSTs the JSON documents of a file (one per line) in turn
-- and stops after a given number of responses, so that a cold run sends each bundle once.
--
--   wrk -t1 -c1 -d600s -s bench/wrk_post.lua URL -- BODIES_FILE COUNT
--
-- wrk's main thread sleeps for the whole duration even when the threads have stopped, so the
-- script writes "stopped" to stderr and the caller ends the run early with SIGINT.
-- Prints one JSON line: latency p50/p99 (ms), responses, seconds, and the statuses seen.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  bodies = {}
  for line in io.lines(args[1]) do
    bodies[#bodies + 1] = line
  end
  count = tonumber(args[2])
  next_body = 0
  responses = 0
  shed = 0
  unexpected = 0
  headers = { ["Content-Type"] = "application/fhir+json" }
end

function request()
  next_body = next_body % #bodies + 1
  return wrk.format("POST", nil, headers, bodies[next_body])
end

function response(status, _, _)
  responses = responses + 1
  if status == 503 then
    shed = shed + 1
  elseif status ~= 200 then
    unexpected = unexpected + 1
  end
  if responses == count then
    io.stderr:write("stopped\n")
    io.stderr:flush()
    wrk.thread:stop()
  end
end

function done(summary, latency, _)
  local total_shed, total_unexpected = 0, 0
  for _, thread in ipairs(threads) do
    total_shed = total_shed + thread:get("shed")
    total_unexpected = total_unexpected + thread:get("unexpected")
  end
  io.write(string.format(
    '{"p50_ms": %.4f, "p99_ms": %.4f, "responses": %d, "seconds": %.4f, ' ..
    '"shed": %d, "unexpected": %d, "socket_errors": %d}\n',
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.requests,
    summary.duration / 1e6, total_shed, total_unexpected,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
