--[[
  Adds a member to an index set and makes the set live at least until the member's expiry, in one
  atomic step, so the set never exists without an expiry.

  KEYS[1] set   <prefix>f:{family} (token hashes) or <prefix>uf:{u<id>} (families of a user)
  ARGV[1] member
  ARGV[2] expiry of the member, ms since epoch

  Returns 1
]]
redis.call('SADD', KEYS[1], ARGV[1])
local at = tonumber(ARGV[2])
if redis.call('PEXPIRETIME', KEYS[1]) < at then
  redis.call('PEXPIREAT', KEYS[1], at)
end
return 1
