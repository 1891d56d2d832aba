--[[
  Retires an access token that is being renewed (PEB): deleted at once, so the old value stops
  working the moment the new one exists.

  KEYS[1] token key   <prefix>t:{sha256(token)}

  Returns {0, record}  was live, now deleted
          {2, record}  not an access token (left untouched)
          {-1}         unknown or expired
]]
local v = redis.call('GET', KEYS[1])
if not v then
  return {-1}
end
if string.sub(v, 1, 16) ~= '{"kind":"access"' then
  return {2, v}
end
redis.call('DEL', KEYS[1])
return {0, v}
