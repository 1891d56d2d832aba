--[[
  Moves the id sequence past an id kept by an import, so no block handed out later contains it.

  KEYS[1] id sequence   <prefix>{ids}:seq
  ARGV[1] the id

  Returns the sequence's value
]]
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > n then
  redis.call('SET', KEYS[1], ARGV[1])
  return tonumber(ARGV[1])
end
return n
