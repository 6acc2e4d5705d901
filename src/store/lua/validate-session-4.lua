--[[ validate-session-4: decide the state of a presented ID and slide it, in one trip.
KEYS[1] session record of the ID   KEYS[2] the user's session index   KEYS[3] the user's epoch
KEYS[4] the user's revocation generation (all `<prefix>{tag}:…`, src/store/keys.ts)
ARGV[1] now ms ('' = Redis TIME)   ARGV[2] touch interval ms   ARGV[3] refresh enabled '1'|'0'
ARGV[4] the ID's family (lib.lua family_ref: `<hash>`, `~<hash>` when its check fails; '' = none)
Returns one JSON array: ['active'|'stale', now, idHash or '', <values>]
                  or ['expired'|'idle'|'replay'|'unknown', now, handle or '', userId of a replay or '']
idHash is '' when the presented ID is the record's own, else the successor reached
through a grace alias. <values>: the record's fields in RECORD_FIELDS order
(src/store/record.ts), one HMGET that both decides and answers; false for a field the
record lacks. One JSON string rather than a flat reply of fifteen: the client decodes
one bulk string and parses it natively several times faster than it walks fifteen
(docs/performance.md).

The declared keys are those a live session always has (the user's epoch and generation
live as long as its index, lib.lua keep_user_keys). On Redis Cluster, while the slot
migrates, Redis runs a script only where all its declared keys are: once they are on one
node the request is served there; in between Redis answers TRYAGAIN (the client retries)
before the script runs, so it never decides on a generation or writes an index left
behind on the other node. Declaring keys that usually do not exist (the ID's grace alias
and replay marker) would make that TRYAGAIN last the whole migration; they are read only
when the record is missing, which during a migration Redis refuses first. The arguments
stay short and the reply one string because this runs on every authenticated
request; the common path (active, no slide due) is TIME + GET + HMGET. ]]
local now = clock(ARGV[1])
local touch, refresh_enabled = tonumber(ARGV[2]), ARGV[3] == '1'
local key, index = KEYS[1], KEYS[2]
local id = string.sub(key, -43)
local sprefix = string.sub(key, 1, #key - 43) -- `<prefix>{tag}:s:`
local alias, mark = trail(sprefix, id)
local rprefix = string.sub(mark, 1, #mark - 43) -- `<prefix>{tag}:r:`
local own = ''
-- now as digits (cjson would print a number in %.14g).
local function answer(t) t[2] = s(t[2]) return cjson.encode(t) end
local function fields(k) return redis.call('HMGET', k, unpack(RECORD_FIELDS)) end
local v = fields(key)
local rec
if v[AT.absoluteExpiresAt] then
  rec = { l = tonumber(v[AT.lastActiveAt]), i = tonumber(v[AT.idleTimeoutMs]), a = tonumber(v[AT.absoluteExpiresAt]),
          r = v[AT.refreshable] == '1', h = v[AT.handle],
          v = tonumber(v[AT.generation]) or tonumber(v[AT.createdAt]) }
else
  local fk, checked = family_ref(sprefix, ARGV[4])
  local r = resolve_alias(alias, mark, fk or false, checked, index, sprefix, rprefix, now)
  if r[1] ~= 'record' then return answer({ r[1], now, r[2] or '', r[3] or '' }) end
  key, id, rec = r[2], r[3], r[4]
  own = id
  v = fields(key)
end
local gen = redis.call('GET', KEYS[4])
local verdict, dead = judge(sprefix, index, id, rec, tonumber(gen or '0'), now, refresh_enabled)
if dead then return answer(dead) end
-- A user whose sessions predate keep_user_keys (an earlier release's) gets them now.
if not gen then keep_user_keys(index, key_deadline(rec), now) end
-- Write throttling: rewrite lastActiveAt only when it is touch-interval old.
if verdict == 'active' and now - rec.l >= math.min(touch, math.floor(rec.i / 2)) then
  redis.call('HSET', key, F.lastActiveAt, s(now))
  rec.l = now
  v[AT.lastActiveAt] = s(now)
  if not rec.r then
    expire_at(key, key_deadline(rec), now)
    index_put(index, id, key_deadline(rec), now)
  end
end
return answer({ verdict, now, own, unpack(v) })
