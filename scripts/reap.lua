--[[ reap.lua: refund reservations whose deadline has passed (dead or stuck workers).

KEYS (one shard {sN})
  1 tf:{sN}:res   2 tf:{sN}:resdl   3 tf:{sN}:ledger
ARGV
  1 shard       N, 0..15; KEYS must be this shard's
  2 now_ms
  3 max_count   reservations to reap in this call, 1..10000

  EXCEPTION to "all keys in KEYS": the users and tokens of expired reservations
  cannot be known before the script reads them, so this script alone builds
  tf:{sN}:u:<uid>, tf:{sN}:t:<tid>, tf:{sN}:cc:u:<uid> and tf:{sN}:cc:t:<tid>
  from ARGV[1]. They share the {sN} hash tag with KEYS, so the script still
  touches one Cluster slot.

RETURNS
  the number of reservations reaped (deadline_ms < now_ms, oldest first)
  error "ERR_BAD_ARG <what>"   nothing was written

INVARIANT
  Each reaped reservation is returned in full (quota += amount, reserved -=
  amount; the same on a limited token) and its concurrency slots released,
  exactly once: it is deleted in the same step, so a later settle finds
  nothing. Only the in-flight counters the record's `flags` name are released
  (4 user, 8 token; a 7-field record from before flags means both), as settle
  does. quota + reserved is unchanged, so the ledger entry (type reap,
  log 4) has all deltas 0: nothing reached SQL. A user or token that no
  longer exists is not recreated.
]]

if #KEYS ~= 3 then return bad("keys") end
if #ARGV ~= 3 then return bad("argc") end
local shard = int(ARGV[1], 0, 15)
if not shard then return bad("shard") end
local now = int(ARGV[2], 1, 1e14)
if not now then return bad("now_ms") end
local max = int(ARGV[3], 1, 10000)
if not max then return bad("max_count") end
local p = "tf:{s" .. I(shard) .. "}:"
if KEYS[1] ~= p .. "res" or KEYS[2] ~= p .. "resdl" or KEYS[3] ~= p .. "ledger" then
    return bad("keys")
end

local ids = redis.call("ZRANGEBYSCORE", KEYS[2], "-inf", "(" .. I(now), "LIMIT", 0, max)
local n = 0
for _, id in ipairs(ids) do
    local rec = redis.call("HGET", KEYS[1], id)
    local r = rec and record(rec)
    redis.call("ZREM", KEYS[2], id)
    if r then
        local uid, tid, amount, deadline, unlimited = r[1], r[2], r[3], r[4], r[7] == 1
        local ukey, tkey = p .. "u:" .. I(uid), p .. "t:" .. I(tid)
        local uname, tname = "", ""
        if redis.call("EXISTS", ukey) == 1 then
            local u = redis.call("HMGET", ukey, "quota", "reserved", "username")
            redis.call("HSET", ukey, "quota", I((tonumber(u[1]) or 0) + amount),
                "reserved", I((tonumber(u[2]) or 0) - amount))
            uname = u[3] or ""
        end
        if redis.call("EXISTS", tkey) == 1 then
            local t = redis.call("HMGET", tkey, "remain_quota", "reserved", "name")
            if not unlimited then
                redis.call("HSET", tkey, "remain_quota", I((tonumber(t[1]) or 0) + amount),
                    "reserved", I((tonumber(t[2]) or 0) - amount))
            end
            tname = t[3] or ""
        end
        release(p .. "cc:u:" .. I(uid), r[8], 4)
        release(p .. "cc:t:" .. I(tid), r[8], 8)
        redis.call("HDEL", KEYS[1], id)
        redis.call("XADD", KEYS[3], "*",
            "type", "reap", "uid", I(uid), "tid", I(tid), "cid", "0",
            "ts", I(math.floor(now / 1000)),
            "dq", "0", "du", "0", "drc", "0", "dtr", "0", "dtu", "0", "dcu", "0",
            "log", "4", "uname", uname, "tname", tname, "model", "",
            "pt", "0", "ct", "0", "quota", I(amount), "stream", "0", "ut", "0",
            "group", "", "ip", "", "rid", "",
            "content", "reservation " .. id .. " expired: worker died or never settled; refunded "
                .. I(amount),
            "other", '{"res":' .. id .. ',"amount":' .. I(amount) .. ',"deadline_ms":'
                .. I(deadline) .. '}',
            "res", id)
        n = n + 1
    end
    -- A record that cannot be parsed stays in res for an operator to inspect;
    -- it has left the index, so it cannot block the reaper.
end
return n
