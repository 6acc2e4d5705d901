-- Counts one failed attempt.
-- KEYS[1] the counter
-- ARGV[1] its lifetime (ms)
-- ARGV[2] 'fixed': the lifetime runs from the first failure and is never extended (a
--         window); 'sliding': every failure renews it (the account counter)
-- Returns the count, this failure included.
local n = redis.call('INCR', KEYS[1])
if ARGV[2] == 'sliding' then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
else
  redis.call('PEXPIRE', KEYS[1], ARGV[1], 'NX')
end
return n
