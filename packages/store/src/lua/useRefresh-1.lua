--[[
  Trades in a refresh token: marks it used (single use) and keeps it until its expiry, so that a
  second presentation is recognised as reuse.

  KEYS[1] token key   <prefix>t:{tokenHash(token)}   value: record (record.ts), 'U' .. record once used
  ARGV[1] (one Redis only) the user hash prefix <prefix>{users}:u: : the owner is read in the same
          step (its key is in another slot, so never on a cluster)

  Returns (TokenScript in lua-codes.ts)
          {0, record}  Live: was live, now marked used
          {0, record, user field/value...}  Live, with ARGV[1]: and its owner's hash (empty: gone)
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
if ARGV[1] then
  -- the record's fifth field is its owner's username (record.ts)
  local username = string.match(v, '^[^|]*|[^|]*|[^|]*|[^|]*|([^|]*)|')
  if username then
    return {0, v, redis.call('HGETALL', ARGV[1] .. username)}
  end
end
return {0, v}
