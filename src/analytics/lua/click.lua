-- A tap on a pinned product's card: the pin named by its cue id, or else the product's pin showing
-- now, or else its newest pin (a replay). 0: no such pin; 1: a repeat tap; 2: the viewer's first.
local base, cueId, productId, viewer = KEYS[1], ARGV[1], ARGV[2], ARGV[3]
local keep, minute = tonumber(ARGV[4]), ARGV[5]
if cueId == '' then
  local current = redis.call('GET', base .. ':pin')
  if current and redis.call('HGET', base .. ':pin:' .. current, 'productId') == productId then cueId = current
  else cueId = redis.call('HGET', base .. ':latest-pin', productId) end
  if not cueId then return 0 end
end
local pinKey = base .. ':pin:' .. cueId
local pinned = redis.call('HGET', pinKey, 'productId')
if not pinned or (productId ~= '' and pinned ~= productId) then return 0 end
redis.call('HINCRBY', pinKey, 'taps', 1)
local first = redis.call('SADD', pinKey .. ':clickers', viewer)
redis.call('EXPIRE', pinKey .. ':clickers', keep)
local minuteKey = base .. ':' .. minute
redis.call('HINCRBY', minuteKey, 'taps', 1)
redis.call('EXPIRE', minuteKey, keep)
redis.call('ZADD', base .. ':minutes', minute, minute)
return first + 1
