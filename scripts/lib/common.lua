-- lib/common.lua: the helpers every script shares. The script loader
-- (gateway/state/scripts.c) inserts this text into each scripts/*.lua right
-- after the script's contract comment, so each script is still one EVAL
-- chunk (Redis 7.0 scripts cannot require modules) and keeps one definition
-- of each helper. Only local definitions here: nothing runs, nothing is
-- written.

-- The one quota bound (gateway/state/ledger.h GW_LEDGER_QUOTA_MAX), inclusive.
local MAXQ = 1e15

-- ARGV text as an integer in lo..hi, else nil: decimal digits only, after an
-- optional minus, at most 16 of them (MAXQ has 16), so -1e15 parses and
-- nothing reaches Lua's doubles inexactly.
local function int(s, lo, hi)
    if type(s) ~= "string" or not string.match(s, "^%-?%d+$") then return nil end
    if #s - (string.sub(s, 1, 1) == "-" and 1 or 0) > 16 then return nil end
    local n = tonumber(s)
    if n < lo or n > hi then return nil end
    return n
end

-- The error every argument check answers with; nothing was written.
local function bad(what) return redis.error_reply("ERR_BAD_ARG " .. what) end

-- An integer as the decimal text stored in hashes and ledger entries.
local function I(n) return string.format("%d", n) end

-- A reservation record "uid:tid:amount:deadline_ms:est_tokens:window:unlimited[:flags]"
-- as 8 numbers, or nil when malformed. A 7-field record was written before
-- flags existed, when authorize counted every request in all four windows
-- and counters: flags 15. The second result is how many fields were stored
-- (7 or 8), for a script that writes the record back as it was.
local function record(rec)
    local r, n = {}, 0
    for f in string.gmatch(rec, "[^:]+") do n = n + 1 r[n] = tonumber(f) or false end
    local stored = n
    if n == 7 then n, r[8] = 8, 15 end
    if n ~= 8 then return nil end
    for i = 1, 8 do if not r[i] then return nil end end
    if r[8] < 0 or r[8] > 15 or r[8] % 1 ~= 0 then return nil end
    return r, stored
end

-- 1 when a reservation's flags hold bit (1 user window, 2 token window,
-- 4 user in-flight, 8 token in-flight): what authorize counted it in.
local function counted(flags, bit) return math.floor(flags / bit) % 2 == 1 end

-- Releases the in-flight slot a request took in counter key when its flags
-- say it was counted there (never below 0); a counter back at 0 is deleted,
-- so it exists only while requests are in flight.
local function release(key, flags, bit)
    if counted(flags, bit) and (tonumber(redis.call("GET", key)) or 0) > 0 then
        if redis.call("DECR", key) <= 0 then redis.call("DEL", key) end
    end
end
