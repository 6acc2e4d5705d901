--[[ list-sessions-2: a user's live sessions (stale ones included), pruning dead entries.
KEYS[1] the user's session index   KEYS[2] the user's revocation generation
ARGV[1] now ms ('' = Redis TIME)   ARGV[2] session key prefix   ARGV[3] Redis Cluster '1'|'0'
Returns {now, {idHash, {HGETALL}}, …}, or a TRYAGAIN error on Cluster when a member
whose deadline is ahead has no record on this node (it is moving: a listing without it
would hide a live session, and pruning its entry would lose it). ]]
local now = clock(ARGV[1])
local gen = tonumber(redis.call('GET', KEYS[2]) or '0')
local out = { now }
local members = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
for k = 1, #members, 2 do
  local id = members[k]
  local rec = load_here(ARGV[2] .. id)
  if rec and key_deadline(rec) > now and not outdated(rec, gen) then
    out[#out + 1] = { id, redis.call('HGETALL', ARGV[2] .. id) }
  elseif not rec and ARGV[3] == '1' and tonumber(members[k + 1]) > now then
    return try_again()
  elseif rec == false then
    redis.call('ZREM', KEYS[1], id) -- past its deadline: the record is gone wherever it was
  else
    drop(ARGV[2], KEYS[1], id, now)
  end
end
return out
