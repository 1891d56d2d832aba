--[[
  Sets fields of an existing user hash; never creates one.

  KEYS[1] user hash   <shard>u:<username>
  ARGV    field, value pairs

  Returns (PatchUser in lua-codes.ts)
           1 Updated
          -1 NoSuchUser
]]
if redis.call('EXISTS', KEYS[1]) == 0 then
  return -1
end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
