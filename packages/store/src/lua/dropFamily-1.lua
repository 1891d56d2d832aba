--[[
  Removes a login family from its user's index (trackFamily-1.lua describes the index), but only
  if its entry is still the one the revocation read: its tokens are deleted by then. An entry a
  racing rotation has grown since is left for that rotation, which finds the family revoked and
  revokes its own tokens through the same steps.

  KEYS[1] the user's index   <prefix>ui:{u<id>}
  ARGV[1] family (as the record stores it)
  ARGV[2] the entry as it was read

  Returns 1 when removed, 0 when the entry changed or is gone
]]
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  redis.call('HDEL', KEYS[1], ARGV[1])
  return 1
end
return 0
