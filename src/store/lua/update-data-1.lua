--[[ update-data-1: replace a session's app data only while the record is live (never a
blind HSET that would recreate a revoked record as a partial hash).
KEYS[1] the session record
ARGV[1] now ms ('' = Redis TIME)   ARGV[2] data JSON ('' = empty)
Returns 1 when written, 0 when the session is gone. ]]
local now = clock(ARGV[1])
local rec = load(KEYS[1])
if not rec or key_deadline(rec) <= now then return 0 end
if ARGV[2] == '' then redis.call('HDEL', KEYS[1], F.data) else redis.call('HSET', KEYS[1], F.data, ARGV[2]) end
return 1
