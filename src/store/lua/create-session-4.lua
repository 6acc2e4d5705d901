--[[ create-session-4: store a fresh session, index it, enforce the per-user cap.
KEYS[1] record of the new ID   KEYS[2] the user's session index   KEYS[3] the user's epoch
KEYS[4] the user's revocation generation (records revoked by it do not count against the cap)
ARGV[1] now ms ('' = Redis TIME)   ARGV[2] expected epoch ('' = do not check)
ARGV[3] max sessions per user (0 = no cap)   ARGV[4] session key prefix   ARGV[5] idle ms
ARGV[6] absolute lifetime ms   ARGV[7] refreshable '1'|'0'   ARGV[8] Redis Cluster '1'|'0'
ARGV[9..] static fields (h, u, p, g, d as field/value pairs)
Returns {'ok', now, revoked handle…} | {'epoch', now} (the epoch moved: nothing created)
     | {'exists', now} (ID collision: nothing written) ]]
local now = clock(ARGV[1])
local index, prefix, cluster = KEYS[2], ARGV[4], ARGV[8] == '1'
if ARGV[2] ~= '' and tonumber(redis.call('GET', KEYS[3]) or '0') ~= tonumber(ARGV[2]) then
  return { 'epoch', now }
end
if redis.call('EXISTS', KEYS[1]) == 1 then return { 'exists', now } end
local gen = tonumber(redis.call('GET', KEYS[4]) or '0')
local rec = { l = now, i = tonumber(ARGV[5]), a = now + tonumber(ARGV[6]), r = ARGV[7] == '1', c = now }
local fields = { 'c', s(now), 'l', s(now), 'i', ARGV[5], 'a', s(rec.a), 'r', ARGV[7], 't', s(now) }
for i = 9, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', KEYS[1], unpack(fields))
expire_at(KEYS[1], key_deadline(rec), now)
local id = string.sub(KEYS[1], #prefix + 1)
redis.call('ZREMRANGEBYSCORE', index, '-inf', s(now))
index_put(index, id, key_deadline(rec), now)
local out = { 'ok', now }
local max = tonumber(ARGV[3])
if max > 0 then
  local live = {}
  for _, m in ipairs(redis.call('ZRANGE', index, 0, -1)) do
    if m ~= id then
      local r = load(prefix .. m)
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
