--[[ create-session-3: store a fresh session, index it, enforce the per-user cap.
KEYS[1] the user's session index   KEYS[2] the user's epoch
KEYS[3] the user's revocation generation (records revoked by it do not count against the cap)
ARGV[1] now ms ('' = Redis TIME)   ARGV[2] expected epoch ('' = do not check)
ARGV[3] max sessions per user (0 = no cap)   ARGV[4] session key prefix   ARGV[5] idle ms
ARGV[6] absolute lifetime ms   ARGV[7] refreshable '1'|'0'   ARGV[8] Redis Cluster '1'|'0'
ARGV[9] idHash of the new ID (its record is ARGV[4] .. ARGV[9])
ARGV[10] hash of the new ID's family part (its family key, lib.lua rotate)
ARGV[11..] static fields (h, u, p, g, d as field/value pairs)
Returns {'ok', now, revoked handle…} | {'epoch', now} (the epoch moved: nothing created)
     | {'exists', now} (ID collision: nothing written)
     | a TRYAGAIN error (Cluster: the slot is migrating away; nothing written)
The new record is not a declared key: it does not exist yet, and on Redis Cluster a
script with a missing declared key never runs while its slot migrates. The user's keys
are declared instead (they exist while the user has sessions, lib.lua keep_user_keys),
so during a migration the login runs where they are; a new key can only be created on
the target, so on the source the script answers TRYAGAIN before writing anything. ]]
local now = clock(ARGV[1])
local index, prefix, cluster = KEYS[1], ARGV[4], ARGV[8] == '1'
local key, id = ARGV[4] .. ARGV[9], ARGV[9]
if ARGV[2] ~= '' and tonumber(redis.call('GET', KEYS[2]) or '0') ~= tonumber(ARGV[2]) then
  return { 'epoch', now }
end
local exists = redis.pcall('EXISTS', key)
if type(exists) == 'table' then return try_again() end
if exists == 1 then return { 'exists', now } end
local gen = tonumber(redis.call('GET', KEYS[3]) or '0')
local rec = { l = now, i = tonumber(ARGV[5]), a = now + tonumber(ARGV[6]), r = ARGV[7] == '1', c = now }
local fields = { F.createdAt, s(now), F.lastActiveAt, s(now), F.idleTimeoutMs, ARGV[5], F.absoluteExpiresAt, s(rec.a),
                 F.refreshable, ARGV[7], F.authAt, s(now), F.family, ARGV[10] }
local handle
for i = 11, #ARGV, 2 do
  fields[#fields + 1] = ARGV[i]
  fields[#fields + 1] = ARGV[i + 1]
  if ARGV[i] == F.handle then handle = ARGV[i + 1] end
end
redis.call('HSET', key, unpack(fields))
expire_at(key, key_deadline(rec), now)
redis.call('SET', family_key(prefix, ARGV[10]), handle .. ' ' .. s(rec.a) .. ' ' .. id .. ' -', 'PX', ARGV[6])
redis.call('ZREMRANGEBYSCORE', index, '-inf', s(now))
index_put(index, id, key_deadline(rec), now)
local out = { 'ok', now }
local max = tonumber(ARGV[3])
if max > 0 then
  local live = {}
  for _, m in ipairs(redis.call('ZRANGE', index, 0, -1)) do
    if m ~= id then
      local r = load_here(prefix .. m)
      if r and key_deadline(r) > now and not outdated(r, gen) then live[#live + 1] = { m, r.c, r.h }
      else drop(prefix, index, m, now, cluster) end
    end
  end
  if #live + 1 > max then
    table.sort(live, function(x, y) if x[2] ~= y[2] then return x[2] < y[2] end return x[1] < y[1] end)
    for k = 1, #live + 1 - max do
      drop(prefix, index, live[k][1], now)
      out[#out + 1] = live[k][3]
    end
  end
end
return out
