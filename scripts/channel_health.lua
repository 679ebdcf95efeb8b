--[[ channel_health.lua: success/failure counters, auto-disable and heat of a channel.

KEYS
  1 tf:ch:<cid>   hash ok, fail, consec_fail, heat, heat_ts, disabled
ARGV
  1 op            success | failure | get | reset
  2 now_ms
  3 threshold     consecutive failures that disable the channel, 0 = never, 0..1e6
  4 half_life_ms  heat half-life, 1..1e12
  5 uses          optional, success only: how many successes this call records
                  (a worker batches them), 1..1e6, default 1

RETURNS
  {just_disabled, ok, fail, consec_fail, heat_milli, disabled}
  just_disabled is 1 only on the failure that crossed the threshold (so exactly
  one caller acts on it); heat_milli = floor(heat * 1000) decayed to now_ms.
  error "ERR_BAD_ARG <what>"   nothing was written

INVARIANT
  success: ok += uses, consec_fail = 0. failure: fail += 1, consec_fail += 1, and
  disabled = 1 once consec_fail >= threshold > 0. Each success or failure is a
  use: heat = heat * 0.5^((now - heat_ts) / half_life) + uses, heat_ts = now
  (a clock going backwards decays nothing). get writes nothing. reset deletes
  the key: all counters 0, enabled. A success does not re-enable a disabled
  channel: that is the channel test's call (reset).
]]

if #KEYS ~= 1 then return bad("keys") end
if #ARGV ~= 4 and #ARGV ~= 5 then return bad("argc") end
local op = ARGV[1]
if op ~= "success" and op ~= "failure" and op ~= "get" and op ~= "reset" then
    return bad("op")
end
local now = int(ARGV[2], 1, 1e14)
if not now then return bad("now_ms") end
local threshold = int(ARGV[3], 0, 1e6)
if not threshold then return bad("threshold") end
local half = int(ARGV[4], 1, 1e12)
if not half then return bad("half_life_ms") end
local uses = 1
if #ARGV == 5 then
    uses = int(ARGV[5], 1, 1e6)
    if not uses or (op ~= "success" and uses ~= 1) then return bad("uses") end
end

if op == "reset" then
    redis.call("DEL", KEYS[1])
    return {0, 0, 0, 0, 0, 0}
end

local h = redis.call("HMGET", KEYS[1], "ok", "fail", "consec_fail", "heat", "heat_ts", "disabled")
local ok, fail, consec = tonumber(h[1]) or 0, tonumber(h[2]) or 0, tonumber(h[3]) or 0
local heat, ts, disabled = tonumber(h[4]) or 0, tonumber(h[5]) or now, tonumber(h[6]) or 0
if now > ts then heat = heat * math.pow(0.5, (now - ts) / half) end

local just = 0
if op == "success" then
    ok, consec = ok + uses, 0
elseif op == "failure" then
    fail, consec = fail + 1, consec + 1
    if threshold > 0 and consec >= threshold and disabled == 0 then
        disabled, just = 1, 1
    end
end
if op ~= "get" then
    heat = heat + uses
    redis.call("HSET", KEYS[1], "ok", I(ok), "fail", I(fail), "consec_fail", I(consec),
        "heat", string.format("%.17g", heat), "heat_ts", I(math.max(now, ts)),
        "disabled", I(disabled))
end
return {just, ok, fail, consec, math.floor(heat * 1000), disabled}
