--[[
  Admin unlock: forgets the failures and lock of each lock named (an account's, and the
  identifier's own that the operator typed), with one lockout.released event.

  KEYS[1] lockout index  <shard>lockouts   (<shard>: one account shard's prefix, keys.ts)
  KEYS[2] outbox stream  <shard>outbox

  ARGV[1] the shard's key prefix <prefix>{<tag>}: (lock hashes are lk:<lock>, same slot)
  ARGV[2] lockout.released event JSON ('' for none: the caller appends it once for locks cleared
          in several shards)
  ARGV[3..] lock names of this shard (a:<user id>, u:<username>, e:<email>)

  Returns (ClearLock in lua-codes.ts) 1 Cleared when there was something to clear, 0 NothingLocked
  otherwise (no event then)
]]
local existed = 0
for i = 3, #ARGV do
  existed = existed + redis.call('DEL', ARGV[1] .. 'lk:' .. ARGV[i]) + redis.call('ZREM', KEYS[1], ARGV[i])
end
if existed == 0 then
  return 0
end
if ARGV[2] ~= '' then
  redis.call('XADD', KEYS[2], '*', 'e', ARGV[2])
end
return 1
