--[[ Shared helpers, prepended by src/store/scripts.ts to every script (Redis Lua has no
include). They mirror src/sessions/policy.ts; field names are src/store/record.ts's.

The record's field names come from the generated prelude above this file (F,
RECORD_FIELDS, AT: src/store/record.ts luaPrelude); no script spells one itself.

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
-- revoke-all kept; otherwise its creation time stands for it), its recent predecessors
-- and its family (f, absent on records of 0.2.0 and earlier), or nil when the key is missing.
local JUDGED = { F.lastActiveAt, F.idleTimeoutMs, F.absoluteExpiresAt, F.refreshable, F.handle, F.createdAt,
                 F.generation, F.predecessor, F.olderPredecessor, F.family }
local function parse(v)
  if not v[3] then return nil end
  local trail = {}
  if v[8] then trail[1] = v[8] end
  if v[9] then trail[#trail + 1] = v[9] end
  return { l = tonumber(v[1]), i = tonumber(v[2]), a = tonumber(v[3]), r = v[4] == '1',
           h = v[5], c = tonumber(v[6]), v = tonumber(v[7]) or tonumber(v[6]), q = trail, f = v[10] }
end

local function load(key)
  return parse(redis.call('HMGET', key, unpack(JUDGED)))
end

-- load() for a key the script found through another one (an index member): false when
-- the key is not on this node. On Redis Cluster, while the slot migrates away, Redis
-- refuses to read such a key ("non local key") rather than answer nil: it has moved
-- to the target already, or never existed; either way this node cannot tell.
local function load_here(key)
  local v = redis.pcall('HMGET', key, unpack(JUDGED))
  if v.err then return false end
  return parse(v)
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

-- The epoch moves with every revocation of all sessions and then never expires (a lost
-- epoch would re-admit a login that read it before); INCR alone keeps a placeholder's TTL.
local function bump_epoch(key)
  local epoch = redis.call('INCR', key)
  redis.call('PERSIST', key)
  return epoch
end

-- The grace alias and replay marker keys of an ID, from the record prefix of its user
-- (`<prefix>{tag}:s:` → `<prefix>{tag}:g:` / `:r:`, as src/store/keys.ts builds them).
local function trail(sprefix, id)
  local base = string.sub(sprefix, 1, #sprefix - 2)
  return base .. 'g:' .. id, base .. 'r:' .. id
end

-- The family key of a family hash (`<prefix>{tag}:s:` → `<prefix>{tag}:f:<hash>`).
local function family_key(sprefix, fh)
  return string.sub(sprefix, 1, #sprefix - 2) .. 'f:' .. fh
end

-- The family a presented ID names, from the store's argument: `<hash>` when the ID's
-- check holds (issued by this release), `~<hash>` when it does not (a 0.2.0 ID, or a
-- corrupted one). Returns its key and whether it was checked; nil for ''.
local function family_ref(sprefix, arg)
  if not arg or arg == '' then return nil, false end
  if string.sub(arg, 1, 1) == '~' then return family_key(sprefix, string.sub(arg, 2)), false end
  return family_key(sprefix, arg), true
end

-- Removes the alias and replay marker of each predecessor listed. pcall: on a Cluster
-- node whose slot migrates away, a key that is not here cannot be deleted here (it has
-- moved, or never was); what is left expires by its TTL.
local function forget(sprefix, ids)
  for _, id in ipairs(ids) do
    local g, r = trail(sprefix, id)
    redis.pcall('DEL', g)
    redis.pcall('DEL', r)
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

-- A key of the user's, next to its index (`<prefix>{tag}:u` → `:e` epoch, `:v` generation).
local function user_key(index, suffix)
  return string.sub(index, 1, #index - 1) .. suffix
end

--[[ The user's epoch and generation keys exist for as long as its index: '0' until a
revoke-all moves them (then they persist). Every script that decides on a record or
walks the index declares them, and on Redis Cluster a script whose declared keys are
partly missing is never run while the slot migrates (Redis answers TRYAGAIN on both
nodes): an absent epoch or generation would fail every such request of the user for
the whole migration. ]]
local function keep_user_keys(index, deadline, now)
  for _, suffix in ipairs({ 'e', 'v' }) do
    local k = user_key(index, suffix)
    local t = redis.call('PTTL', k)
    if t == -2 then
      redis.call('SET', k, '0', 'PX', s(math.max(deadline - now, 1)))
    elseif t >= 0 and t < deadline - now then
      expire_at(k, deadline, now)
    end
  end
end

-- Index entry: score = the record's key deadline; the index (and the user keys above)
-- outlive their last member.
local function index_put(index, id, deadline, now)
  redis.call('ZADD', index, s(deadline), id)
  if redis.call('PTTL', index) < deadline - now then expire_at(index, deadline, now) end
  keep_user_keys(index, deadline, now)
end

-- A user without sessions keeps no placeholder user keys (pcall: on Cluster they may not
-- be on this node while the slot migrates; their TTL removes them then).
local function index_removed(index, id)
  redis.call('ZREM', index, id)
  if redis.call('EXISTS', index) == 1 then return end
  for _, suffix in ipairs({ 'e', 'v' }) do
    local k = user_key(index, suffix)
    if redis.pcall('GET', k) == '0' then redis.call('DEL', k) end
  end
end

-- Deletes one record, its index entry and the trail of its predecessors; 1 when it was
-- live. On Cluster (`keep_missing`), an index member whose record is not here while
-- its deadline is ahead is a record in flight between nodes: its entry stays. So does
-- the entry of a record that this node cannot read (it has left for the target).
local function drop(prefix, index, id, now, keep_missing)
  local rec = load_here(prefix .. id)
  if rec == false then return 0 end
  if not rec and keep_missing then
    local score = redis.call('ZSCORE', index, id)
    if score and tonumber(score) > now then return 0 end
  end
  redis.call('DEL', prefix .. id)
  index_removed(index, id)
  if rec then forget(prefix, rec.q) end
  if rec and rec.f then redis.pcall('DEL', family_key(prefix, rec.f)) end
  if rec and key_deadline(rec) > now then return 1 end
  return 0
end

-- The verdict on a record that was found, after its generation and clocks: a dead one
-- (revoked by a revoke-all, past its absolute deadline, or idle and not refreshable) is
-- dropped with its trail, and its answer is returned as the second value.
local function judge(sprefix, index, id, rec, gen, now, refresh_enabled)
  if outdated(rec, gen) then
    drop(sprefix, index, id, now)
    return nil, { 'unknown', now, rec.h }
  end
  local verdict = decide(rec, now, refresh_enabled)
  if verdict == 'expired' or verdict == 'idle' then
    drop(sprefix, index, id, now)
    return nil, { verdict, now, rec.h }
  end
  return verdict
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
    local f = redis.pcall('HMGET', prefix .. id, F.handle, F.userId)
    if f.err then f = {} end -- not on this node: moving, as below
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
  with_grace: the old ID stays an alias of the successor for `grace` ms; without it
  (password change) the old ID dies at once and the successor starts a new family
  (`fam`), so the IDs from before are unknown rather than replays.
  The family key names the successor as the family's current ID: every other ID of the
  family, presented after its grace, is a replay however many rotations old, and the
  footprint stays one key per session. The immediate predecessor also keeps a replay
  marker (field q) for nodes of 0.2.0, which know only markers; earlier markers (q and o
  of 0.2.0 records) go. A record that a 0.2.0 node rotated has a successor of a new
  family: its key is written here, and the older one is left to its TTL so that its IDs
  stay replays. Returns the rotated record's key deadline. ]]
local function rotate(sprefix, index, old_key, old_id, rec, new_key, new_id, now, nonce, grace, with_grace, fam, root_if_new)
  redis.call('RENAME', old_key, new_key) -- keeps the TTL
  redis.call('HSET', new_key, F.lastActiveAt, s(now), F.family, fam)
  rec.l = now
  local deadline = key_deadline(rec)
  expire_at(new_key, deadline, now)
  redis.call('ZREM', index, old_id)
  index_put(index, new_id, deadline, now)
  if rec.f and not with_grace then redis.call('DEL', family_key(sprefix, rec.f)) end
  local fk = family_key(sprefix, fam)
  local root = root_if_new
  if rec.f == fam then
    local v = redis.call('GET', fk)
    root = v and string.match(v, '^%S+ %d+ %S+ (%S+)$') or '-'
  end
  redis.call('SET', fk, rec.h .. ' ' .. s(rec.a) .. ' ' .. new_id .. ' ' .. root, 'PX', s(math.max(rec.a - now, 1)))
  rec.f = fam
  -- Only the immediate predecessor is served in the grace: earlier aliases and markers go.
  forget(sprefix, rec.q)
  redis.call('HDEL', new_key, F.olderPredecessor)
  local g, r = trail(sprefix, old_id)
  if not with_grace then
    redis.call('DEL', g, r)
    redis.call('HDEL', new_key, F.predecessor)
    return deadline
  end
  redis.call('HSET', new_key, F.predecessor, old_id)
  local window = math.min(grace, deadline - now)
  if window > 0 then
    redis.call('SET', g, new_id .. ' ' .. nonce .. ' ' .. s(now + window), 'PX', s(window))
  end
  redis.call('SET', r, rec.h .. ' ' .. s(rec.a), 'PX', s(math.max(rec.a - now, 1)))
  return deadline
end

-- Family key `<handle> <until> <current id> <root id or ->` → the handle while it is in
-- force when `id` is one of the family's past IDs: any of its checked IDs, or else only
-- its root (the unchecked 0.2.0 ID the family started from); and whether `id` is the one
-- it names as current: that ID without a record has either ended (its record expired) or
-- was rotated by a 0.2.0 node, which does not move the family key; only a live session of
-- the handle tells the two apart (resolve_alias).
local function family_of(key, checked, id, now)
  local v = redis.call('GET', key)
  if not v then return nil end
  local h, untl, current, root = string.match(v, '^(%S+) (%d+) (%S+) (%S+)$')
  if not h or tonumber(untl) <= now then return nil end
  if checked then return h, current == id end
  if root == id then return h, false end
  return nil
end

-- Replay marker `<handle> <until>` → handle while it is in force.
local function marker(key, now)
  local v = redis.call('GET', key)
  if not v then return nil end
  local h, untl = string.match(v, '^(%S+) (%d+)$')
  if h and tonumber(untl) > now then return h end
  return nil
end

--[[ An ID without a record (`fam_key`: the key of its family, false when unknown;
`checked`: whether the ID's check held, family_ref). Returns
  {'record', key, idHash, rec, nonce}  grace alias to a successor that is still live;
  {'replay', handle, userId or nil}    alias to a rotated-away successor, a marker or a
                                       family that names the ID as a past one: the whole
                                       session is revoked;
  {'unknown'}
The scripts that call this declare the ID's record, so on Redis Cluster they never run
while the slot migrates with that record missing (Redis answers TRYAGAIN or ASK first):
here every key of the user is on this node and a missing successor is gone, not moving.
(An alias can outlive its successor when the two sat on different nodes mid-migration
as the successor was revoked: the alias then names nothing, and expires with its grace.) ]]
local function resolve_alias(alias_key, marker_key, fam_key, checked, index, sprefix, rprefix, now)
  local a = redis.call('GET', alias_key)
  if a then
    local succ, nonce, untl = string.match(a, '^(%S+) (%S+) (%d+)$')
    if succ and tonumber(untl) > now then
      local rec = load(sprefix .. succ)
      if rec then return { 'record', sprefix .. succ, succ, rec, nonce } end
      local h = marker(rprefix .. succ, now)
      if not h then return { 'unknown' } end
      local _, user = revoke_handle(index, sprefix, h, now, false)
      return { 'replay', h, user }
    end
  end
  local h, current = marker(marker_key, now), false
  if not h and fam_key then h, current = family_of(fam_key, checked, string.sub(alias_key, -43), now) end
  if not h then return { 'unknown' } end
  local n, user = revoke_handle(index, sprefix, h, now, false)
  if current and n == 0 then
    redis.call('DEL', fam_key) -- the session ended; its family with it
    return { 'unknown' }
  end
  return { 'replay', h, user }
end
