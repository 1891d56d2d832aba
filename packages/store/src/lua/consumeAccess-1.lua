--[[
  Retires an access token that is being renewed (PEB): deleted at once, so the old value stops
  working the moment the new one exists.

  KEYS[1] token key   <prefix>t:{tokenHash(token)}   value: record (record.ts)

  Returns (TokenScript in lua-codes.ts)
          {0, record}  Live: was live, now deleted
          {2, record}  WrongKind: not an access token (left untouched)
          {-1}         Unknown or expired
]]
local v = redis.call('GET', KEYS[1])
if not v then
  return {-1}
end
-- a record starts with its kind: 'a' access, 'r' refresh, 'U' a used refresh token
if string.sub(v, 1, 1) ~= 'a' then
  return {2, v}
end
redis.call('DEL', KEYS[1])
return {0, v}
