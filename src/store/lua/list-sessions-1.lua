--[[ list-sessions-1: a user's live sessions (stale ones included), pruning dead entries.
KEYS[1] the user's session index
ARGV[1] now ms ('' = Redis TIME)   ARGV[2] session key prefix
Returns {now, {idHash, {HGETALL}}, …} ]]
local now = clock(ARGV[1])
local out = { now }
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local rec = load(ARGV[2] .. id)
  if rec and key_deadline(rec) > now then
    out[#out + 1] = { id, redis.call('HGETALL', ARGV[2] .. id) }
  else
    drop(ARGV[2], KEYS[1], id, now)
  end
end
return out
