--[[ adjust.lua: admin quota changes, top-ups and redemptions, idempotent.

KEYS (the user's shard {sN})
  1 tf:{sN}:u:<uid>   2 tf:{sN}:t:<tid> (for user ops any token key of the shard;
  the C layer passes tid 0)   3 tf:{sN}:idem:<op_id> (this op's record)
  4 tf:{sN}:ledger
ARGV
  1 op        user_set | user_add | topup | redeem | token_set | token_add
  2 uid       positive
  3 tid       positive for token_*, 0 otherwise
  4 value     user_set/token_set: the new SQL-visible value, 0..1e15
              user_add/token_add: a delta, -1e15..1e15
              topup/redeem: the amount added, 1..1e15
  5 op_id     idempotency key, 1..128 bytes
  6 now_ms
  7 content   log text (may be empty; redeem defaults to naming the code)
  8 code      redeem: the redemption code (1..64 bytes); other ops: empty

  "SQL-visible" is quota + reserved (remain_quota + reserved for a token): a set
  moves that total to `value` and keeps what is in flight reserved, so
  quota := value - reserved and dq = value - (quota + reserved).

RETURNS
  {1, delta, new_value, replay}   delta = dq (dtr for token ops); new_value is
                                  the spendable quota / remain_quota afterwards;
                                  replay = 1 when op_id was already applied (the
                                  first result is returned, nothing is written)
  {0, "user_not_found" | "token_not_found"}
  {0, "quota_out_of_range"}       the SQL-visible value would leave -1e15..1e15
                                  (MAXQ, inclusive: the bound the API enforces
                                  on a set); nothing was written
  error "ERR_BAD_ARG <what>"      nothing was written (also for an op_id reused
                                  with other arguments)

INVARIANT
  Each applied op writes exactly one ledger entry whose delta equals the change
  of the SQL-visible value, except a set to the current value, which writes
  none (delta 0); in-flight reservations are never overwritten. An
  op_id is applied at most once within IDEM_TTL_MS: its record
  tf:{sN}:idem:<op_id> = "op:uid:tid:value:delta:new" expires then, so what
  users' actions leave in Redis is bounded (the old tf:{sN}:idem hash grew with
  every token PUT). Every retry of an op comes much sooner: a request's own
  retries within seconds, a redemption's redrive at most REDRIVE_S = 600 s
  later (gateway/api/redemptions.c).
]]

local IDEM_TTL_MS = 3600000

local ops = { user_set = 1, user_add = 1, topup = 1, redeem = 1, token_set = 2, token_add = 2 }

if #KEYS ~= 4 then return bad("keys") end
if #ARGV ~= 8 then return bad("argc") end
local op = ARGV[1]
if not ops[op] then return bad("op") end
local tokop = ops[op] == 2
local uid = int(ARGV[2], 1, MAXQ)
if not uid then return bad("uid") end
local tid = int(ARGV[3], tokop and 1 or 0, tokop and MAXQ or 0)
if not tid then return bad("tid") end
local value
if op == "user_set" or op == "token_set" then
    value = int(ARGV[4], 0, MAXQ)
elseif op == "user_add" or op == "token_add" then
    value = int(ARGV[4], -MAXQ, MAXQ)
else
    value = int(ARGV[4], 1, MAXQ)
end
if not value then return bad("value") end
local opid = ARGV[5]
if #opid < 1 or #opid > 128 then return bad("op_id") end
if string.sub(KEYS[3], -(#opid + 6)) ~= ":idem:" .. opid then return bad("keys") end
local now = int(ARGV[6], 1, 1e14)
if not now then return bad("now_ms") end
local content = ARGV[7]
if #content > 4096 then return bad("content") end
local code = ARGV[8]
if op == "redeem" then
    if #code < 1 or #code > 64 then return bad("code") end
elseif code ~= "" then
    return bad("code")
end

local sig = table.concat({op, I(uid), I(tid), I(value)}, ":")
local prev = redis.call("GET", KEYS[3])
if prev then
    local p = {}
    for f in string.gmatch(prev, "[^:]+") do p[#p + 1] = f end
    if table.concat({p[1], p[2], p[3], p[4]}, ":") ~= sig then
        return bad("op_id reused with other arguments")
    end
    return {1, tonumber(p[5]), tonumber(p[6]), 1}
end

local u = redis.call("HMGET", KEYS[1], "quota", "reserved", "username")
if not u[1] then return {0, "user_not_found"} end
local t = {false, false, false, false}
if tokop then
    t = redis.call("HMGET", KEYS[2], "uid", "remain_quota", "reserved", "name")
    if not t[1] or tonumber(t[1]) ~= uid then return {0, "token_not_found"} end
end

local delta, newv, field, key, visible
if tokop then
    local remain, reserved = tonumber(t[2]) or 0, tonumber(t[3]) or 0
    key, field = KEYS[2], "remain_quota"
    if op == "token_set" then delta = value - (remain + reserved) else delta = value end
    newv = remain + delta
    visible = remain + reserved + delta
else
    local quota, reserved = tonumber(u[1]) or 0, tonumber(u[2]) or 0
    key, field = KEYS[1], "quota"
    if op == "user_set" then delta = value - (quota + reserved) else delta = value end
    newv = quota + delta
    visible = quota + reserved + delta
end
if visible > MAXQ or visible < -MAXQ then return {0, "quota_out_of_range"} end

-- A set to the value it already has changes nothing: no ledger entry, no log
-- row (the API sends every set, since only Redis knows the live value).
if delta == 0 and (op == "user_set" or op == "token_set") then
    redis.call("SET", KEYS[3], sig .. ":0:" .. I(newv), "PX", IDEM_TTL_MS)
    return {1, 0, newv, 0}
end

-- No failure allowed beyond this point.
redis.call("HINCRBY", key, field, I(delta))
local kind, logtype, other = "manage", "3", ""
if op == "topup" then
    kind, logtype = "topup", "1"
elseif op == "redeem" then
    kind, logtype = "redeem", "1"
    other = cjson.encode({ code = code })
    if content == "" then content = "redemption code " .. code .. ": +" .. I(value) end
elseif tokop then
    logtype = "0"
end
redis.call("XADD", KEYS[4], "*",
    "type", kind, "uid", I(uid), "tid", I(tid), "cid", "0", "ts", I(math.floor(now / 1000)),
    "dq", tokop and "0" or I(delta), "du", "0", "drc", "0",
    "dtr", tokop and I(delta) or "0", "dtu", "0", "dcu", "0",
    "log", logtype, "uname", u[3] or "", "tname", t[4] or "", "model", "",
    "pt", "0", "ct", "0", "quota", I(delta), "stream", "0", "ut", "0",
    "group", "", "ip", "", "rid", "", "content", content, "other", other, "op", opid)
redis.call("SET", KEYS[3], sig .. ":" .. I(delta) .. ":" .. I(newv), "PX", IDEM_TTL_MS)

return {1, delta, newv, 0}
