--[[ revoke-session-3: revoke the session an ID names, directly or through its grace alias.
KEYS[1] record of the ID   KEYS[2] its grace alias   KEYS[3] the user's session index
ARGV[1] now ms ('' = Redis TIME)   ARGV[2] session key prefix
Returns 1 when a live session was revoked, else 0 (idempotent). ]]
local now = clock(ARGV[1])
local prefix = ARGV[2]
local id = string.sub(KEYS[1], #prefix + 1)
if redis.call('EXISTS', KEYS[1]) == 0 then
  local a = redis.call('GET', KEYS[2])
  local succ, untl
  if a then succ, untl = string.match(a, '^(%S+) %S+ (%d+)$') end
  if succ and tonumber(untl) > now then id = succ end
end
return drop(prefix, KEYS[3], id, now)
