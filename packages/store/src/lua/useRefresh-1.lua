--[[
  Trades in a refresh token: marks it used (single use) and keeps it until its expiry, so that a
  second presentation is recognised as reuse.

  KEYS[1] token key   <prefix>t:{tokenHash(token)}   value: record (record.ts), 'U' .. record once used

  Returns (TokenScript in lua-codes.ts)
          {0, record}  Live: was live, now marked used
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
return {0, v}
