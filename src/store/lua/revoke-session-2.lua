--[[ revoke-session-2: revoke the session an ID names: its record, or through its grace
alias the successor, or through its replay marker or its family (a rotated-away ID past
the grace) the whole session.
KEYS[1] record of the ID   KEYS[2] the user's session index
The ID's grace alias and replay marker are not declared: they rarely exist, and on Redis
Cluster a script with a missing declared key never runs while its slot migrates (a
logout would fail for the whole migration). They are read only when the record is
missing, which during a migration Redis refuses before the script runs.
ARGV[1] now ms ('' = Redis TIME)   ARGV[2] session key prefix   ARGV[3] the ID's family (lib.lua family_ref)
Returns 1 when a live session was revoked, else 0 (idempotent). ]]
local now = clock(ARGV[1])
local prefix, index = ARGV[2], KEYS[2]
local alias, mark = trail(prefix, string.sub(KEYS[1], #prefix + 1))
if redis.call('EXISTS', KEYS[1]) == 1 then return drop(prefix, index, string.sub(KEYS[1], #prefix + 1), now) end
local a = redis.call('GET', alias)
local succ, untl
if a then succ, untl = string.match(a, '^(%S+) %S+ (%d+)$') end
if succ and tonumber(untl) > now and redis.call('EXISTS', prefix .. succ) == 1 then
  return drop(prefix, index, succ, now)
end
local fk, checked = family_ref(prefix, ARGV[3])
local h = marker(mark, now) or (fk and family_of(fk, checked, string.sub(KEYS[1], #prefix + 1), now))
if h then return math.min(revoke_handle(index, prefix, h, now, false), 1) end
return 0
