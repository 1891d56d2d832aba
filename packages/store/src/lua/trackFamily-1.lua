--[[
  Adds tokens to their login family in the user's index, in one atomic step:

    <prefix>ui:{u<id>}   hash   field: family (as the record stores it)
                                value: <expiry> <hash><hash>...
      expiry  the latest expiry of the family's tokens, seconds since epoch, base 36, 7 characters
      hash    a token hash (tokenHash: 22 characters)

  A small hash (<= 128 families, values <= 64 bytes: one login's two tokens) is one compact
  listpack. The index lives at least until its latest member's expiry. Families whose every token
  has expired are dropped (the one written, and any among 16 sampled at random), so an active
  user's index does not grow for ever.

  KEYS[1] the user's index
  ARGV[1] family
  ARGV[2] the new tokens' hashes, concatenated
  ARGV[3] the new tokens' latest expiry, 7 base-36 characters (seconds)

  Returns 1, or 0 when the tokens have already expired (nothing written)
]]
local now = tonumber(redis.call('TIME')[1])
local exp = ARGV[3]
if tonumber(exp, 36) <= now then
  return 0
end
local hashes = ARGV[2]
local old = redis.call('HGET', KEYS[1], ARGV[1])
if old and tonumber(string.sub(old, 1, 7), 36) > now then
  -- fixed width, lowercase base 36: the larger string is the later time
  if string.sub(old, 1, 7) > exp then
    exp = string.sub(old, 1, 7)
  end
  hashes = string.sub(old, 8) .. hashes
end
redis.call('HSET', KEYS[1], ARGV[1], exp .. hashes)
local sample = redis.call('HRANDFIELD', KEYS[1], 16, 'WITHVALUES')
for i = 1, #sample, 2 do
  if tonumber(string.sub(sample[i + 1], 1, 7), 36) <= now then
    redis.call('HDEL', KEYS[1], sample[i])
  end
end
local at = tonumber(exp, 36) * 1000
if redis.call('PEXPIRETIME', KEYS[1]) < at then
  redis.call('PEXPIREAT', KEYS[1], at)
end
return 1
