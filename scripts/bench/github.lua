-- wrk script: POST a signed GitHub push to /change_hook/github and count the answers by status
-- (statuses.lua). The body and its X-Hub-Signature-256 come from github_push.py, through
-- BENCH_GITHUB_BODY (a file) and BENCH_GITHUB_SIGNATURE; the body never changes, so one
-- signature serves every request.
local body_file = os.getenv("BENCH_GITHUB_BODY")
local signature = os.getenv("BENCH_GITHUB_SIGNATURE")
assert(body_file and signature, "set BENCH_GITHUB_BODY and BENCH_GITHUB_SIGNATURE (see github_push.py)")
local f = assert(io.open(body_file, "rb"))
local body = f:read("*a")
f:close()

wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-GitHub-Event"] = "push"
wrk.headers["X-GitHub-Delivery"] = "72d3162e-cc78-11e3-81ab-4c9367dc0958"
wrk.headers["X-Hub-Signature-256"] = signature
wrk.headers["User-Agent"] = "GitHub-Hookshot/044aadd"

dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "statuses.lua")
