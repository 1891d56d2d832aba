--[[
  Reads the records of accounts of one slot (one account shard) in one call: a batch write's
  first look at its users (user-batch.ts), instead of one HGETALL each.

  KEYS[i] account record   <shard>u:<username>

  Returns per key its hash as HGETALL gives it, flat (empty: no such account)
]]
local out = {}
for i, key in ipairs(KEYS) do
  out[i] = redis.call('HGETALL', key)
end
return out
