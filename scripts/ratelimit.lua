--[[ ratelimit.lua: a generic fixed window per key (IP limits, per-user scopes).

KEYS
  1 the counter, a hash {w = window start ms, n = count}, e.g. tf:rl:ip:<ip>:<mark>
ARGV
  1 limit       requests (or cost units) per window, 1..1e9
  2 window_ms   1..86400000
  3 now_ms
  4 cost        0..1e9 (0 = look without counting)

RETURNS
  {allowed (0/1), remaining, retry_after_ms}
  allowed: n + cost <= limit; then n += cost. Denied: nothing counted and
  retry_after_ms is the time to the next window. remaining is after this call.
  error "ERR_BAD_ARG <what>"   nothing was written

INVARIANT
  Within one window [floor(now/window)*window, +window) at most `limit` units
  are admitted. The key expires when its window ends.
]]

if #KEYS ~= 1 then return bad("keys") end
if #ARGV ~= 4 then return bad("argc") end
local limit = int(ARGV[1], 1, 1e9)
if not limit then return bad("limit") end
local window = int(ARGV[2], 1, 86400000)
if not window then return bad("window_ms") end
local now = int(ARGV[3], 1, 1e14)
if not now then return bad("now_ms") end
local cost = int(ARGV[4], 0, 1e9)
if not cost then return bad("cost") end

local start = math.floor(now / window) * window
local left = start + window - now
local h = redis.call("HMGET", KEYS[1], "w", "n")
local n = 0
if tonumber(h[1]) == start then n = tonumber(h[2]) or 0 end
if n + cost > limit then return {0, math.max(0, limit - n), left} end
if cost > 0 then
    redis.call("HSET", KEYS[1], "w", I(start), "n", I(n + cost))
    redis.call("PEXPIRE", KEYS[1], I(left))
end
return {1, limit - n - cost, 0}
