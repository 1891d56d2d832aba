--[[
  Takes a login family out of its user's sessions (trackFamily-2.lua describes both keys) once
  its revocation has emptied it. A family a racing rotation has added to since is left for that
  rotation, which finds the family revoked and revokes its own tokens through the same steps.

  KEYS[1] the user's sessions   <prefix>us:{u<id>}
  KEYS[2] the family's tokens   <prefix>ft:{u<id>}:<family>
  ARGV[1] family (as the record stores it)

  Returns 1 when taken out, 0 when the family holds tokens again
]]
if redis.call('EXISTS', KEYS[2]) == 1 then
  return 0
end
redis.call('ZREM', KEYS[1], ARGV[1])
return 1
