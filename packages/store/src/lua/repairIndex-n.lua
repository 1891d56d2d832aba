--[[
  Repairs the index entries of accounts that exist, found again by a write that skips or updates
  them (an import run again after a crash between its account step and its settle step,
  user-batch.ts): an entry that names its account is settled (no expiry), an absent one is written
  again, settled; one that names another account is left as it is. Any number of entries of one
  slot in one call.

  KEYS[i] index entry   <shard>email:<email>  or  <shard>id:<id>
  ARGV[i] the username of the account whose record holds KEYS[i]

  Returns the number of entries repaired
]]
local n = 0
for i, key in ipairs(KEYS) do
  local v = redis.call('GET', key)
  if v == ARGV[i] then
    n = n + redis.call('PERSIST', key)
  elseif not v then
    redis.call('SET', key, ARGV[i])
    n = n + 1
  end
end
return n
