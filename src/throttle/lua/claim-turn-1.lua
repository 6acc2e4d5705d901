-- Over the account limit: asks for the one attempt the current delay allows.
-- An address that has not had a turn yet and is refused reserves the next turn, so an
-- address polling the account cannot take every turn as it opens; each address
-- reserves once (the addresses that had a turn or a reservation are remembered, the
-- latest ARGV[5] of them).
-- KEYS[1] the account's turn record (hash): o = when the next turn opens (ms),
--         r = the address holding the reservation, u = until when it holds,
--         a:<address> = when that address had its turn or reservation
-- ARGV[1] now (ms), or '' for Redis TIME
-- ARGV[2] the address (a short hash of its /64 or IPv4 address)
-- ARGV[3] the delay to the turn after this one (ms); a reservation also holds this long
-- ARGV[4] how long the record is kept (ms): as long as the account counter
-- ARGV[5] how many addresses are remembered
-- Returns {1, 0} when this attempt has the turn, {0, ms to wait} when refused.
local key = KEYS[1]
local now = tonumber(ARGV[1])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local addr, delay, keep, remember = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])

local f = redis.call('HMGET', key, 'o', 'r', 'u')
local open = tonumber(f[1]) or 0
local holder, holds = f[2], tonumber(f[3]) or 0
if holder and holds <= now then holder = nil end

local function remembered()
  -- Keep the latest `remember` addresses: drop the oldest beyond that.
  local all = redis.call('HGETALL', key)
  local marks = {}
  for i = 1, #all, 2 do
    if string.sub(all[i], 1, 2) == 'a:' then marks[#marks + 1] = {all[i], tonumber(all[i + 1])} end
  end
  if #marks <= remember then return end
  table.sort(marks, function(a, b) return a[2] < b[2] end)
  for i = 1, #marks - remember do redis.call('HDEL', key, marks[i][1]) end
end

local function keepFor(untilMs)
  redis.call('PEXPIRE', key, math.max(keep, untilMs - now))
end

if now >= open and (not holder or holder == addr) then
  redis.call('HSET', key, 'o', now + delay, 'a:' .. addr, now)
  redis.call('HDEL', key, 'r', 'u')
  remembered()
  keepFor(now + delay)
  return {1, 0}
end

if not holder and now < open and redis.call('HEXISTS', key, 'a:' .. addr) == 0 then
  redis.call('HSET', key, 'r', addr, 'u', open + delay, 'a:' .. addr, now)
  remembered()
  keepFor(open + delay)
  return {0, open - now}
end

if holder == addr then return {0, math.max(1, open - now)} end
if holder then return {0, math.max(1, holds - now)} end
return {0, math.max(1, open - now)}
