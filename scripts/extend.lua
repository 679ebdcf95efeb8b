--[[ extend.lua: grow a reservation during a long stream.

KEYS (the user's shard {sN})
  1 tf:{sN}:u:<uid>   2 tf:{sN}:t:<tid>   3 tf:{sN}:res   4 tf:{sN}:resdl
ARGV
  1 uid  2 tid  3 res_id   must match the reservation's owner
  4 extra                  quota to add to the reservation, 0..1e15
  5 ttl_ms                 the deadline becomes max(old, now_ms + ttl_ms), 1..86400000
  6 now_ms

RETURNS
  {1, new_amount, deadline_ms, user_quota_left, token_quota_left (-1 unlimited)}
  {0, "reservation_not_found" | "user_quota_insufficient" | "token_quota_insufficient"}
  error "ERR_BAD_ARG <what>"   nothing was written

INVARIANT
  Like authorize: quota (and a limited token's remain_quota) only moves into the
  reservation when it covers `extra`, so a stream cannot outgrow its budget.
  quota + reserved is unchanged; no ledger entry. A refusal writes nothing.
]]

local MAXQ = 1e15

local function int(s, lo, hi)
    if type(s) ~= "string" or #s > 16 or not string.match(s, "^%-?%d+$") then return nil end
    local n = tonumber(s)
    if n < lo or n > hi then return nil end
    return n
end
local function bad(what) return redis.error_reply("ERR_BAD_ARG " .. what) end
local function I(n) return string.format("%d", n) end

if #KEYS ~= 4 then return bad("keys") end
if #ARGV ~= 6 then return bad("argc") end
local uid = int(ARGV[1], 1, MAXQ)
if not uid then return bad("uid") end
local tid = int(ARGV[2], 1, MAXQ)
if not tid then return bad("tid") end
if not int(ARGV[3], 1, MAXQ) then return bad("res_id") end
local extra = int(ARGV[4], 0, MAXQ)
if not extra then return bad("extra") end
local ttl = int(ARGV[5], 1, 86400000)
if not ttl then return bad("ttl_ms") end
local now = int(ARGV[6], 1, 1e14)
if not now then return bad("now_ms") end

local rec = redis.call("HGET", KEYS[3], ARGV[3])
if not rec then return {0, "reservation_not_found"} end
local r = {}
for f in string.gmatch(rec, "[^:]+") do r[#r + 1] = tonumber(f) end
if #r ~= 7 then return redis.error_reply("ERR_CORRUPT reservation " .. ARGV[3]) end
if r[1] ~= uid or r[2] ~= tid then return bad("reservation owner") end
local unlimited = r[7] == 1

local quota = tonumber(redis.call("HGET", KEYS[1], "quota")) or 0
local remain = tonumber(redis.call("HGET", KEYS[2], "remain_quota")) or 0
if quota < extra then return {0, "user_quota_insufficient"} end
if not unlimited and remain < extra then return {0, "token_quota_insufficient"} end

r[3] = r[3] + extra
r[4] = math.max(r[4], now + ttl)
redis.call("HINCRBY", KEYS[1], "quota", I(-extra))
redis.call("HINCRBY", KEYS[1], "reserved", I(extra))
if not unlimited then
    redis.call("HINCRBY", KEYS[2], "remain_quota", I(-extra))
    redis.call("HINCRBY", KEYS[2], "reserved", I(extra))
end
local parts = {}
for i = 1, 7 do parts[i] = I(r[i]) end
redis.call("HSET", KEYS[3], ARGV[3], table.concat(parts, ":"))
redis.call("ZADD", KEYS[4], I(r[4]), ARGV[3])

return {1, r[3], r[4], quota - extra, unlimited and -1 or remain - extra}
