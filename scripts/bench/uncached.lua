-- wrk script: GET the waterfall with a different `last_time` on every request (one second
-- earlier each time, from an hour ago; each thread from its own start), so that no request
-- finds its page in the page cache and every page is built: what the view costs uncached.
local counter = 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end

local step, base
function init(args)
  step = 0
  base = os.time() - 3600 - (id or 0) * 1000000
end

request = function()
  step = step + 1
  local sep = wrk.path:find("?", 1, true) and "&" or "?"
  return wrk.format("GET", wrk.path .. sep .. "last_time=" .. (base - step))
end
