--[[
  Writes one user, atomically with its email and id index entries and the event that records it.
  Creates a user (with the id given, or the next one of the sequence), or in 'update' mode
  replaces an existing user's record (import --on-conflict update). A dry run decides the same
  way and writes nothing. All keys share the {users} hash tag (Redis Cluster: one slot).

  KEYS[1] user hash        <prefix>{users}:u:<username>
  KEYS[2] email index      <prefix>{users}:email:<lower-case email>  (not touched when ARGV[4] is '')
  KEYS[3] id sequence      <prefix>{users}:seq
  KEYS[4] outbox stream    <prefix>{users}:outbox

  ARGV[1] 'create' (an existing username is refused) or 'update' (an existing user is replaced)
  ARGV[2] '1': dry run
  ARGV[3] username
  ARGV[4] lower-case email, '' for none
  ARGV[5] id, '' to take the next of the sequence
  ARGV[6] prefix of the index keys <prefix>{users}:  (id:<n>, email:<email>: same slot)
  ARGV[7] event JSON to append ('' for none); Lua fills in "userId" and "outcome"
          (created or updated); nothing is appended when nothing changes
  ARGV[8..] field, value pairs of the user hash, without id (the record is replaced whole)

  Returns {1, id}  created            {2, id}  updated           {0, id}  unchanged (same data)
          {-1, id} username taken ('create')
          {-2, 0}  email taken by another user
          {-3, 0}  id taken by another user
          {-4, id} 'update' of a user whose id is another than the one given
  A dry run returns what it would do; an id it would take from the sequence shows as 0.
]]
local username, email, given, prefix = ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local dry = ARGV[2] == '1'

local existing = redis.call('HGET', KEYS[1], 'id')
if existing and ARGV[1] == 'create' then
  return {-1, tonumber(existing)}
end
if existing and given ~= '' and given ~= existing then
  return {-4, tonumber(existing)}
end
if email ~= '' then
  local owner = redis.call('GET', KEYS[2])
  if owner and owner ~= username then
    return {-2, 0}
  end
end
local id = existing or given
if id ~= '' and not existing then
  local holder = redis.call('GET', prefix .. 'id:' .. id)
  if holder and holder ~= username then
    return {-3, 0}
  end
end

local fields = {'id', '0'}
for i = 8, #ARGV do
  fields[#fields + 1] = ARGV[i]
end

if existing then
  -- unchanged when the stored record is exactly the new one
  local old = redis.call('HGETALL', KEYS[1])
  local same = #old == #fields
  if same then
    local want = {}
    for i = 3, #fields, 2 do
      want[fields[i]] = fields[i + 1]
    end
    want['id'] = existing
    for i = 1, #old, 2 do
      if want[old[i]] ~= old[i + 1] then
        same = false
        break
      end
    end
  end
  if same then
    return {0, tonumber(existing)}
  end
end
if dry then
  return {existing and 2 or 1, tonumber(id ~= '' and id or '0')}
end

if id == '' then
  -- the next free id: ids kept by imports move the sequence past them, so this ends at once
  repeat
    id = tostring(redis.call('INCR', KEYS[3]))
  until redis.call('EXISTS', prefix .. 'id:' .. id) == 0
elseif tonumber(id) > tonumber(redis.call('GET', KEYS[3]) or '0') then
  redis.call('SET', KEYS[3], id)
end
fields[2] = id

if existing then
  local oldEmail = redis.call('HGET', KEYS[1], 'email')
  if oldEmail and oldEmail ~= email and redis.call('GET', prefix .. 'email:' .. oldEmail) == username then
    redis.call('DEL', prefix .. 'email:' .. oldEmail)
  end
  redis.call('DEL', KEYS[1])
end
redis.call('HSET', KEYS[1], unpack(fields))
if email ~= '' then
  redis.call('SET', KEYS[2], username)
end
redis.call('SET', prefix .. 'id:' .. id, username)

local outcome = existing and 'updated' or 'created'
if ARGV[7] ~= '' then
  local ev = cjson.decode(ARGV[7])
  ev['userId'] = tonumber(id)
  ev['outcome'] = outcome
  redis.call('XADD', KEYS[4], '*', 'e', cjson.encode(ev))
end
return {existing and 2 or 1, tonumber(id)}
