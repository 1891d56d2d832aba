--[[
  Trades in a refresh token: marks it used (single use) and keeps it until its expiry, so that a
  second presentation is recognised as reuse.

  KEYS[1] token key   <prefix>t:{tokenHash(token)}   value: record (record.ts), 'U' .. record once used
  ARGV[1] (one Redis only) the key prefix: the owner is read in the same step, from its account
          <prefix>{<tag>}:u:<username>, by the hash tag of its account shard that the record
          carries (its key is in another slot, so never on a cluster); not for a record without
          one (written before records carried it: the caller reads the owner)

  Returns (TokenScript in lua-codes.ts)
          {0, record}  Live: was live, now marked used
          {0, record, user field/value...}  Live, with ARGV[1] and the record's tag: and its owner's hash (empty: gone)
          {1, record}  Used already (reuse)
          {2, record}  WrongKind: not a refresh token (left untouched)
          {-1}         Unknown or expired
]]
local v = redis.call('GET', KEYS[1])
if not v then
  return {-1}
end
if string.sub(v, 1, 1) == 'U' then
  return {1, string.sub(v, 2)}
end
-- a record starts with its kind: 'r' refresh, 'a' access
if string.sub(v, 1, 1) ~= 'r' then
  return {2, v}
end
redis.call('SET', KEYS[1], 'U' .. v, 'KEEPTTL')
if not ARGV[1] then
  return {0, v}
end
-- the tag s<k>.<n> as '.' .. <k>.<n> at the end of the first field, and the fifth field, the
-- owner's username (record.ts)
local tag, username = string.match(v, '^[^.|]*%.([^|]*)|[^|]*|[^|]*|[^|]*|([^|]*)|')
if not username then
  return {0, v}
end
return {0, v, redis.call('HGETALL', ARGV[1] .. '{s' .. tag .. '}:u:' .. username)}
