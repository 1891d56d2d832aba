--[[
  Settles index entries claimed pending (claimIndex-n.lua) once their accounts' step is written:
  they no longer expire. Any number of entries of one slot (one account shard) in one call.

  KEYS[i] index entry   <shard>email:<email>  or  <shard>id:<id>

  Returns the number of entries settled
]]
local n = 0
for _, key in ipairs(KEYS) do
  n = n + redis.call('PERSIST', key)
end
return n
