-- Replaces a user's password hash only if it is still the one the caller verified
-- (compare-and-set): a login's rehash must not overwrite a password set meanwhile by
-- `user passwd` or a password change, which would make the old password work again.
-- A deleted user has no hash, so nothing is written back either.
-- KEYS[1] user record key
-- ARGV[1] the argon2 PHC string that was verified, ARGV[2] its replacement
-- Returns 1 when replaced, 0 when the hash changed or the user is gone.
if redis.call('HGET', KEYS[1], 'hash') ~= ARGV[1] then
  return 0
end
redis.call('HSET', KEYS[1], 'hash', ARGV[2])
return 1
