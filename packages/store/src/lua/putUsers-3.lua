--[[
  Writes users, each atomically with its email and id index entries, and the events that record
  them, in one step: creates (with the id given, or the next one of the sequence), or in 'update'
  mode replaces an existing user's record (import --on-conflict update). A dry run decides the
  same way and writes nothing. Users are taken in order, so a later one sees an earlier one. All
  keys share the {users} hash tag (Redis Cluster: one slot); a batch is kept small (the importer
  sends 50 users a call, about half a millisecond) so that one call stays short.

  KEYS[1] id sequence      <prefix>{users}:seq
  KEYS[2] outbox stream    <prefix>{users}:outbox
  KEYS[3] revocations due  <prefix>{users}:revoke   field user id, value reason: an update that
          changed a password or disabled a user leaves one, in this same step, until the caller
          has revoked the user's tokens (so a crash in between cannot forget it)

  ARGV[1] 'create' (an existing username is refused) or 'update' (an existing user is replaced)
  ARGV[2] '1': dry run
  ARGV[3] prefix of the user keys <prefix>{users}:  (u:<username>, email:<email>, id:<n>: same slot)
  ARGV[4] event JSON to append ('' for none), once for the users created and once for those
          updated, with "count"; for a single user also its "userId", and "outcome" (created or
          updated). Nothing is appended for users unchanged or refused.
  ARGV[5..] per user: username, lower-case email ('' for none), id ('' for the next of the
          sequence), the number n of field/value items, then those n items (the record without
          id; it is replaced whole, but for a `lastLogin` (ms) stored later than the one given, or
          stored where none is given: a login recorded here is newer than the data imported)

  Returns per user, flat: code, id, flags; code (PutUser in lua-codes.ts):
          1 Created   2 Updated   0 Unchanged (same data)
          -1 UsernameTaken ('create'; id: the existing user's)
          -2 EmailTaken by another user (id 0)
          -3 IdTaken by another user (id 0)
          -4 IdMismatch: 'update' of a user whose id is another than the one given (id: the existing one)
          -5 IdsExhausted: no id left under 10^14 to give (nothing written)
  A dry run returns what it would do; an id it would take from the sequence shows as 0.
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

local function put(username, email, given, fields)
  local key = prefix .. 'u:' .. username
  local existing = redis.call('HGET', key, 'id')
  if existing and mode == 'create' then
    return -1, tonumber(existing), 0
  end
  if existing and given ~= '' and given ~= existing then
    return -4, tonumber(existing), 0
  end
  if email ~= '' then
    local owner = redis.call('GET', prefix .. 'email:' .. email)
    if owner and owner ~= username then
      return -2, 0, 0
    end
  end
  local id = existing or given
  if id ~= '' and not existing then
    local holder = redis.call('GET', prefix .. 'id:' .. id)
    if holder and holder ~= username then
      return -3, 0, 0
    end
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
  end
  if existing then
    -- unchanged when the stored record is exactly the new one
    local old = redis.call('HGETALL', key)
    if #old == #fields + 2 then
      local want = {id = existing}
      for i = 1, #fields, 2 do
        want[fields[i]] = fields[i + 1]
      end
      local same = true
      for i = 1, #old, 2 do
        if want[old[i]] ~= old[i + 1] then
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
    return existing and 2 or 1, tonumber(id ~= '' and id or '0'), flags
  end

  if id == '' then
    -- the next free id: ids kept by imports move the sequence past them, so this ends at once.
    -- Ids stay under 10^14: Lua writes larger numbers as 1e+14 (MAX_USER_ID in core).
    repeat
      local n = redis.call('INCR', KEYS[1])
      if n > 99999999999999 then
        return -5, 0, 0
      end
      id = string.format('%d', n)
    until redis.call('EXISTS', prefix .. 'id:' .. id) == 0
  elseif tonumber(id) > tonumber(redis.call('GET', KEYS[1]) or '0') then
    redis.call('SET', KEYS[1], id)
  end
  if existing then
    local oldEmail = redis.call('HGET', key, 'email')
    if oldEmail and oldEmail ~= email and redis.call('GET', prefix .. 'email:' .. oldEmail) == username then
      redis.call('DEL', prefix .. 'email:' .. oldEmail)
    end
    redis.call('DEL', key)
  end
  redis.call('HSET', key, 'id', id, unpack(fields))
  if email ~= '' then
    redis.call('SET', prefix .. 'email:' .. email, username)
  end
  redis.call('SET', prefix .. 'id:' .. id, username)
  return existing and 2 or 1, tonumber(id), flags
end

local users = 0
local i = 5
while i <= #ARGV do
  local n = tonumber(ARGV[i + 3])
  local fields = {}
  for j = 1, n do
    fields[j] = ARGV[i + 3 + j]
  end
  local code, id, flags = put(ARGV[i], ARGV[i + 1], ARGV[i + 2], fields)
  out[#out + 1] = code
  out[#out + 1] = id
  out[#out + 1] = flags
  if not dry and code == 1 then
    written.created[#written.created + 1] = id
  elseif not dry and code == 2 then
    written.updated[#written.updated + 1] = id
    if flags > 0 then
      redis.call('HSET', KEYS[3], id, flags >= 2 and 'user_disabled' or 'password_changed')
    end
  end
  users = users + 1
  i = i + 4 + n
end

if ARGV[4] ~= '' then
  for _, outcome in ipairs({'created', 'updated'}) do
    local ids = written[outcome]
    if #ids > 0 then
      local ev = cjson.decode(ARGV[4])
      ev['outcome'] = outcome
      ev['count'] = #ids
      if users == 1 then
        ev['userId'] = ids[1]
      end
      redis.call('XADD', KEYS[2], '*', 'e', cjson.encode(ev))
    end
  end
end
return out
