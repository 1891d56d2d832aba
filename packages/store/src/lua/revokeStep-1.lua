--[[
  One step of a family's revocation (indexTokens-1.lua describes the index): takes out of the
  index the tokens the previous step read (their keys are deleted by then), and reads the next
  ones. A family emptied leaves the index; an index left with no family is deleted.

  KEYS[1] the user's token index   <prefix>ti:{u<id>}
  ARGV[1] family (as the record stores it)
  ARGV[2] how many token entries to read
  ARGV[3..] the token entries the previous step read (none on the first)

  Returns up to ARGV[2] of the family's token entries (seq .. exp .. kind .. tokenHash), oldest
  first; none once the family is gone
]]
local ALIASES = 1048576
local key, family = KEYS[1], ARGV[1]
if #ARGV > 2 then
  redis.call('ZREM', key, unpack(ARGV, 3))
end
local score = redis.call('ZSCORE', key, family)
if not score then
  return {}
end
local alias = tonumber(score) % ALIASES
local batch = redis.call('ZRANGE', key, alias, alias, 'BYSCORE', 'LIMIT', 0, tonumber(ARGV[2]))
if #batch == 0 then
  redis.call('ZREM', key, family)
  if redis.call('ZCOUNT', key, ALIASES, '+inf') == 0 then
    redis.call('DEL', key)
  end
end
return batch
