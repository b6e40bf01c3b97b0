-- One beat of one viewer: the time since its previous beat (when within the window) is watch time,
-- and exposure of the product pinned on the live paths; the viewer joins the pin's audience; the
-- minute's peak of concurrent viewers is kept. ARGV[7] = '1': the viewer leaves (WebRTC DELETE).
local base, path, viewer = KEYS[1], ARGV[1], ARGV[2]
local now, window, keep, minute = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6]
local leaving = ARGV[7] == '1'
local beats = base .. ':beats:' .. path
local prev = tonumber(redis.call('ZSCORE', beats, viewer))
local credited = 0
if prev and now > prev and now - prev <= window then credited = now - prev end
if leaving then
  redis.call('ZREM', beats, viewer)
else
  redis.call('ZADD', beats, now, viewer)
  redis.call('EXPIRE', beats, keep)
end
local minuteKey = base .. ':' .. minute
if credited > 0 then
  redis.call('HINCRBY', base .. ':watch', path, credited)
  redis.call('EXPIRE', base .. ':watch', keep)
  redis.call('HINCRBY', minuteKey, 'watchMs', credited)
end
if path ~= 'replay' then
  local pin = redis.call('GET', base .. ':pin')
  if pin then
    local pinKey = base .. ':pin:' .. pin
    if not leaving then
      redis.call('SADD', pinKey .. ':viewers', viewer)
      redis.call('EXPIRE', pinKey .. ':viewers', keep)
    end
    local since = tonumber(redis.call('HGET', pinKey, 'at')) or now
    local exposed = math.min(credited, now - since)
    if exposed > 0 then redis.call('HINCRBY', pinKey, 'exposureMs', exposed) end
  end
end
local total = 0
for _, p in ipairs({'webrtc', 'hls', 'replay'}) do
  local key = base .. ':beats:' .. p
  redis.call('ZREMRANGEBYSCORE', key, '-inf', '(' .. (now - window))
  total = total + redis.call('ZCARD', key)
end
if (tonumber(redis.call('HGET', minuteKey, 'peakViewers')) or 0) < total then
  redis.call('HSET', minuteKey, 'peakViewers', total)
end
redis.call('EXPIRE', minuteKey, keep)
redis.call('ZADD', base .. ':minutes', minute, minute)
redis.call('EXPIRE', base .. ':minutes', keep)
return credited
