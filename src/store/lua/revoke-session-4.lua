--[[ revoke-session-4: revoke the session an ID names: its record, or through its grace
alias the successor, or through its replay marker (a rotated-away ID past the grace) the
whole session family.
KEYS[1] record of the ID   KEYS[2] its grace alias   KEYS[3] its replay marker
KEYS[4] the user's session index
ARGV[1] now ms ('' = Redis TIME)   ARGV[2] session key prefix   ARGV[3] Redis Cluster '1'|'0'
Returns 1 when a live session was revoked, else 0 (idempotent), or a TRYAGAIN error on
Cluster when the session it leads to is moving. ]]
local now = clock(ARGV[1])
local prefix, index, cluster = ARGV[2], KEYS[4], ARGV[3] == '1'
if redis.call('EXISTS', KEYS[1]) == 1 then return drop(prefix, index, string.sub(KEYS[1], #prefix + 1), now) end
local a = redis.call('GET', KEYS[2])
local succ, untl
if a then succ, untl = string.match(a, '^(%S+) %S+ (%d+)$') end
if succ and tonumber(untl) > now then
  if cluster and redis.call('EXISTS', prefix .. succ) == 0 and not redis.call('GET', KEYS[3]) then
    return try_again()
  end
  if redis.call('EXISTS', prefix .. succ) == 1 then return drop(prefix, index, succ, now) end
end
local h = marker(KEYS[3], now)
if h then
  local n = revoke_handle(index, prefix, h, now, cluster)
  if not n then return try_again() end
  return math.min(n, 1)
end
return 0
