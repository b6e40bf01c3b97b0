-- ARGV: claim id, unit, viewer, idempotency key, give the unit back (1/0), forget the key (1/0).
local claimId, unit, viewer, key = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
redis.call('ZREM', KEYS[5], claimId .. '|' .. ARGV[2] .. '|' .. viewer)
if redis.call('HGET', KEYS[3], viewer) == claimId then redis.call('HDEL', KEYS[3], viewer) end
if ARGV[6] == '1' and key ~= '' and redis.call('HGET', KEYS[4], key) == claimId then redis.call('HDEL', KEYS[4], key) end
if ARGV[5] == '1' and redis.call('EXISTS', KEYS[1]) == 1 then
  -- Units above issued are still in the counter's range: free already.
  local stock = redis.call('HMGET', KEYS[1], 'issued', 'expiresAt')
  if unit <= tonumber(stock[1]) then
    redis.call('SADD', KEYS[2], unit)
    redis.call('PEXPIREAT', KEYS[2], stock[2])
  end
end
return 1
