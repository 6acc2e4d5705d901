--[[ refresh-session-4: rotate the ID of a stale or active session, exactly once.
KEYS[1] record of the old ID   KEYS[2] the user's session index   KEYS[3] the user's epoch
KEYS[4] the user's revocation generation
ARGV[1] now ms ('' = Redis TIME)   ARGV[2] refresh enabled '1'|'0'   ARGV[3] session key prefix
ARGV[4] replay key prefix   ARGV[5] nonce   ARGV[6] grace ms   ARGV[7] keep alias + marker
'1'|'0' (password change: '0', old IDs dead at once)   ARGV[8] revoke the user's other
sessions '1'|'0'   ARGV[9] reauthenticated '1'|'0'   ARGV[10] Redis Cluster '1'|'0'
ARGV[11] idHash of the successor (hash of the secret derived from the old one + nonce)
ARGV[12] the presented ID's family (lib.lua family_ref)   ARGV[13] hash of the successor's
family part (the presented one with the grace; a fresh family without it)
ARGV[14] a device-key proof: the proof time (field b) its challenge was issued for; '' = none.
        The rotation happens only while the record still has it, and records now instead
ARGV[15] ms a bound session's last proof may be old for anything but a proof to rotate it
        (SESSION_BOUND_COOKIE_LIFETIME; '' = unchecked): older, the answer is 'unproven'
Returns {'rotated', now, handle, successor idHash, {HGETALL}, revoked others}
     or {'raced', now, handle, successor idHash, {HGETALL}, nonce}  (a plain refresh whose
        old ID a racing call rotated inside the grace: the caller re-derives the same
        successor from the nonce)
     or {'expired'|'idle'|'replay'|'unknown', now, handle or '', userId of a replay or ''}
     or {'unproven', now, handle, ''}  (a bound session past its proof, ARGV[15]; nothing written)
     or {'proof_used', now, handle, ''}  (ARGV[14] is no longer the session's proof time:
        its challenge was answered already; nothing written)
     or a TRYAGAIN error (Cluster: the slot is migrating away and the successor can only
        be created on the target; nothing written)
Declared are the keys that exist while the session lives (as in validate-session-4.lua);
the old ID's grace alias and replay marker are read only when its record is missing (never
during a migration: Redis refuses the script first), and the successor, alias and marker
it writes are new keys, which Redis lets a script create only on the migration's target.
An ID inside its grace presented for anything more than a plain refresh (a password
change, a re-authentication) rotates the session it leads to: those operations must
act on the live session, not answer with the successor a racing refresh made. ]]
local now = clock(ARGV[1])
local refresh_enabled, sprefix, rprefix = ARGV[2] == '1', ARGV[3], ARGV[4]
local with_grace, revoke_others, reauth = ARGV[7] == '1', ARGV[8] == '1', ARGV[9] == '1'
local cluster = ARGV[10] == '1'
local proof = ARGV[14] or ''
local proof_within = tonumber(ARGV[15] or '')
local index = KEYS[2]
local old_key, old_id = KEYS[1], string.sub(KEYS[1], #sprefix + 1)
local new_id = ARGV[11]
local new_key = sprefix .. new_id
local rec = load(old_key)
local nonce
if not rec then
  local alias, mark = trail(sprefix, old_id)
  local fk, checked = family_ref(sprefix, ARGV[12])
  local r = resolve_alias(alias, mark, fk or false, checked, index, sprefix, rprefix, now)
  if r[1] ~= 'record' then return { r[1], now, r[2] or '', r[3] or '' } end
  old_key, old_id, rec, nonce = r[2], r[3], r[4], r[5]
end
local _, dead = judge(sprefix, index, old_id, rec, tonumber(redis.call('GET', KEYS[4]) or '0'), now, refresh_enabled)
if dead then return dead end
if proof == '' and proof_within then
  local b = tonumber(redis.call('HGET', old_key, F.boundAt))
  if b and now - b >= proof_within then return { 'unproven', now, rec.h, '' } end
end
if proof ~= '' and redis.call('HGET', old_key, F.boundAt) ~= proof then
  return { 'proof_used', now, rec.h, '' }
end
if nonce and with_grace and not revoke_others and not reauth and proof == '' then
  -- A bound session's successor carries a fresh device proof: a copy of the old cookie
  -- must not obtain it by racing the device's signed refresh inside the grace.
  if redis.call('HEXISTS', old_key, F.boundKey) == 1 then return { 'unknown', now, rec.h, '' } end
  return { 'raced', now, rec.h, old_id, redis.call('HGETALL', old_key), nonce }
end
-- The first write is below: on a slot migrating away the successor cannot be created here.
if type(redis.pcall('EXISTS', new_key)) == 'table' then return try_again() end
-- A family started from an unchecked (0.2.0) ID records it as its root: the one such ID
-- it can recognise later.
local presented_checked = string.sub(ARGV[12], 1, 1) ~= '~'
local root = (with_grace and not presented_checked) and string.sub(KEYS[1], #sprefix + 1) or '-'
rotate(sprefix, index, old_key, old_id, rec, new_key, new_id, now, ARGV[5], tonumber(ARGV[6]), with_grace, ARGV[13], root)
if reauth then redis.call('HSET', new_key, F.authAt, s(now)) end
if proof ~= '' then redis.call('HSET', new_key, F.boundAt, s(now)) end
local revoked = 0
if revoke_others then
  -- The epoch bump refuses logins that read the epoch before it; the generation bump
  -- ends every other session even where the walk below cannot reach its record.
  bump_epoch(KEYS[3])
  redis.call('HSET', new_key, F.generation, s(bump_generation(KEYS[4], now)))
  for _, id in ipairs(redis.call('ZRANGE', index, 0, -1)) do
    if id ~= new_id then revoked = revoked + drop(sprefix, index, id, now, cluster) end
  end
end
return { 'rotated', now, rec.h, new_id, redis.call('HGETALL', new_key), revoked }
