--[[
  Removes a login family from its user's index of the earlier layout, but only if its entry is
  still the one the revocation read: its tokens are deleted by then.

    <prefix>ui:{u<id>}   hash   field: family (as the record stores it)
                                value: <expiry><hash><expiry><hash>...  one entry per token
      expiry  the token's expiry, seconds since epoch (rounded up), base 36, 7 characters
      hash    the token's hash (tokenHash: 22 characters)

  Nothing writes this index any more (indexTokens-1.lua replaced it); it expires with its latest
  token, and until then revocations read it too.

  KEYS[1] the user's index   <prefix>ui:{u<id>}
  ARGV[1] family (as the record stores it)
  ARGV[2] the entry as it was read

  Returns (DropLegacyFamily in lua-codes.ts) 1 Removed, 0 Changed when the entry changed or is gone
]]
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  redis.call('HDEL', KEYS[1], ARGV[1])
  return 1
end
return 0
