--[[
  Trades in a refresh token: marks it used (single use) and keeps it until its expiry, so that a
  second presentation is recognised as reuse.

  KEYS[1] token key   <prefix>t:{tokenHash(token)}   value: record (record.ts), 'U' .. record once used
  ARGV[1] (one Redis only) the key prefix: the owner is read in the same step, from the record of
          its username in its account shard (its key is in another slot, so never on a cluster)
  ARGV[2]  (with ARGV[1]) the account shards' hash tags, in order (keys.ts shardTags), each padded
          with spaces to ARGV[3] characters (packedShardTags): the shard of a username is its slot
          (Redis Cluster's CRC16, as keys.ts shardOf) scaled to them
  ARGV[3]  (with ARGV[1]) the width of a tag in ARGV[2]

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
if not ARGV[1] then
  return {0, v}
end
-- the record's fifth field is its owner's username (record.ts)
local username = string.match(v, '^[^|]*|[^|]*|[^|]*|[^|]*|([^|]*)|')
if not username then
  return {0, v}
end

-- Redis Cluster's slot of a text: CRC16 (XMODEM) of its hash tag, or of the whole text; four bits
-- at a time by a table of 16 (a bit at a time cost 8 µs for a 10-byte name, this 3.4 µs)
local NIBBLE = {
  0x0000, 0x1021, 0x2042, 0x3063, 0x4084, 0x50a5, 0x60c6, 0x70e7,
  0x8108, 0x9129, 0xa14a, 0xb16b, 0xc18c, 0xd1ad, 0xe1ce, 0xf1ef,
}
local function slot(s)
  local open = string.find(s, '{', 1, true)
  if open then
    local close = string.find(s, '}', open + 1, true)
    if close and close > open + 1 then
      s = string.sub(s, open + 1, close - 1)
    end
  end
  local crc = 0
  for i = 1, #s do
    local b = string.byte(s, i)
    crc = bit.band(bit.bxor(bit.lshift(crc, 4), NIBBLE[bit.bxor(bit.rshift(crc, 12), bit.rshift(b, 4)) + 1]), 0xffff)
    crc = bit.band(bit.bxor(bit.lshift(crc, 4), NIBBLE[bit.bxor(bit.rshift(crc, 12), bit.band(b, 15)) + 1]), 0xffff)
  end
  return crc % 16384
end

local width = tonumber(ARGV[3])
local shard = math.floor(slot(username) * (#ARGV[2] / width) / 16384)
local tag = string.match(string.sub(ARGV[2], shard * width + 1, (shard + 1) * width), '^(%S+)')
return {0, v, redis.call('HGETALL', ARGV[1] .. '{' .. tag .. '}:u:' .. username)}
