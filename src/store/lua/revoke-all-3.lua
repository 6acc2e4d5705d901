--[[ revoke-all-3: revoke every session of a user (logout everywhere).
The generation bump is what makes this complete: validate refuses any record stamped
before it, wherever the record sits, so no session is missed when its record cannot be
reached through the index (a Redis Cluster slot in migration). The walk below then
frees what it can reach at once. The epoch bump makes a login that read the epoch
before this call create nothing.
KEYS[1] the user's session index   KEYS[2] the user's epoch   KEYS[3] the user's revocation generation
ARGV[1] now ms ('' = Redis TIME)   ARGV[2] session key prefix   ARGV[3] handle suffix to keep ('' = none)
ARGV[4] Redis Cluster '1'|'0'
Returns {live sessions revoked, new epoch}, or a TRYAGAIN error on Cluster (a session
to keep while some record is not on this node: nothing written) ]]
local now = clock(ARGV[1])
if ARGV[3] ~= '' and ARGV[4] == '1' then
  -- The session to keep must get its stamp: while a record is not on this node (the
  -- slot migrating), it may be that one, so nothing is written and the client retries.
  local members = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
  for k = 1, #members, 2 do
    local rec = load_here(ARGV[2] .. members[k])
    if rec == false or (not rec and tonumber(members[k + 1]) > now) then return try_again() end
  end
end
local epoch = bump_epoch(KEYS[2])
local gen = bump_generation(KEYS[3], now)
local n = 0
local members = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
for k = 1, #members, 2 do
  local id = members[k]
  local rec = load_here(ARGV[2] .. id)
  if rec and rec.h == ARGV[3] and key_deadline(rec) > now then
    redis.call('HSET', ARGV[2] .. id, F.generation, s(gen))
  elseif ARGV[4] == '1' and not rec and tonumber(members[k + 1]) > now then
    -- Cluster, the slot migrating: the record is on the other node. The generation ends
    -- it all the same (counted, so the answer says how many sessions ended); its entry
    -- stays for list-sessions to prune once the record is readable again.
    n = n + 1
  else
    n = n + drop(ARGV[2], KEYS[1], id, now, ARGV[4] == '1')
  end
end
return { n, epoch }
