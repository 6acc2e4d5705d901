--[[ validate-session-4: decide the state of a presented ID and slide it, in one trip.
KEYS[1] session record of the ID   KEYS[2] its grace alias   KEYS[3] its replay marker
KEYS[4] the user's session index   (all `<prefix>{tag}:…`, src/store/keys.ts)
ARGV[1] now ms ('' = Redis TIME)   ARGV[2] touch interval ms   ARGV[3] refresh enabled '1'|'0'
Returns, flat: {'active'|'stale', now, idHash or '', <values>}
            or {'expired'|'idle'|'replay'|'unknown', now, handle or ''}
idHash is '' when the presented ID is the record's own, else the successor reached
through a grace alias. <values>: the record's fields in RECORD_FIELDS order
(src/store/record.ts), one HMGET that both decides and answers.

Every key the script can name is declared, as Redis Cluster requires: while a slot
migrates, Redis then answers ASK or TRYAGAIN before the script runs, instead of the
script meeting a key that has already moved (and failing half-way through its writes,
or reading a grace alias or replay marker as absent). The arguments stay short and the
reply flat, because this runs on every authenticated request: the session key prefix
is derived from KEYS[1] instead of being passed (the previous interface, with two key
prefixes as arguments and a nested 6 + 11-value reply, showed as ~8 µs of app CPU per
request in the profiles). The common path (active, no slide due) is TIME + HMGET. ]]
local now = clock(ARGV[1])
local touch, refresh_enabled = tonumber(ARGV[2]), ARGV[3] == '1'
local key, index = KEYS[1], KEYS[4]
local id = string.sub(key, -43)
local sprefix = string.sub(key, 1, #key - 43) -- `<prefix>{tag}:s:`
local rprefix = string.sub(KEYS[3], 1, #KEYS[3] - 43) -- `<prefix>{tag}:r:`
local own = ''
-- Positions: 1 h, 2 u, 3 c, 4 l, 5 i, 6 a, 7 r (the order of RECORD_FIELDS).
local function fields(k) return redis.call('HMGET', k, 'h', 'u', 'c', 'l', 'i', 'a', 'r', 't', 'p', 'g', 'd') end
local v = fields(key)
local rec
if v[6] then
  rec = { l = tonumber(v[4]), i = tonumber(v[5]), a = tonumber(v[6]), r = v[7] == '1', h = v[1] }
else
  local r = resolve_alias(KEYS[2], KEYS[3], index, sprefix, rprefix, now)
  if r[1] ~= 'record' then return { r[1], now, r[2] or '' } end
  key, id, rec = r[2], r[3], r[4]
  own = id
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
return { verdict, now, own, unpack(v) }
