-- A claim: counted in its minute, and for the pin showing now when it is the claimed product's.
local base, productId = KEYS[1], ARGV[1]
local now, keep, minute, count = tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[5] or '1')
local minuteKey = base .. ':' .. minute
redis.call('HINCRBY', minuteKey, 'claims', count)
redis.call('EXPIRE', minuteKey, keep)
redis.call('ZADD', base .. ':minutes', minute, minute)
local current = redis.call('GET', base .. ':pin')
if current then
  local pinKey = base .. ':pin:' .. current
  if redis.call('HGET', pinKey, 'productId') == productId then
    redis.call('HINCRBY', pinKey, 'claims', count)
    redis.call('HSETNX', pinKey, 'firstClaimAt', now)
  end
end
return 1
