--[[
  Counts a login attempt of one client address in the current rate window (its own slot, sent in
  the same round trip as beginLogin-3.lua).

  KEYS[1] rate counter   <prefix>rl:{<address>}
  ARGV[1] rate window, ms

  Returns {count in this window, ms left of the window}
]]
local c = redis.call('INCR', KEYS[1])
if c == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return {c, redis.call('PTTL', KEYS[1])}
