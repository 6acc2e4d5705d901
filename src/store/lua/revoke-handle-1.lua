--[[ revoke-handle-1: revoke one session of a user by its handle (stable across rotations).
KEYS[1] the user's session index
ARGV[1] now ms ('' = Redis TIME)   ARGV[2] session key prefix   ARGV[3] handle suffix
Returns the number of live records revoked (0 or 1). ]]
return revoke_handle(KEYS[1], ARGV[2], ARGV[3], clock(ARGV[1]))
