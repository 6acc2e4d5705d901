-- Adds a device cookie to its account's index and keeps the index to the newest ones.
-- KEYS[1] the account's device index (sorted set: device record id by expiry, ms)
-- ARGV[1] now (ms), or '' for Redis TIME
-- ARGV[2] the new device's record id
-- ARGV[3] its lifetime (ms)
-- ARGV[4] how many devices an account keeps
-- Returns the record ids dropped from the index (expired, or older than the newest
-- ARGV[4]): the caller deletes their records, which live in other slots.
local now = tonumber(ARGV[1])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local lifetime, keep = tonumber(ARGV[3]), tonumber(ARGV[4])
local expires = now + lifetime
-- Strictly after the newest, so "newest" is well defined within one millisecond.
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if last[2] and tonumber(last[2]) >= expires then expires = tonumber(last[2]) + 1 end
redis.call('ZADD', KEYS[1], expires, ARGV[2])

local dropped = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local extra = redis.call('ZCARD', KEYS[1]) - keep
if extra > 0 then
  for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, extra - 1)) do dropped[#dropped + 1] = id end
  redis.call('ZREMRANGEBYRANK', KEYS[1], 0, extra - 1)
end
redis.call('PEXPIRE', KEYS[1], expires - now)
return dropped
