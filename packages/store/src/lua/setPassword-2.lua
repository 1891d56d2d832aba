--[[
  Replaces a user's password hash, with the event that records it, only if the stored hash is
  still the expected one: a rehash on login never overwrites a password changed meanwhile. Clears
  the pending-upstream mark (the user now has a password of their own).

  KEYS[1] user hash      <shard>u:<username>
  KEYS[2] outbox stream  <shard>outbox

  ARGV[1] the hash expected in place, '' for whatever is there (an admin's password change)
  ARGV[2] the new hash
  ARGV[3] event JSON to append ('' for none); Lua fills in "userId"

  Returns (SetPassword in lua-codes.ts)
           1 Replaced
           0 HashChanged: the stored hash is not the expected one (nothing written)
          -1 NoSuchUser
]]
local h = redis.call('HMGET', KEYS[1], 'id', 'hash')
if not h[1] then
  return -1
end
if ARGV[1] ~= '' and h[2] ~= ARGV[1] then
  return 0
end
redis.call('HSET', KEYS[1], 'hash', ARGV[2])
redis.call('HDEL', KEYS[1], 'pending')
if ARGV[3] ~= '' then
  local ev = cjson.decode(ARGV[3])
  ev['userId'] = tonumber(h[1])
  redis.call('XADD', KEYS[2], '*', 'e', cjson.encode(ev))
end
return 1
