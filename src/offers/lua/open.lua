-- ARGV: quantity, closed, endsAt, expiresAt, opensAt (epoch ms), then unit, viewer, claim id of every live claim.
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('DEL', KEYS[2], KEYS[3], KEYS[4], KEYS[5])
local held, top = {}, 0
for i = 6, #ARGV, 3 do
  local unit = tonumber(ARGV[i])
  held[unit] = true
  if unit > top then top = unit end
  redis.call('HSET', KEYS[3], ARGV[i + 1], ARGV[i + 2])
end
for unit = 1, top do
  if not held[unit] then redis.call('SADD', KEYS[2], unit) end
end
redis.call('HSET', KEYS[1], 'quantity', ARGV[1], 'issued', top, 'closed', ARGV[2], 'endsAt', ARGV[3], 'expiresAt', ARGV[4], 'opensAt', ARGV[5])
for i = 1, 3 do redis.call('PEXPIREAT', KEYS[i], ARGV[4]) end
return 1
