--[[ authorize.lua: check a request against its token and user, then reserve.

KEYS (all in the user's shard {sN}, N = uid % 16)
  1 tf:{sN}:u:<uid>       user hash
  2 tf:{sN}:t:<tid>       token hash
  3 tf:{sN}:res           reservations (hash)
  4 tf:{sN}:resdl         reservation deadlines (zset)
  5 tf:{sN}:resseq        reservation id counter
  6 tf:{sN}:rl:u:<uid>    user rate window (hash w, req, tok)
  7 tf:{sN}:rl:t:<tid>    token rate window
  8 tf:{sN}:cc:u:<uid>    user requests in flight
  9 tf:{sN}:cc:t:<tid>    token requests in flight
ARGV
  1 uid  2 tid          positive integers; the token must belong to the user
  3 model               name checked against the token's model limits (no comma)
  4 amount              quota to reserve, 0..1e15
  5 est_tokens          estimated tokens, counted in the tpm windows, 0..1e15
  6 ttl_ms              reservation lifetime, 1..86400000
  7 now_ms              unix time in ms (the caller's clock: tests are deterministic)
  8 settings_ver        optional: the settings version the caller cached the token's
                        and user's fields with, token.sv .. "|" .. user.sv (each ""
                        when absent); another live value refuses with settings_changed
  9 group               only with tid 0 (then 8 and 9 are required): the group the
                        call uses, 1..64 bytes, chosen by the caller
  tid 0 is a call without a token (the console's playground, reference
  controller/playground.go): no token is read or written, its checks and limits
  do not apply, the reservation is recorded as unlimited (only the user's quota
  moves), and settings_ver is "|" .. user.sv.

RETURNS
  {1, res_id, deadline_ms, user_quota_left, token_quota_left (-1 unlimited), group}
  {0, reason}                   token_not_found | token_disabled | token_expired |
                                token_exhausted | user_not_found | user_disabled |
                                model_not_allowed | user_quota_insufficient |
                                token_quota_insufficient | settings_changed
  {0, "rate_limited", retry_after_ms, which}        which = user_rpm | user_tpm |
                                                            token_rpm | token_tpm
  {0, "concurrency_limited", 0, which}              which = user | token
  error "ERR_BAD_ARG <what>"    bad KEYS/ARGV; nothing was written

INVARIANT
  Checks and the reservation are one atomic step, so no interleaving spends past
  a budget: user.quota only decreases here when user.quota >= amount, and
  token.remain_quota when remain_quota >= amount. quota + reserved (the SQL value)
  is unchanged: reserving is not spending, so no ledger entry is written. An
  unlimited token still reserves against the user's quota.
  Reservation record: "uid:tid:amount:deadline_ms:est_tokens:window:unlimited:flags".
  A refusal writes nothing.

  Limits cost nothing when absent: a subject's (user's or token's) rate window
  is read and written only when its rpm or tpm is > 0, its in-flight counter
  only when its concurrency is > 0. `flags` records what this request was
  counted in (1 user window, 2 token window, 4 user in-flight, 8 token
  in-flight), so settle and reap undo exactly that; a 7-field record (written
  before flags existed) means all four. A limit set while requests are in
  flight therefore counts only the requests authorized from then on (and a
  window starts counting when its limit appears, not at the minute's start).
]]

if #KEYS ~= 9 then return bad("keys") end
local uid = int(ARGV[1], 1, MAXQ)
if not uid then return bad("uid") end
local tid = int(ARGV[2], 0, MAXQ)
if not tid or (tid == 0 and #ARGV ~= 9) then return bad("tid") end
local model = ARGV[3]
if type(model) ~= "string" or #model > 256 or string.find(model, ",", 1, true) then
    return bad("model")
end
local amount = int(ARGV[4], 0, MAXQ)
if not amount then return bad("amount") end
local est = int(ARGV[5], 0, MAXQ)
if not est then return bad("est_tokens") end
local ttl = int(ARGV[6], 1, 86400000)
if not ttl then return bad("ttl_ms") end
local now = int(ARGV[7], 1, 1e14)
if not now then return bad("now_ms") end
if #ARGV ~= 7 and #ARGV ~= 8 and #ARGV ~= 9 then return bad("argc") end
if #ARGV >= 8 and (#ARGV[8] == 0 or #ARGV[8] > 99) then return bad("settings_ver") end
if #ARGV == 9 and (tid ~= 0 or #ARGV[9] == 0 or #ARGV[9] > 64) then return bad("group") end

-- Token (none with tid 0: an empty record, unlimited, no limits).
local t = {}
local unlimited, remain = true, 0
if tid ~= 0 then
    t = redis.call("HMGET", KEYS[2], "uid", "status", "expired_time", "remain_quota",
        "unlimited_quota", "model_limits_enabled", "model_limits", "group", "rpm", "tpm",
        "concurrency", "reserved", "sv")
    if not t[1] or tonumber(t[1]) ~= uid then return {0, "token_not_found"} end
    local tstatus = tonumber(t[2]) or 1
    if tstatus == 3 then return {0, "token_expired"} end
    if tstatus == 4 then return {0, "token_exhausted"} end
    if tstatus ~= 1 then return {0, "token_disabled"} end
    local expires = tonumber(t[3]) or -1
    -- As the reference: -1 never expires, otherwise expired once the second has passed.
    if expires ~= -1 and expires < math.floor(now / 1000) then return {0, "token_expired"} end
    unlimited = t[5] == "1"
    remain = tonumber(t[4]) or 0
    if not unlimited and remain <= 0 then return {0, "token_exhausted"} end
end

-- User.
local u = redis.call("HMGET", KEYS[1], "quota", "status", "group", "rpm", "tpm", "concurrency",
    "reserved", "sv")
if not u[1] then return {0, "user_not_found"} end
-- The gateway checked IPs, groups and the owner's role with cached fields:
-- refuse when they changed since (it reads them again and retries).
if ARGV[8] and ARGV[8] ~= (t[13] or "") .. "|" .. (u[8] or "") then
    return {0, "settings_changed"}
end
if (tonumber(u[2]) or 1) ~= 1 then return {0, "user_disabled"} end
local quota = tonumber(u[1]) or 0

-- Model limits.
if t[6] == "1" then
    local allowed = false
    for m in string.gmatch(t[7] or "", "[^,]+") do
        if string.match(m, "^%s*(.-)%s*$") == model then allowed = true break end
    end
    if not allowed then return {0, "model_not_allowed"} end
end

local group = tid == 0 and ARGV[9] or t[8] or ""
if group == "" then group = u[3] or "" end
if group == "" then group = "default" end

-- Money.
if quota < amount then return {0, "user_quota_insufficient"} end
if not unlimited and remain < amount then return {0, "token_quota_insufficient"} end

-- Rate windows: fixed one-minute windows; a stale window counts as empty. A
-- subject without rpm and tpm has no window: nothing is read or written.
local win = math.floor(now / 60000)
local retry = (win + 1) * 60000 - now
local urpm, utpm = tonumber(u[4]) or 0, tonumber(u[5]) or 0
local trpm, ttpm = tonumber(t[9]) or 0, tonumber(t[10]) or 0
local uwin = urpm > 0 or utpm > 0
local twin = trpm > 0 or ttpm > 0
local function window(key)
    local w = redis.call("HMGET", key, "w", "req", "tok")
    if tonumber(w[1]) ~= win then return 0, 0 end
    return tonumber(w[2]) or 0, tonumber(w[3]) or 0
end
-- A window with no tokens yet admits one request whatever its estimate, so a tpm
-- below one request's size slows it to one a minute instead of refusing forever.
local function over(rpm, tpm, req, tok)
    if rpm > 0 and req + 1 > rpm then return "rpm" end
    if tpm > 0 and tok > 0 and tok + est > tpm then return "tpm" end
    return nil
end
local ureq, utok, treq, ttok = 0, 0, 0, 0
if uwin then
    ureq, utok = window(KEYS[6])
    local which = over(urpm, utpm, ureq, utok)
    if which then return {0, "rate_limited", retry, "user_" .. which} end
end
if twin then
    treq, ttok = window(KEYS[7])
    local which = over(trpm, ttpm, treq, ttok)
    if which then return {0, "rate_limited", retry, "token_" .. which} end
end

-- Concurrency caps: the in-flight counter exists only while a cap does.
local ulim, tlim = tonumber(u[6]) or 0, tonumber(t[11]) or 0
if ulim > 0 and (tonumber(redis.call("GET", KEYS[8])) or 0) + 1 > ulim then
    return {0, "concurrency_limited", 0, "user"}
end
if tlim > 0 and (tonumber(redis.call("GET", KEYS[9])) or 0) + 1 > tlim then
    return {0, "concurrency_limited", 0, "token"}
end

-- Reserve. No failure allowed beyond this point: every check is done.
-- One HSET per hash: the values were read above, and the script is atomic.
local id = redis.call("INCR", KEYS[5])
local deadline = now + ttl
redis.call("HSET", KEYS[1], "quota", I(quota - amount),
    "reserved", I((tonumber(u[7]) or 0) + amount))
if not unlimited then
    redis.call("HSET", KEYS[2], "remain_quota", I(remain - amount),
        "reserved", I((tonumber(t[12]) or 0) + amount))
end
local flags = 0
if uwin then
    flags = flags + 1
    redis.call("HSET", KEYS[6], "w", I(win), "req", I(ureq + 1), "tok", I(utok + est))
    redis.call("PEXPIRE", KEYS[6], 120000)
end
if twin then
    flags = flags + 2
    redis.call("HSET", KEYS[7], "w", I(win), "req", I(treq + 1), "tok", I(ttok + est))
    redis.call("PEXPIRE", KEYS[7], 120000)
end
if ulim > 0 then
    flags = flags + 4
    redis.call("INCR", KEYS[8])
end
if tlim > 0 then
    flags = flags + 8
    redis.call("INCR", KEYS[9])
end
redis.call("HSET", KEYS[3], I(id), table.concat({I(uid), I(tid), I(amount), I(deadline),
    I(est), I(win), unlimited and "1" or "0", I(flags)}, ":"))
redis.call("ZADD", KEYS[4], I(deadline), I(id))

return {1, id, deadline, quota - amount, unlimited and -1 or remain - amount, group}
