--[[
  Admin unlock: forgets an identifier's failures and lock, with its lockout.released event.

  KEYS[1] lockout hash   <prefix>{users}:lk:<identifier>
  KEYS[2] lockout index  <prefix>{users}:lockouts
  KEYS[3] outbox stream  <prefix>{users}:outbox

  ARGV[1] identifier
  ARGV[2] lockout.released event JSON

  Returns 1 when there was something to clear, 0 otherwise (no event then)
]]
local existed = redis.call('DEL', KEYS[1]) + redis.call('ZREM', KEYS[2], ARGV[1])
if existed == 0 then
  return 0
end
redis.call('XADD', KEYS[3], '*', 'e', ARGV[2])
return 1
