--[[ revoke-all-2: revoke every session of a user (logout everywhere, DESIGN §2.5).
The epoch bump makes a login that read the epoch before this call create nothing.
KEYS[1] the user's session index   KEYS[2] the user's epoch
ARGV[1] now ms ('' = Redis TIME)   ARGV[2] session key prefix   ARGV[3] handle suffix to keep ('' = none)
Returns {live sessions revoked, new epoch} ]]
local now = clock(ARGV[1])
local epoch = redis.call('INCR', KEYS[2])
local n = 0
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local rec = load(ARGV[2] .. id)
  if not (rec and rec.h == ARGV[3] and key_deadline(rec) > now) then
    n = n + drop(ARGV[2], KEYS[1], id, now)
  end
end
return { n, epoch }
