--[[ revoke-session-4: revoke the session an ID names: its record, or through its grace
alias the successor, or through its replay marker (a rotated-away ID past the grace) the
whole session family.
KEYS[1] record of the ID   KEYS[2] its grace alias   KEYS[3] its replay marker
KEYS[4] the user's session index
ARGV[1] now ms ('' = Redis TIME)   ARGV[2] session key prefix
Returns 1 when a live session was revoked, else 0 (idempotent). ]]
local now = clock(ARGV[1])
local prefix, index = ARGV[2], KEYS[4]
if redis.call('EXISTS', KEYS[1]) == 1 then return drop(prefix, index, string.sub(KEYS[1], #prefix + 1), now) end
local a = redis.call('GET', KEYS[2])
local succ, untl
if a then succ, untl = string.match(a, '^(%S+) %S+ (%d+)$') end
if succ and tonumber(untl) > now then return drop(prefix, index, succ, now) end
local h = marker(KEYS[3], now)
if h then return math.min(revoke_handle(index, prefix, h, now), 1) end
return 0
