--[[ revoke-all-3: revoke every session of a user (logout everywhere).
The generation bump is what makes this complete: validate refuses any record stamped
before it, wherever the record sits, so no session is missed when its record cannot be
reached through the index (a Redis Cluster slot in migration). The walk below then
frees what it can reach at once. The epoch bump makes a login that read the epoch
before this call create nothing.
KEYS[1] the user's session index   KEYS[2] the user's epoch   KEYS[3] the user's revocation generation
ARGV[1] now ms ('' = Redis TIME)   ARGV[2] session key prefix   ARGV[3] handle suffix to keep ('' = none)
ARGV[4] Redis Cluster '1'|'0'
Returns {live sessions revoked, new epoch} ]]
local now = clock(ARGV[1])
local epoch = redis.call('INCR', KEYS[2])
local gen = bump_generation(KEYS[3], now)
local n = 0
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local rec = load(ARGV[2] .. id)
  if rec and rec.h == ARGV[3] and key_deadline(rec) > now then
    redis.call('HSET', ARGV[2] .. id, 'v', s(gen))
  else
    n = n + drop(ARGV[2], KEYS[1], id, now, ARGV[4] == '1')
  end
end
return { n, epoch }
