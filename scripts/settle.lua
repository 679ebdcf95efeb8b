--[[ settle.lua: charge the actual cost of a request against its reservation.

KEYS (all in the user's shard {sN})
  1 tf:{sN}:u:<uid>   2 tf:{sN}:t:<tid>   3 tf:{sN}:res   4 tf:{sN}:resdl
  5 tf:{sN}:ledger    6 tf:{sN}:rl:u:<uid>   7 tf:{sN}:rl:t:<tid>
  8 tf:{sN}:cc:u:<uid>   9 tf:{sN}:cc:t:<tid>
ARGV
  1 uid  2 tid  3 res_id        must match the reservation's owner
  4 actual                      cost in quota, 0..1e15
  5 actual_tokens               tokens really used, 0..1e15 (corrects the tpm window)
  6 now_ms
  7 cid                         channel id, 0 = none
  8 model  9 pt  10 ct  11 stream (0/1)  12 ut (use time, s)
  13 group  14 ip  15 rid  16 content  17 other (empty or a JSON object)
  -- log fields copied into the ledger entry; the user and token names come
     from their hashes.

RETURNS
  {1, charged, shortfall, user_quota_left, token_quota_left (-1 unlimited), ledger_id}
  {0, "reservation_not_found"}  unknown or already settled/reaped: nothing changes
  error "ERR_BAD_ARG <what>"    nothing was written

INVARIANT
  The reservation is released and the actual cost charged in one step, with
  exactly one ledger entry (type consume). The charge never exceeds the budget:
  charged <= amount + max(0, quota) (and + max(0, remain_quota) for a limited
  token); what could not be charged is recorded as "shortfall" in `other`.
  quota + reserved falls by exactly `charged` = -dq. Settling twice is
  harmless: the second call finds no reservation.
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
local function str(i, max)
    local s = ARGV[i]
    if type(s) ~= "string" or #s > max then return nil end
    return s
end

if #KEYS ~= 9 then return bad("keys") end
if #ARGV ~= 17 then return bad("argc") end
local uid = int(ARGV[1], 1, MAXQ)
if not uid then return bad("uid") end
local tid = int(ARGV[2], 1, MAXQ)
if not tid then return bad("tid") end
local rid_ = int(ARGV[3], 1, MAXQ)
if not rid_ then return bad("res_id") end
local actual = int(ARGV[4], 0, MAXQ)
if not actual then return bad("actual") end
local atok = int(ARGV[5], 0, MAXQ)
if not atok then return bad("actual_tokens") end
local now = int(ARGV[6], 1, 1e14)
if not now then return bad("now_ms") end
local cid = int(ARGV[7], 0, MAXQ)
if not cid then return bad("cid") end
local model = str(8, 191) -- the logs columns: model_name 191, request_id 64
if not model then return bad("model") end
local pt = int(ARGV[9], 0, MAXQ)
if not pt then return bad("pt") end
local ct = int(ARGV[10], 0, MAXQ)
if not ct then return bad("ct") end
if ARGV[11] ~= "0" and ARGV[11] ~= "1" then return bad("stream") end
local ut = int(ARGV[12], 0, 1e9)
if not ut then return bad("ut") end
if not str(13, 64) then return bad("group") end
if not str(14, 64) then return bad("ip") end
if not str(15, 64) then return bad("rid") end
if not str(16, 4096) then return bad("content") end
local other = str(17, 65536)
if not other then return bad("other") end
if other ~= "" then
    local ok, v = pcall(cjson.decode, other)
    if not ok or type(v) ~= "table" or not string.match(other, "^%s*{.*}%s*$") then
        return bad("other")
    end
end

local rec = redis.call("HGET", KEYS[3], ARGV[3])
if not rec then return {0, "reservation_not_found"} end
local r = {}
for f in string.gmatch(rec, "[^:]+") do r[#r + 1] = tonumber(f) end
if #r ~= 7 then return redis.error_reply("ERR_CORRUPT reservation " .. ARGV[3]) end
if r[1] ~= uid or r[2] ~= tid then return bad("reservation owner") end
local amount, est, win, unlimited = r[3], r[5], r[6], r[7] == 1

local u = redis.call("HMGET", KEYS[1], "quota", "username")
local t = redis.call("HMGET", KEYS[2], "remain_quota", "name")
local quota = tonumber(u[1]) or 0
local remain = tonumber(t[1]) or 0

-- The budget: what was reserved plus what is still spendable.
local cap = amount + math.max(0, quota)
if not unlimited then cap = math.min(cap, amount + math.max(0, remain)) end
local charged = math.min(actual, cap)
local shortfall = actual - charged

-- No failure allowed beyond this point.
redis.call("HINCRBY", KEYS[1], "quota", I(amount - charged))
redis.call("HINCRBY", KEYS[1], "reserved", I(-amount))
redis.call("HINCRBY", KEYS[1], "used_quota", I(charged))
redis.call("HINCRBY", KEYS[1], "request_count", 1)
redis.call("HINCRBY", KEYS[2], "used_quota", I(charged))
if not unlimited then
    redis.call("HINCRBY", KEYS[2], "remain_quota", I(amount - charged))
    redis.call("HINCRBY", KEYS[2], "reserved", I(-amount))
end
for k = 8, 9 do
    if (tonumber(redis.call("GET", KEYS[k])) or 0) > 0 then redis.call("DECR", KEYS[k]) end
end
-- Correct the tpm windows by what the estimate missed, if the window the
-- request was counted in is still current; a past window limits nothing.
for k = 6, 7 do
    local w = redis.call("HMGET", KEYS[k], "w", "tok")
    if tonumber(w[1]) == win and win == math.floor(now / 60000) then
        local tok = math.max(0, (tonumber(w[2]) or 0) + atok - est)
        redis.call("HSET", KEYS[k], "tok", I(tok))
    end
end
redis.call("HDEL", KEYS[3], ARGV[3])
redis.call("ZREM", KEYS[4], ARGV[3])

if shortfall > 0 then
    local note = '"shortfall":' .. I(shortfall)
    if other == "" or string.match(other, "^%s*{%s*}%s*$") then
        other = "{" .. note .. "}"
    else
        other = string.gsub(other, "}%s*$", "," .. note .. "}", 1)
    end
end

local id = redis.call("XADD", KEYS[5], "*",
    "type", "consume", "uid", I(uid), "tid", I(tid), "cid", I(cid),
    "ts", I(math.floor(now / 1000)),
    "dq", I(-charged), "du", I(charged), "drc", "1",
    "dtr", unlimited and "0" or I(-charged), "dtu", I(charged), "dcu", I(charged),
    "log", "2", "uname", u[2] or "", "tname", t[2] or "", "model", model,
    "pt", I(pt), "ct", I(ct), "quota", I(charged), "stream", ARGV[11], "ut", I(ut),
    "group", ARGV[13], "ip", ARGV[14], "rid", ARGV[15], "content", ARGV[16],
    "other", other, "res", ARGV[3])

return {1, charged, shortfall, quota + amount - charged,
    unlimited and -1 or remain + amount - charged, id}
