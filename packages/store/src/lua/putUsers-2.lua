--[[
  Writes the records of users of one account shard, and the events that record them, in one step:
  creates (with the id given), or in 'update' mode replaces an existing user's record (import
  --on-conflict update). A dry run decides the same way and writes nothing. Users are taken in
  order, so a later one sees an earlier one. The users' email and id index entries are in other
  slots: the caller claims them before (claimIndex-n.lua) and releases a claim this script refuses
  (user-batch.ts says the order and what a crash between the steps leaves). A batch is kept small.
  On one Redis a new account's entries can be written in this same step instead (given per user):
  when both are free it is written with them, and no claim is needed; else nothing is written for
  it and the caller goes the steps.

  KEYS[1] outbox stream    <shard>outbox   (<shard>: the account shard's prefix, keys.ts)
  KEYS[2] revocations due  <shard>revoke   field user id, value reason: an update that changed a
          password or disabled a user leaves one, in this same step, until the caller has revoked
          the user's tokens (so a crash in between cannot forget it)

  ARGV[1] 'create' (an existing username is refused) or 'update' (an existing user is replaced)
  ARGV[2] '1': dry run
  ARGV[3] the shard's key prefix <prefix>{<tag>}:  (u:<username>)
  ARGV[4] event JSON to append ('' for none), once for the users created and once for those
          updated, with "count"; with ARGV[5] '1' (the caller's whole call is one user) also its
          "userId", and "outcome" (created or updated). Nothing is appended for users unchanged or
          refused.
  ARGV[5] '1': the call is of one user
  ARGV[6..] per user: username, id (the existing user's for an update; for a creation the id
          claimed, '0' in a dry run), its id's and its email's index entry to write with a new
          account ('' '' when the caller claimed them; '' for no email; one Redis only, never in a
          dry run), the number n of field/value items, then those n items (the
          record without id; it is replaced whole, but for a `lastLogin` (ms) stored later than
          the one given, or stored where none is given: a login recorded here is newer than the
          data imported)

  Returns per user, flat: code, id, flags; code (PutUser in lua-codes.ts):
          1 Created   2 Updated   0 Unchanged (same data)
          -1 UsernameTaken ('create'; id: the existing user's)
          -4 IdMismatch: 'update' of a user whose id is another than the one given (id: the existing one)
          -6 Unclaimed: entries given, but the account exists ('update') or an entry is there
             (anyone's, claimed or settled): nothing written (id 0); the caller goes the steps
  flags (updates only; PutUserFlag): 1 PasswordChanged, 2 Disabled (the user became so): their tokens
  must go, as with `users passwd` and `users disable`.
]]
local mode, dry, prefix = ARGV[1], ARGV[2] == '1', ARGV[3]
local out = {}
local written = {created = {}, updated = {}}

local function field(fields, name)
  for i = 1, #fields, 2 do
    if fields[i] == name then
      return fields[i + 1]
    end
  end
  return nil
end

-- sets a field of the list, in place or at its end
local function setField(fields, name, value)
  for i = 1, #fields, 2 do
    if fields[i] == name then
      fields[i + 1] = value
      return
    end
  end
  fields[#fields + 1] = name
  fields[#fields + 1] = value
end

local function put(username, id, idEntry, emailEntry, fields)
  local key = prefix .. 'u:' .. username
  local existing = redis.call('HGET', key, 'id')
  if existing and mode == 'create' then
    return -1, tonumber(existing), 0
  end
  if idEntry ~= '' then
    if existing or redis.call('EXISTS', idEntry) == 1 or (emailEntry ~= '' and redis.call('EXISTS', emailEntry) == 1) then
      return -6, 0, 0
    end
    redis.call('SET', idEntry, username)
    if emailEntry ~= '' then
      redis.call('SET', emailEntry, username)
    end
  end
  if existing and id ~= existing then
    return -4, tonumber(existing), 0
  end
  local flags = 0
  if existing then
    local stored = redis.call('HGET', key, 'lastLogin')
    local new = field(fields, 'lastLogin')
    if stored and (not new or tonumber(new) < tonumber(stored)) then
      setField(fields, 'lastLogin', stored)
    end
    local old = redis.call('HMGET', key, 'hash', 'disabled')
    if old[1] ~= field(fields, 'hash') then
      flags = flags + 1
    end
    if old[2] ~= '1' and field(fields, 'disabled') == '1' then
      flags = flags + 2
    end
    -- unchanged when the stored record is exactly the new one
    local whole = redis.call('HGETALL', key)
    if #whole == #fields + 2 then
      local want = {id = existing}
      for i = 1, #fields, 2 do
        want[fields[i]] = fields[i + 1]
      end
      local same = true
      for i = 1, #whole, 2 do
        if want[whole[i]] ~= whole[i + 1] then
          same = false
          break
        end
      end
      if same then
        return 0, tonumber(existing), 0
      end
    end
  end
  if dry then
    return existing and 2 or 1, tonumber(id), flags
  end
  if existing then
    redis.call('DEL', key)
  end
  redis.call('HSET', key, 'id', id, unpack(fields))
  return existing and 2 or 1, tonumber(id), flags
end

local i = 6
while i <= #ARGV do
  local n = tonumber(ARGV[i + 4])
  local fields = {}
  for j = 1, n do
    fields[j] = ARGV[i + 4 + j]
  end
  local code, id, flags = put(ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], fields)
  out[#out + 1] = code
  out[#out + 1] = id
  out[#out + 1] = flags
  if not dry and code == 1 then
    written.created[#written.created + 1] = id
  elseif not dry and code == 2 then
    written.updated[#written.updated + 1] = id
    if flags > 0 then
      redis.call('HSET', KEYS[2], id, flags >= 2 and 'user_disabled' or 'password_changed')
    end
  end
  i = i + 5 + n
end

if ARGV[4] ~= '' then
  for _, outcome in ipairs({'created', 'updated'}) do
    local ids = written[outcome]
    if #ids > 0 then
      local ev = cjson.decode(ARGV[4])
      ev['outcome'] = outcome
      ev['count'] = #ids
      if ARGV[5] == '1' then
        ev['userId'] = ids[1]
      end
      redis.call('XADD', KEYS[1], '*', 'e', cjson.encode(ev))
    end
  end
end
return out
