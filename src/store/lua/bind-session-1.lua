--[[ bind-session-1: bind a live session to a device public key (DBSC registration), once.
KEYS[1] the session record
ARGV[1] now ms ('' = Redis TIME)   ARGV[2] the public key (src/binding/proof.ts StoredKey)
Returns {'bound'|'already'|'gone', now}. 'already': another key is bound and stays (a
second registration never replaces the device's key); the same key again is 'bound' (a
call sent twice after a timeout finds its own work); 'gone': no live record.
The proof time starts now: the bound lifetime counts from the registration. ]]
local now = clock(ARGV[1])
local rec = load(KEYS[1])
if not rec or key_deadline(rec) <= now then return { 'gone', s(now) } end
local bound = redis.call('HGET', KEYS[1], F.boundKey)
if bound == ARGV[2] then return { 'bound', s(now) } end
if bound then return { 'already', s(now) } end
redis.call('HSET', KEYS[1], F.boundKey, ARGV[2], F.boundAt, s(now))
return { 'bound', s(now) }
