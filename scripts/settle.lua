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
  18 token_name                 only with tid 0 (then required): the log's token
                                name, 0..191 bytes (a call without a token, e.g.
                                the playground's "playground-<group>")
  tid 0: no token hash is read or written; the entry's dtr and dtu are 0.

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
  Only what authorize counted is undone: the record's `flags` (1 user window,
  2 token window, 4 user in-flight, 8 token in-flight; a 7-field record from
  before flags means all four) say which tpm windows to correct and which
  in-flight counters to release, so a limit added or removed while the request
  was in flight never skews a counter, and a counter never goes below 0.
]]

local function str(i, max)
    local s = ARGV[i]
    if type(s) ~= "string" or #s > max then return nil end
    return s
end

if #KEYS ~= 9 then return bad("keys") end
if #ARGV ~= 17 and #ARGV ~= 18 then return bad("argc") end
local uid = int(ARGV[1], 1, MAXQ)
if not uid then return bad("uid") end
local tid = int(ARGV[2], 0, MAXQ)
if not tid or (tid == 0) ~= (#ARGV == 18) then return bad("tid") end
if #ARGV == 18 and not str(18, 191) then return bad("token_name") end
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
local r = record(rec)
if not r then return redis.error_reply("ERR_CORRUPT reservation " .. ARGV[3]) end
if r[1] ~= uid or r[2] ~= tid then return bad("reservation owner") end
local amount, est, win, unlimited, flags = r[3], r[5], r[6], r[7] == 1, r[8]

local u = redis.call("HMGET", KEYS[1], "quota", "username", "reserved", "used_quota",
    "request_count")
local t = tid == 0 and {nil, ARGV[18]}
    or redis.call("HMGET", KEYS[2], "remain_quota", "name", "reserved", "used_quota")
local quota = tonumber(u[1]) or 0
local remain = tonumber(t[1]) or 0

-- The budget: what was reserved plus what is still spendable.
local cap = amount + math.max(0, quota)
if not unlimited then cap = math.min(cap, amount + math.max(0, remain)) end
local charged = math.min(actual, cap)
local shortfall = actual - charged

-- No failure allowed beyond this point. One HSET per hash: the values were
-- read above, and the script is atomic.
redis.call("HSET", KEYS[1], "quota", I(quota + amount - charged),
    "reserved", I((tonumber(u[3]) or 0) - amount),
    "used_quota", I((tonumber(u[4]) or 0) + charged),
    "request_count", I((tonumber(u[5]) or 0) + 1))
if tid == 0 then
    -- no token: nothing to write
elseif unlimited then
    redis.call("HSET", KEYS[2], "used_quota", I((tonumber(t[4]) or 0) + charged))
else
    redis.call("HSET", KEYS[2], "remain_quota", I(remain + amount - charged),
        "reserved", I((tonumber(t[3]) or 0) - amount),
        "used_quota", I((tonumber(t[4]) or 0) + charged))
end
-- Release the in-flight slots this request took (lib: never below 0, a
-- counter back at 0 is deleted).
release(KEYS[8], flags, 4)
release(KEYS[9], flags, 8)
-- Correct the tpm windows it was counted in by what the estimate missed, if
-- that window is still the current minute; a past window limits nothing.
local function correct(key, bit)
    if not counted(flags, bit) then return end
    local w = redis.call("HMGET", key, "w", "tok")
    if tonumber(w[1]) == win then
        redis.call("HSET", key, "tok", I(math.max(0, (tonumber(w[2]) or 0) + atok - est)))
    end
end
if atok ~= est and win == math.floor(now / 60000) then
    correct(KEYS[6], 1)
    correct(KEYS[7], 2)
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
    "dtr", unlimited and "0" or I(-charged), "dtu", tid == 0 and "0" or I(charged),
    "dcu", I(charged),
    "log", "2", "uname", u[2] or "", "tname", t[2] or "", "model", model,
    "pt", I(pt), "ct", I(ct), "quota", I(charged), "stream", ARGV[11], "ut", I(ut),
    "group", ARGV[13], "ip", ARGV[14], "rid", ARGV[15], "content", ARGV[16],
    "other", other, "res", ARGV[3])

return {1, charged, shortfall, quota + amount - charged,
    unlimited and -1 or remain + amount - charged, id}
