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

-- A record's timing fields, or nil when the key is missing.
local function load(key)
  local v = redis.call('HMGET', key, 'l', 'i', 'a', 'r', 'h', 'c')
  if not v[3] then return nil end
  return { l = tonumber(v[1]), i = tonumber(v[2]), a = tonumber(v[3]), r = v[4] == '1',
           h = v[5], c = tonumber(v[6]) }
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

-- Deletes one record and its index entry; 1 when it was live.
local function drop(prefix, index, id, now)
  local rec = load(prefix .. id)
  redis.call('DEL', prefix .. id)
  redis.call('ZREM', index, id)
  if rec and key_deadline(rec) > now then return 1 end
  return 0
end

-- Revokes every record of a session family (its handle survives rotations).
local function revoke_handle(index, prefix, handle, now)
  local n = 0
  for _, id in ipairs(redis.call('ZRANGE', index, 0, -1)) do
    if redis.call('HGET', prefix .. id, 'h') == handle then n = n + drop(prefix, index, id, now) end
  end
  return n
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
  {'record', key, idHash, rec, nonce}  grace alias to a successor that is still live;
  {'replay', handle}                   alias to a rotated-away successor, or a marker
                                       past the grace: the whole session is revoked;
  {'unknown'} ]]
local function resolve_alias(alias_key, marker_key, index, sprefix, rprefix, now)
  local a = redis.call('GET', alias_key)
  if a then
    local succ, nonce, untl = string.match(a, '^(%S+) (%S+) (%d+)$')
    if succ and tonumber(untl) > now then
      local rec = load(sprefix .. succ)
      if rec then return { 'record', sprefix .. succ, succ, rec, nonce } end
      local h = marker(rprefix .. succ, now)
      if not h then return { 'unknown' } end
      revoke_handle(index, sprefix, h, now)
      return { 'replay', h }
    end
  end
  local h = marker(marker_key, now)
  if not h then return { 'unknown' } end
  revoke_handle(index, sprefix, h, now)
  return { 'replay', h }
end
