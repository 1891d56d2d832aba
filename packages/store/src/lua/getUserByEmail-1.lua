--[[
  Loads a user by email in one round trip.

  KEYS[1] email index   <prefix>{users}:email:<lower-case email>
  ARGV[1] user hash key prefix  <prefix>{users}:u:
          (the user hash shares the {users} tag, so it lives in KEYS[1]'s slot)

  Returns the user hash as a flat field/value array, or an empty array when unknown.
]]
local username = redis.call('GET', KEYS[1])
if not username then
  return {}
end
return redis.call('HGETALL', ARGV[1] .. username)
