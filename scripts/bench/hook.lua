-- wrk script: POST one change per request to /change_hook/base (form body) and count the
-- answers by status; done() prints `status CODE COUNT` lines for wrk.py.
-- The branch is one no scheduler of the benchmark config watches, so no build is requested.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = "author=Bench+Author+%3Cbench%40example.org%3E"
  .. "&comments=Fix+the+frobnicator+when+the+widget+count+overflows%0A%0ALonger+explanation."
  .. "&branch=bench-no-scheduler-watches-this"
  .. "&revision=4f9c1e0b7a3d2c5e8f6a1b0c9d8e7f6a5b4c3d2e"
  .. "&repository=https%3A%2F%2Fexample.org%2Fbench.git&project=bench"

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  counts = {}
end

function response(status, headers, body)
  counts[status] = (counts[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    local c = t:get("counts")
    for code, n in pairs(c) do
      total[code] = (total[code] or 0) + n
    end
  end
  for code, n in pairs(total) do
    io.write(string.format("status %d %d\n", code, n))
  end
end
