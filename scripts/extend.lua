--[[ extend.lua: grow a reservation during a long stream.

KEYS (the user's shard {sN})
  1 tf:{sN}:u:<uid>   2 tf:{sN}:t:<tid>   3 tf:{sN}:res   4 tf:{sN}:resdl
ARGV
  1 uid  2 tid  3 res_id   must match the reservation's owner
  4 extra                  the most quota to add to the reservation, 0..1e15: it
                           grows by min(extra, user quota, token remain_quota (a
                           limited token)), whatever the budget still holds
  5 ttl_ms                 the deadline becomes max(old, now_ms + ttl_ms), 1..86400000
  6 now_ms

RETURNS
  {1, new_amount, deadline_ms, user_quota_left, token_quota_left (-1 unlimited)}
      new_amount - the old amount is what was granted (extra or less)
  {0, "reservation_not_found" | "user_quota_insufficient" | "token_quota_insufficient"}
      the last two when extra > 0 and the budget holds nothing to grant
  error "ERR_BAD_ARG <what>"   nothing was written

INVARIANT
  Like authorize: quota (and a limited token's remain_quota) only moves into the
  reservation as far as it goes (never below 0), so a stream cannot outgrow its
  budget; a partial grant lets it run until the budget is really spent.
  quota + reserved is unchanged; no ledger entry. A refusal writes nothing.
  The record keeps its other fields as they were (a 7-field record from before
  flags stays 7 fields); extra 0 (a stream renewing its deadline) touches
  neither the user nor the token.
]]

if #KEYS ~= 4 then return bad("keys") end
if #ARGV ~= 6 then return bad("argc") end
local uid = int(ARGV[1], 1, MAXQ)
if not uid then return bad("uid") end
local tid = int(ARGV[2], 0, MAXQ) -- 0: no token (authorize.lua)
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
local r, stored = record(rec)
if not r then return redis.error_reply("ERR_CORRUPT reservation " .. ARGV[3]) end
if r[1] ~= uid or r[2] ~= tid then return bad("reservation owner") end
local unlimited = r[7] == 1

local u = redis.call("HMGET", KEYS[1], "quota", "reserved")
local t = tid == 0 and {} or redis.call("HMGET", KEYS[2], "remain_quota", "reserved")
local quota = tonumber(u[1]) or 0
local remain = tonumber(t[1]) or 0
if extra > 0 then
    if quota <= 0 then return {0, "user_quota_insufficient"} end
    if not unlimited and remain <= 0 then return {0, "token_quota_insufficient"} end
    extra = math.min(extra, quota)
    if not unlimited then extra = math.min(extra, remain) end
end

r[3] = r[3] + extra
r[4] = math.max(r[4], now + ttl)
if extra > 0 then
    redis.call("HSET", KEYS[1], "quota", I(quota - extra),
        "reserved", I((tonumber(u[2]) or 0) + extra))
    if not unlimited then
        redis.call("HSET", KEYS[2], "remain_quota", I(remain - extra),
            "reserved", I((tonumber(t[2]) or 0) + extra))
    end
end
local parts = {}
for i = 1, stored do parts[i] = I(r[i]) end
redis.call("HSET", KEYS[3], ARGV[3], table.concat(parts, ":"))
redis.call("ZADD", KEYS[4], I(r[4]), ARGV[3])

return {1, r[3], r[4], quota - extra, unlimited and -1 or remain - extra}
