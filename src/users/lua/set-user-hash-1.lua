-- Replaces a user's password hash only if the user still exists: a rehash racing a
-- `user delete` must not leave a half record behind.
-- KEYS[1] user record key
-- ARGV[1] argon2id PHC string
-- Returns 1 when replaced, 0 when there is no such user.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
redis.call('HSET', KEYS[1], 'hash', ARGV[1])
return 1
