--[[
  Loads a user through one of its index keys (email or id) in one round trip.

  KEYS[1] index key   <prefix>{users}:email:<lower-case email>  or  <prefix>{users}:id:<id>
  ARGV[1] user hash key prefix  <prefix>{users}:u:   (same {users} slot as KEYS[1])

  Returns the user hash as a flat field/value array, or an empty array when unknown.
]]
local username = redis.call('GET', KEYS[1])
if not username then
  return {}
end
return redis.call('HGETALL', ARGV[1] .. username)
