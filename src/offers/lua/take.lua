if redis.call('EXISTS', KEYS[1]) == 0 then return {'missing'} end
local viewer, key, claimId, now = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
if key ~= '' then
  local byKey = redis.call('HGET', KEYS[4], key)
  if byKey then return {'held', byKey, 'key'} end
end
local byViewer = redis.call('HGET', KEYS[3], viewer)
if byViewer then return {'held', byViewer, 'viewer'} end
local stock = redis.call('HMGET', KEYS[1], 'quantity', 'issued', 'closed', 'endsAt', 'expiresAt', 'opensAt')
local endsAt = tonumber(stock[4])
if stock[3] == '1' or (endsAt > 0 and endsAt <= now) then return {'ended'} end
local opensAt = tonumber(stock[6]) or 0
if opensAt > now then return {'not_started', tostring(opensAt)} end
local quantity, issued = tonumber(stock[1]), tonumber(stock[2])
local unit = redis.call('SPOP', KEYS[2])
if not unit then
  if issued >= quantity then return {'sold_out'} end
  issued = issued + 1
  unit = issued
  redis.call('HSET', KEYS[1], 'issued', issued)
end
redis.call('HSET', KEYS[3], viewer, claimId)
if key ~= '' then redis.call('HSET', KEYS[4], key, claimId) end
redis.call('ZADD', KEYS[5], now, claimId .. '|' .. unit .. '|' .. viewer)
for i = 3, 5 do redis.call('PEXPIREAT', KEYS[i], stock[5]) end
return {'reserved', tostring(unit), tostring(quantity - issued + redis.call('SCARD', KEYS[2]))}
