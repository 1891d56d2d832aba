--[[
  Releases an email or id index entry if it still names the account (a claim undone because the
  account's step failed, or an email the account no longer has).

  KEYS[1] index entry   <shard>email:<email>  or  <shard>id:<id>
  ARGV[1] username

  Returns 1 when released, 0 when the entry names another account or none
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
