--[[ refresh-session-7: rotate the ID of a stale or active session, exactly once.
KEYS[1] record of the old ID   KEYS[2] grace alias of the old ID   KEYS[3] replay marker of the
old ID   KEYS[4] record of the successor (hash of the secret derived from the old one + nonce)
KEYS[5] the user's session index   KEYS[6] the user's epoch   KEYS[7] the user's revocation generation
ARGV[1] now ms ('' = Redis TIME)   ARGV[2] refresh enabled '1'|'0'   ARGV[3] session key prefix
ARGV[4] replay key prefix   ARGV[5] nonce   ARGV[6] grace ms   ARGV[7] keep alias + marker
'1'|'0' (password change: '0', old IDs dead at once)   ARGV[8] revoke the user's other
sessions '1'|'0'   ARGV[9] reauthenticated '1'|'0'   ARGV[10] Redis Cluster '1'|'0'
Returns {'rotated', now, handle, successor idHash, {HGETALL}, revoked others}
     or {'raced', now, handle, successor idHash, {HGETALL}, nonce}  (a plain refresh whose
        old ID a racing call rotated inside the grace: the caller re-derives the same
        successor from the nonce)
     or {'expired'|'idle'|'replay'|'unknown', now, handle or '', userId of a replay or ''}
     or a TRYAGAIN error (Cluster: the successor of a grace alias is moving)
An ID inside its grace presented for anything more than a plain refresh (a password
change, a re-authentication) rotates the session it leads to: those operations must
act on the live session, not answer with the successor a racing refresh made. ]]
local now = clock(ARGV[1])
local refresh_enabled, sprefix, rprefix = ARGV[2] == '1', ARGV[3], ARGV[4]
local with_grace, revoke_others, reauth = ARGV[7] == '1', ARGV[8] == '1', ARGV[9] == '1'
local cluster = ARGV[10] == '1'
local index = KEYS[5]
local old_key, old_id = KEYS[1], string.sub(KEYS[1], #sprefix + 1)
local new_id = string.sub(KEYS[4], #sprefix + 1)
local rec = load(old_key)
local nonce
if not rec then
  local r = resolve_alias(KEYS[2], KEYS[3], index, sprefix, rprefix, now, cluster)
  if r[1] == 'tryagain' then return try_again() end
  if r[1] ~= 'record' then return { r[1], now, r[2] or '', r[3] or '' } end
  old_key, old_id, rec, nonce = r[2], r[3], r[4], r[5]
end
if outdated(rec, tonumber(redis.call('GET', KEYS[7]) or '0')) then
  drop(sprefix, index, old_id, now)
  return { 'unknown', now, rec.h }
end
local verdict = decide(rec, now, refresh_enabled)
if verdict == 'expired' or verdict == 'idle' then
  drop(sprefix, index, old_id, now)
  return { verdict, now, rec.h }
end
if nonce and with_grace and not revoke_others and not reauth then
  return { 'raced', now, rec.h, old_id, redis.call('HGETALL', old_key), nonce }
end
rotate(sprefix, index, old_key, old_id, rec, KEYS[4], new_id, now, ARGV[5], tonumber(ARGV[6]), with_grace)
if reauth then redis.call('HSET', KEYS[4], 't', s(now)) end
local revoked = 0
if revoke_others then
  -- The epoch bump refuses logins that read the epoch before it; the generation bump
  -- ends every other session even where the walk below cannot reach its record.
  redis.call('INCR', KEYS[6])
  redis.call('HSET', KEYS[4], 'v', s(bump_generation(KEYS[7], now)))
  for _, id in ipairs(redis.call('ZRANGE', index, 0, -1)) do
    if id ~= new_id then revoked = revoked + drop(sprefix, index, id, now, cluster) end
  end
end
return { 'rotated', now, rec.h, new_id, redis.call('HGETALL', KEYS[4]), revoked }
