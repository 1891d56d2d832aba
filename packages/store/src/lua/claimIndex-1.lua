--[[
  Claims an email or id index entry for an account (the first step of creating a user or changing
  its email: the entry is claimed in its own slot, then the account written in its own; see
  users.ts). A claim is pending until the account's step has been written: it lives ARGV[3] ms, so
  a claim whose account step never ran (a crash) goes by itself, and while it is pending no one
  takes it over. A settled entry (no expiry) that names an account whose record does not hold it
  was left by a step that never completed (an old email not yet released): the caller, having read
  that record, passes its username as stale, and the entry is taken over.

  KEYS[1] index entry   <shard>email:<email>  or  <shard>id:<id>   value: username
  ARGV[1] the claiming username
  ARGV[2] the holder found stale ('' for none)
  ARGV[3] how long a pending claim lives, ms

  A caller may take an entry as stale only when it read the holder's record after an answer
  that found the entry settled: a settled entry's account was written before it settled, so a
  record read afterwards that does not hold it no longer does. An entry already the account's is
  made pending again until the caller settles it, so no one takes it over meanwhile.

  Returns (ClaimIndex in lua-codes.ts)
          {1}                   Claimed (it was free or stale): pending until the caller settles it (PERSIST)
          {2}                   Ours already (pending again until settled)
          {0, holder, settled}  Held by another account; settled 1 when it has no expiry, 0 while pending
]]
local v = redis.call('GET', KEYS[1])
if v == ARGV[1] then
  if redis.call('PTTL', KEYS[1]) == -1 then
    redis.call('PEXPIRE', KEYS[1], ARGV[3])
  end
  return {2}
end
if not v or (v == ARGV[2] and redis.call('PTTL', KEYS[1]) == -1) then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
  return {1}
end
return {0, v, redis.call('PTTL', KEYS[1]) == -1 and 1 or 0}
