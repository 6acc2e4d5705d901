--[[ revoke-handle-1: revoke one session of a user by its handle (stable across rotations).
KEYS[1] the user's session index
ARGV[1] now ms ('' = Redis TIME)   ARGV[2] session key prefix   ARGV[3] handle suffix
ARGV[4] Redis Cluster '1'|'0'
Returns the number of live records revoked (0 or 1), or a TRYAGAIN error on Cluster
when the handle was not found here while a record of the user is moving. ]]
local n = revoke_handle(KEYS[1], ARGV[2], ARGV[3], clock(ARGV[1]), ARGV[4] == '1')
if not n then return try_again() end
return n
