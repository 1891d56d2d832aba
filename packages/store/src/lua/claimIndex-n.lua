--[[
  Claims an email or id index entry for an account (the first step of creating a user or changing
  its email: the entry is claimed in its own slot, then the account written in its own; see
  user-batch.ts). A claim is pending until the account's step has been written: it lives ARGV[3] ms, so
  a claim whose account step never ran (a crash) goes by itself, and while it is pending no one
  takes it over. A settled entry (no expiry) that names an account whose record does not hold it
  was left by a step that never completed (an old email not yet released): the caller, having read
  that record, passes its username as stale, and the entry is taken over.

  Any number of entries of one slot (one account shard) in one call, each decided in turn as if
  claimed alone (an entry named twice: the second sees the first's claim).

  KEYS[i] index entry   <shard>email:<email>  or  <shard>id:<id>   value: username
  ARGV[1] how long a pending claim lives, ms
  ARGV[2i], ARGV[2i+1]  for KEYS[i]: the claiming username, the holder found stale ('' for none)

  A caller may take an entry as stale only when it read the holder's record after an answer
  that found the entry settled: a settled entry's account was written before it settled, so a
  record read afterwards that does not hold it no longer does. An entry already the account's is
  made pending again until the caller settles it, so no one takes it over meanwhile.

  Returns per entry, flat: code, holder, settled (ClaimIndex in lua-codes.ts)
          1, '', 0              Claimed (it was free or stale): pending until the caller settles it (settleIndex)
          2, '', 0              Ours already (pending again until settled)
          0, holder, settled    Held by another account; settled 1 when it has no expiry, 0 while pending
]]
local ms, out = ARGV[1], {}
local function answer(code, holder, settled)
  out[#out + 1] = code
  out[#out + 1] = holder
  out[#out + 1] = settled
end
for i, key in ipairs(KEYS) do
  local username, stale = ARGV[2 * i], ARGV[2 * i + 1]
  local v = redis.call('GET', key)
  if v == username then
    if redis.call('PTTL', key) == -1 then
      redis.call('PEXPIRE', key, ms)
    end
    answer(2, '', 0)
  elseif not v or (v == stale and redis.call('PTTL', key) == -1) then
    redis.call('SET', key, username, 'PX', ms)
    answer(1, '', 0)
  else
    answer(0, v, redis.call('PTTL', key) == -1 and 1 or 0)
  end
end
return out
