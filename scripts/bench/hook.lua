-- wrk script: POST one change per request to /change_hook/base (form body) and count the
-- answers by status (statuses.lua).
-- The branch is one no scheduler of the benchmark config watches, so no build is requested.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = "author=Bench+Author+%3Cbench%40example.org%3E"
  .. "&comments=Fix+the+frobnicator+when+the+widget+count+overflows%0A%0ALonger+explanation."
  .. "&branch=bench-no-scheduler-watches-this"
  .. "&revision=4f9c1e0b7a3d2c5e8f6a1b0c9d8e7f6a5b4c3d2e"
  .. "&repository=https%3A%2F%2Fexample.org%2Fbench.git&project=bench"

dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "statuses.lua")
