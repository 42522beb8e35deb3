-- Applies one event to a user's counters, the Redis stand-in for ProfileGrid's behavior counters.
-- KEYS[1]: set of the user's event ids seen (dedupe); KEYS[2]: the user's profile hash.
-- ARGV: event id, type, occurred-at (epoch ms), device, channel, country, currency, revenue (purchases with a payload).
-- Times come as epoch milliseconds: ISO strings only compare correctly as text when every client writes one format.
if redis.call('SADD', KEYS[1], ARGV[1]) == 0 then
  return 0
end
local h = KEYS[2]
redis.call('HINCRBY', h, 'events', 1)
redis.call('HINCRBY', h, 'count:' .. ARGV[2], 1)
if ARGV[2] == 'purchase' and ARGV[7] ~= '' then
  redis.call('HINCRBY', h, 'orders', 1)
  redis.call('HINCRBYFLOAT', h, 'revenue:' .. ARGV[7], ARGV[8])
end
local at = tonumber(ARGV[3])
local seen = redis.call('HMGET', h, 'first_seen_ms', 'last_seen_ms')
local set = {}
if not seen[1] or at < tonumber(seen[1]) then
  set[#set + 1] = 'first_seen_ms'; set[#set + 1] = ARGV[3]
end
-- Last device, channel and country follow the latest event time, so late (out-of-order) events do not overwrite them.
if not seen[2] or at >= tonumber(seen[2]) then
  set[#set + 1] = 'last_seen_ms'; set[#set + 1] = ARGV[3]
  if ARGV[4] ~= '' then set[#set + 1] = 'last_device'; set[#set + 1] = ARGV[4] end
  if ARGV[5] ~= '' then set[#set + 1] = 'last_channel'; set[#set + 1] = ARGV[5] end
  if ARGV[6] ~= '' then set[#set + 1] = 'last_country'; set[#set + 1] = ARGV[6] end
end
if #set > 0 then
  redis.call('HSET', h, unpack(set))
end
return 1
