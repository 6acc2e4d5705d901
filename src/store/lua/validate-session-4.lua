--[[ validate-session-4: decide the state of a presented ID and slide it, in one trip.
KEYS[1] session record of the ID   KEYS[2] its grace alias   KEYS[3] its replay marker
KEYS[4] the user's session index
ARGV[1] now ms ('' = Redis TIME)   ARGV[2] touch interval ms   ARGV[3] refresh enabled '1'|'0'
ARGV[4] session key prefix of the tag   ARGV[5] replay key prefix of the tag
Returns {'active'|'stale', now, handle, idHash of the record, viaGrace '1'|'0', {values}}
     or {'expired'|'idle'|'replay'|'unknown', now, handle or ''}
{values}: the record's fields in RECORD_FIELDS order (src/store/record.ts), one HMGET
that both decides and answers: the common path (active, no slide due) is TIME + HMGET. ]]
local now = clock(ARGV[1])
local touch, refresh_enabled = tonumber(ARGV[2]), ARGV[3] == '1'
local sprefix, rprefix, index = ARGV[4], ARGV[5], KEYS[4]
local key, id, via = KEYS[1], string.sub(KEYS[1], #sprefix + 1), '0'
-- Positions: 1 h, 2 u, 3 c, 4 l, 5 i, 6 a, 7 r (the order of RECORD_FIELDS).
local function fields(k) return redis.call('HMGET', k, 'h', 'u', 'c', 'l', 'i', 'a', 'r', 't', 'p', 'g', 'd') end
local v = fields(key)
local rec
if v[6] then
  rec = { l = tonumber(v[4]), i = tonumber(v[5]), a = tonumber(v[6]), r = v[7] == '1', h = v[1] }
else
  local r = resolve_alias(KEYS[2], KEYS[3], index, sprefix, rprefix, now)
  if r[1] ~= 'record' then return { r[1], now, r[2] or '' } end
  key, id, rec, via = r[2], r[3], r[4], '1'
  v = fields(key)
end
local verdict = decide(rec, now, refresh_enabled)
if verdict == 'expired' or verdict == 'idle' then
  drop(sprefix, index, id, now)
  return { verdict, now, rec.h }
end
-- Write throttling: rewrite lastActiveAt only when it is touch-interval old.
if verdict == 'active' and now - rec.l >= math.min(touch, math.floor(rec.i / 2)) then
  redis.call('HSET', key, 'l', s(now))
  rec.l = now
  v[4] = s(now)
  if not rec.r then
    expire_at(key, key_deadline(rec), now)
    index_put(index, id, key_deadline(rec), now)
  end
end
return { verdict, now, rec.h, id, via, v }
