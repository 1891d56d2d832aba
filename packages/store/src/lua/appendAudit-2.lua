--[[
  Appends an event to the capped audit stream once, whatever the number of deliveries.

  KEYS[1] audit stream   <prefix>{audit}:stream
  KEYS[2] seen marker    <prefix>{audit}:seen:<event id>   (same slot)

  ARGV[1] event id
  ARGV[2] event JSON
  ARGV[3] approximate MAXLEN of the stream
  ARGV[4] how long the seen marker is kept, s

  Returns (AppendAudit in lua-codes.ts) 1 Appended, 0 AlreadyThere
]]
if redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[4]) == false then
  return 0
end
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], '*', 'id', ARGV[1], 'e', ARGV[2])
return 1
