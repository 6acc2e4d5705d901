--[[ refresh-session-6: rotate the ID of a stale or active session, exactly once.
KEYS[1] record of the old ID   KEYS[2] grace alias of the old ID   KEYS[3] replay marker of the
old ID   KEYS[4] record of the successor (hash of the secret derived from the old one + nonce)
KEYS[5] the user's session index   KEYS[6] the user's epoch
ARGV[1] now ms ('' = Redis TIME)   ARGV[2] refresh enabled '1'|'0'   ARGV[3] session key prefix
ARGV[4] replay key prefix   ARGV[5] nonce   ARGV[6] grace ms   ARGV[7] keep alias + marker
'1'|'0' (password change: '0', old ID dead at once)   ARGV[8] revoke the user's other
sessions '1'|'0'   ARGV[9] reauthenticated '1'|'0'
Returns {'rotated', now, handle, successor idHash, {HGETALL}, revoked others}
     or {'raced', now, handle, successor idHash, {HGETALL}, nonce}  (rotated by a racing call
        inside the grace: the caller re-derives the same successor from the nonce)
     or {'expired'|'idle'|'replay'|'unknown', now, handle or ''} ]]
local now = clock(ARGV[1])
local refresh_enabled, sprefix, rprefix = ARGV[2] == '1', ARGV[3], ARGV[4]
local index = KEYS[5]
local old_id, new_id = string.sub(KEYS[1], #sprefix + 1), string.sub(KEYS[4], #sprefix + 1)
local rec = load(KEYS[1])
if not rec then
  local r = resolve_alias(KEYS[2], KEYS[3], index, sprefix, rprefix, now)
  if r[1] ~= 'record' then return { r[1], now, r[2] or '' } end
  local verdict = decide(r[4], now, refresh_enabled)
  if verdict == 'expired' or verdict == 'idle' then
    drop(sprefix, index, r[3], now)
    return { verdict, now, r[4].h }
  end
  return { 'raced', now, r[4].h, r[3], redis.call('HGETALL', r[2]), r[5] }
end
local verdict = decide(rec, now, refresh_enabled)
if verdict == 'expired' or verdict == 'idle' then
  drop(sprefix, index, old_id, now)
  return { verdict, now, rec.h }
end
-- RENAME keeps the TTL (the absolute deadline of a refreshable record, never extended).
redis.call('RENAME', KEYS[1], KEYS[4])
redis.call('HSET', KEYS[4], 'l', s(now))
if ARGV[9] == '1' then redis.call('HSET', KEYS[4], 't', s(now)) end
rec.l = now
expire_at(KEYS[4], key_deadline(rec), now)
redis.call('ZREM', index, old_id)
index_put(index, new_id, key_deadline(rec), now)
if ARGV[7] == '1' then
  local grace = tonumber(ARGV[6])
  if grace > 0 then
    redis.call('SET', KEYS[2], new_id .. ' ' .. ARGV[5] .. ' ' .. s(now + grace), 'PX', s(grace))
  end
  redis.call('SET', KEYS[3], rec.h .. ' ' .. s(rec.a), 'PX', s(math.max(rec.a - now, 1)))
end
local revoked = 0
if ARGV[8] == '1' then
  -- Password change: the epoch bump also refuses logins that read the epoch before it.
  redis.call('INCR', KEYS[6])
  for _, id in ipairs(redis.call('ZRANGE', index, 0, -1)) do
    if id ~= new_id then revoked = revoked + drop(sprefix, index, id, now) end
  end
end
return { 'rotated', now, rec.h, new_id, redis.call('HGETALL', KEYS[4]), revoked }
