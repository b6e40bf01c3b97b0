-- A product pinned, unpinned (ARGV[3]: only when it is the one pinned; '' for any) or the show ended.
-- Ending a pin credits each live viewer's exposure since its last beat; a new pin's audience starts
-- with everyone watching live at that moment.
local base, mode, cueId, productId = KEYS[1], ARGV[1], ARGV[2], ARGV[3]
local now, window, keep = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local current = redis.call('GET', base .. ':pin')
local function endCurrent()
  if not current then return end
  local pinKey = base .. ':pin:' .. current
  local since = tonumber(redis.call('HGET', pinKey, 'at')) or now
  local exposure = 0
  for _, p in ipairs({'webrtc', 'hls'}) do
    local entries = redis.call('ZRANGEBYSCORE', base .. ':beats:' .. p, now - window, '+inf', 'WITHSCORES')
    for i = 2, #entries, 2 do
      local from = math.max(tonumber(entries[i]), since)
      if now > from then exposure = exposure + (now - from) end
    end
  end
  if exposure > 0 then redis.call('HINCRBY', pinKey, 'exposureMs', exposure) end
  redis.call('HSET', pinKey, 'endedAt', now)
  redis.call('DEL', base .. ':pin')
  current = false
end
if mode == 'pin' then
  endCurrent()
  local pinKey = base .. ':pin:' .. cueId
  redis.call('HSET', pinKey, 'productId', productId, 'at', now)
  redis.call('EXPIRE', pinKey, keep)
  redis.call('SET', base .. ':pin', cueId, 'EX', keep)
  redis.call('ZADD', base .. ':pins', now, cueId)
  redis.call('EXPIRE', base .. ':pins', keep)
  redis.call('HSET', base .. ':latest-pin', productId, cueId)
  redis.call('EXPIRE', base .. ':latest-pin', keep)
  local audience = pinKey .. ':viewers'
  for _, p in ipairs({'webrtc', 'hls'}) do
    local watching = redis.call('ZRANGEBYSCORE', base .. ':beats:' .. p, now - window, '+inf')
    for i = 1, #watching, 1000 do
      redis.call('SADD', audience, unpack(watching, i, math.min(i + 999, #watching)))
    end
  end
  redis.call('EXPIRE', audience, keep)
elseif mode == 'unpin' then
  if current and (productId == '' or redis.call('HGET', base .. ':pin:' .. current, 'productId') == productId) then endCurrent() end
else
  endCurrent()
end
return 1
