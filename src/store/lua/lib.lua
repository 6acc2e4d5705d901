--[[ Shared helpers, prepended by src/store/scripts.ts to every script (Redis Lua has no
include). They mirror src/sessions/policy.ts; field names are src/store/record.ts's.

Every decision compares a deadline with `now`; key TTLs are only garbage collection, so
a clock far from Redis's own (tests) decides exactly like Redis TIME would.
Keys built here (`prefix .. idHash`) come from prefixes that src/store/keys.ts built for
the same {tag}, so they sit in the slot of the declared KEYS (Cluster-safe). ]]

-- Numbers as exact integer strings (tostring would switch to exponent notation).
local function s(n) return string.format('%d', n) end

-- ARGV time in ms, or Redis TIME when the argument is empty (the one clock).
local function clock(arg)
  local n = tonumber(arg)
  if n then return n end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- A record's timing fields, its revocation stamp (v, written only on a session a
-- revoke-all kept; otherwise its creation time stands for it) and its recent
-- predecessors, or nil when the key is missing.
local function load(key)
  local v = redis.call('HMGET', key, 'l', 'i', 'a', 'r', 'h', 'c', 'v', 'q', 'o')
  if not v[3] then return nil end
  local trail = {}
  if v[8] then trail[1] = v[8] end
  if v[9] then trail[#trail + 1] = v[9] end
  return { l = tonumber(v[1]), i = tonumber(v[2]), a = tonumber(v[3]), r = v[4] == '1',
           h = v[5], c = tonumber(v[6]), v = tonumber(v[7]) or tonumber(v[6]), q = trail }
end

-- A revoke-all moves the user's revocation generation to its own time instead of relying
-- on finding every record through the index: a record created (or last kept) before it
-- is dead wherever it sits. A time rather than a counter, so that records written
-- without a stamp (a common record, or one of an earlier release) are judged by their
-- creation time.
local function outdated(rec, gen)
  return rec.v < gen
end

-- The next generation: the revocation's time (never earlier than the previous one). A
-- record created in the same millisecond just before it is left to the walk of the index.
local function bump_generation(key, now)
  local gen = math.max(tonumber(redis.call('GET', key) or '0'), now)
  redis.call('SET', key, s(gen))
  return gen
end

-- The grace alias and replay marker keys of an ID, from the record prefix of its user
-- (`<prefix>{tag}:s:` → `<prefix>{tag}:g:` / `:r:`, as src/store/keys.ts builds them).
local function trail(sprefix, id)
  local base = string.sub(sprefix, 1, #sprefix - 2)
  return base .. 'g:' .. id, base .. 'r:' .. id
end

-- Removes the alias and replay marker of each predecessor listed.
local function forget(sprefix, ids)
  for _, id in ipairs(ids) do
    local g, r = trail(sprefix, id)
    redis.call('DEL', g, r)
  end
end

-- Raised before any write when a key the script found through another one is not on
-- this node: on Redis Cluster that means its slot is migrating, and the client retries.
local function try_again()
  return redis.error_reply('TRYAGAIN a key of this user is moving between Cluster nodes')
end

local function key_deadline(rec)
  if rec.r then return rec.a end
  return math.min(rec.l + rec.i, rec.a)
end

local function decide(rec, now, refresh_enabled)
  if now >= rec.a then return 'expired' end
  if now >= rec.l + rec.i then
    if rec.r and refresh_enabled then return 'stale' end
    return 'idle'
  end
  return 'active'
end

local function expire_at(key, deadline, now)
  redis.call('PEXPIRE', key, s(math.max(deadline - now, 1)))
end

-- Index entry: score = the record's key deadline; the index outlives its last member.
local function index_put(index, id, deadline, now)
  redis.call('ZADD', index, s(deadline), id)
  if redis.call('PTTL', index) < deadline - now then expire_at(index, deadline, now) end
end

-- Deletes one record, its index entry and the trail of its predecessors; 1 when it was
-- live. On Cluster (`keep_missing`), an index member whose record is not here while
-- its deadline is ahead is a record in flight between nodes: its entry stays.
local function drop(prefix, index, id, now, keep_missing)
  local rec = load(prefix .. id)
  if not rec and keep_missing then
    local score = redis.call('ZSCORE', index, id)
    if score and tonumber(score) > now then return 0 end
  end
  redis.call('DEL', prefix .. id)
  redis.call('ZREM', index, id)
  if rec then forget(prefix, rec.q) end
  if rec and key_deadline(rec) > now then return 1 end
  return 0
end

-- Revokes every record of a session family (its handle survives rotations).
-- Returns how many were live and the user id of the session (for the audit trail), or
-- nil on Cluster when none was found here while some index member with a deadline
-- ahead has no record here (one in flight: try again).
local function revoke_handle(index, prefix, handle, now, cluster)
  local n, user, moving = 0, nil, false
  local members = redis.call('ZRANGE', index, 0, -1, 'WITHSCORES')
  for k = 1, #members, 2 do
    local id = members[k]
    local f = redis.call('HMGET', prefix .. id, 'h', 'u')
    if f[1] == handle then
      user = f[2]
      n = n + drop(prefix, index, id, now)
    elseif not f[1] and tonumber(members[k + 1]) > now then
      moving = true
    end
  end
  if cluster and moving and not user then return nil end
  return n, user
end

--[[ Moves a live record to its successor ID (one rotation).
  with_grace: the old ID stays an alias of the successor for `grace` ms and a replay
  marker; without it (password change) the old ID and every earlier one die at once.
  Two predecessors keep a replay marker (fields q, the immediate one, and o, the one
  before; two fields rather than one list keep each value short enough for Redis's
  compact hash encoding); older rotated-away IDs are merely unknown, which keeps a
  session's footprint constant however often it rotates. Only the immediate
  predecessor is served in the grace. Returns the rotated record's key deadline. ]]
local function rotate(sprefix, index, old_key, old_id, rec, new_key, new_id, now, nonce, grace, with_grace)
  redis.call('RENAME', old_key, new_key) -- keeps the TTL
  redis.call('HSET', new_key, 'l', s(now))
  rec.l = now
  local deadline = key_deadline(rec)
  expire_at(new_key, deadline, now)
  redis.call('ZREM', index, old_id)
  index_put(index, new_id, deadline, now)
  local g, r = trail(sprefix, old_id)
  if not with_grace then
    forget(sprefix, rec.q)
    redis.call('DEL', g, r)
    redis.call('HDEL', new_key, 'q', 'o')
    return deadline
  end
  local previous, older = rec.q[1], rec.q[2]
  if older then forget(sprefix, { older }) end
  if previous then
    redis.call('DEL', (trail(sprefix, previous)))
    redis.call('HSET', new_key, 'q', old_id, 'o', previous)
  else
    redis.call('HSET', new_key, 'q', old_id)
  end
  local window = math.min(grace, deadline - now)
  if window > 0 then
    redis.call('SET', g, new_id .. ' ' .. nonce .. ' ' .. s(now + window), 'PX', s(window))
  end
  redis.call('SET', r, rec.h .. ' ' .. s(rec.a), 'PX', s(math.max(rec.a - now, 1)))
  return deadline
end

-- Replay marker `<handle> <until>` → handle while it is in force.
local function marker(key, now)
  local v = redis.call('GET', key)
  if not v then return nil end
  local h, untl = string.match(v, '^(%S+) (%d+)$')
  if h and tonumber(untl) > now then return h end
  return nil
end

--[[ An ID without a record. Returns
  {'tryagain'}                         (Cluster) the successor is not on this node yet;
  {'record', key, idHash, rec, nonce}  grace alias to a successor that is still live;
  {'replay', handle, userId or nil}    alias to a rotated-away successor, or a marker
                                       past the grace: the whole session is revoked;
  {'unknown'} ]]
local function resolve_alias(alias_key, marker_key, index, sprefix, rprefix, now, cluster)
  local a = redis.call('GET', alias_key)
  if a then
    local succ, nonce, untl = string.match(a, '^(%S+) (%S+) (%d+)$')
    if succ and tonumber(untl) > now then
      local rec = load(sprefix .. succ)
      if rec then return { 'record', sprefix .. succ, succ, rec, nonce } end
      local h = marker(rprefix .. succ, now)
      -- A live alias outlives neither its successor nor the successor's revocation (drop
      -- forgets it), so on Cluster a missing successor is one in flight.
      if not h and cluster then return { 'tryagain' } end
      if not h then return { 'unknown' } end
      local n, user = revoke_handle(index, sprefix, h, now, cluster)
      if not n then return { 'tryagain' } end
      return { 'replay', h, user }
    end
  end
  local h = marker(marker_key, now)
  if not h then return { 'unknown' } end
  local n, user = revoke_handle(index, sprefix, h, now, cluster)
  if not n then return { 'tryagain' } end
  return { 'replay', h, user }
end
