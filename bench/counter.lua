-- wrk script for the session counters (Micro Tomcat /counter, Tomcat counter.jsp).
--
--   wrk -t2 -c50 -d10s -s bench/counter.lua URL -- SESSIONS_PER_THREAD
--
-- wrk's Lua state is per thread, not per connection, so the script keeps a
-- per-thread pool of sessions: every response that carries
-- "Set-Cookie: JSESSIONID=..." adds that session to the pool (up to
-- SESSIONS_PER_THREAD, default 25 = connections / threads), and requests then
-- go round-robin over the pool with "Cookie: JSESSIONID=...". Until the first
-- Set-Cookie arrives, requests go without a cookie (that is how the sessions
-- get created). So after the first round every request reads and writes an
-- existing session, with about one request per session in flight at a time.
--
-- done() prints "counter.lua: sessions_created=N no_cookie_requests=M": a large
-- N means the server is not honouring the cookie (every request made a session).

local max_sessions = 25
local pool = {}          -- prebuilt request strings, one per session
local next_idx = 0
created = 0          -- globals: done() reads them through thread:get()
plain_requests = 0
local plain                 -- request without cookie
local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   if args[1] ~= nil then
      max_sessions = tonumber(args[1]) or max_sessions
   end
   plain = wrk.format("GET", wrk.path)
end

local function session_id(set_cookie)
   return string.match(set_cookie, "JSESSIONID=([^;,%s]+)")
end

function response(status, headers, body)
   local sc = headers["Set-Cookie"] or headers["set-cookie"] or headers["SET-COOKIE"]
   if sc == nil then
      return
   end
   local id = session_id(sc)
   if id == nil then
      return
   end
   created = created + 1
   if #pool < max_sessions then
      table.insert(pool, wrk.format("GET", wrk.path, { ["Cookie"] = "JSESSIONID=" .. id }))
   end
end

function request()
   local n = #pool
   if n == 0 then
      plain_requests = plain_requests + 1
      return plain
   end
   next_idx = next_idx % n + 1
   return pool[next_idx]
end

-- wrk reads thread-global variables by name through thread:get().
function done(summary, latency, requests)
   local c, p = 0, 0
   for _, t in ipairs(threads) do
      c = c + (tonumber(t:get("created")) or 0)
      p = p + (tonumber(t:get("plain_requests")) or 0)
   end
   io.write(string.format("counter.lua: sessions_created=%d no_cookie_requests=%d\n", c, p))
end
