--[[
  Moves the id sequence past ids kept by an import, so no block handed out later contains them,
  and gives the next ids: each item in turn (an import's rows, in the file's order, in one call).

  KEYS[1] id sequence   <prefix>{ids}:seq
  ARGV[i] an id to move past, or '' for the next id

  Returns per item the sequence's value after it (for '': the id given)
]]
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
local start, out = n, {}
for i, id in ipairs(ARGV) do
  if id == '' then
    n = n + 1
  elseif tonumber(id) > n then
    n = tonumber(id)
  end
  out[i] = n
end
if n ~= start then
  redis.call('SET', KEYS[1], string.format('%.0f', n))
end
return out
