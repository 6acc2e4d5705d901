-- The limit probe's whole session check: read the record and slide its TTL.
-- KEYS[1]  session record (hash)
-- ARGV[1]  idle window in ms
-- Returns  the record as a flat field/value array, or nil when absent.
local rec = redis.call('HGETALL', KEYS[1])
if #rec == 0 then return nil end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return rec
