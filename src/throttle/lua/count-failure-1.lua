-- Counts one failed attempt, or takes one back.
-- KEYS[1] the counter
-- ARGV[1] its lifetime (ms)
-- ARGV[2] 'fixed': the lifetime runs from the first failure and is never extended (a
--         window); 'sliding': every failure renews it (the account counter);
--         'undo': the attempt counted last proved right, take it back (TTL unchanged)
-- Returns {the count, this failure included; the counter's remaining lifetime (ms)}.
if ARGV[2] == 'undo' then
  local n = tonumber(redis.call('GET', KEYS[1]) or '0')
  if n > 0 then n = redis.call('DECR', KEYS[1]) end
  return {n, redis.call('PTTL', KEYS[1])}
end
local n = redis.call('INCR', KEYS[1])
if ARGV[2] == 'sliding' then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
else
  redis.call('PEXPIRE', KEYS[1], ARGV[1], 'NX')
end
return {n, redis.call('PTTL', KEYS[1])}
