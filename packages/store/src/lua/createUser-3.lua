--[[
  Creates a user, atomically with its email and id index entries.
  All keys share the {users} hash tag, so this runs unchanged on Redis Cluster.

  KEYS[1] user hash          <prefix>{users}:u:<username>
  KEYS[2] email index        <prefix>{users}:email:<lower-case email>   (not touched when ARGV[1] is '0')
  KEYS[3] id index           <prefix>{users}:id:<id>

  ARGV[1] has email: '1' or '0'
  ARGV[2] username
  ARGV[3..] field, value pairs of the user hash

  Returns  1 created
          -1 username taken
          -2 email taken
]]
if redis.call('EXISTS', KEYS[1]) == 1 then
  return -1
end
if ARGV[1] == '1' then
  if redis.call('SET', KEYS[2], ARGV[2], 'NX') == false then
    return -2
  end
end
local fields = {}
for i = 3, #ARGV do
  fields[#fields + 1] = ARGV[i]
end
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('SET', KEYS[3], ARGV[2])
return 1
