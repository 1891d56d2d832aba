--[[
  Takes a login family out of its user's index (trackFamily-1.lua describes the index): returns
  the hashes of its tokens, concatenated (22 characters each), and forgets them.

  KEYS[1] the user's index   <prefix>uf:{u<id>}
  ARGV[1] family (as the record stores it)

  Returns the concatenated hashes; '' for a family the index does not hold
]]
local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v then
  return ''
end
redis.call('HDEL', KEYS[1], ARGV[1])
return string.sub(v, 8)
