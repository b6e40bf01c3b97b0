if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local stock = redis.call('HMGET', KEYS[1], 'quantity', 'issued')
return tonumber(stock[1]) - tonumber(stock[2]) + redis.call('SCARD', KEYS[2])
