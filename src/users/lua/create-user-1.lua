-- Creates a user record only if the name is free (no blind write over an account).
-- KEYS[1] user record key (keys.user(username))
-- ARGV[1] routing tag, ARGV[2] createdAt (ms), ARGV[3] argon2id PHC string
-- Returns 1 when created, 0 when the name is taken.
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
redis.call('HSET', KEYS[1], 'tag', ARGV[1], 'created', ARGV[2], 'hash', ARGV[3])
return 1
