--[[
  Closes a refresh whose new tokens were just written (sent behind those writes, in the same
  pipeline): if its login family was revoked meanwhile (a reuse detected by a concurrent request),
  nothing; else the refresh's event is appended. One Redis only: the two keys are in different
  slots (on a cluster the check and the event are two steps, tokens.ts saveRefreshed).

  KEYS[1] the family's revoked mark   <prefix>fr:{<family>}
  KEYS[2] outbox stream               <shard>outbox (the outbox of the event's shard, tokens.ts)
  ARGV[1] the token.refreshed event JSON

  Returns (FamilyLive in lua-codes.ts)
          0  Revoked: the family was revoked; no event
          1  Live: the event was appended
]]
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
redis.call('XADD', KEYS[2], '*', 'e', ARGV[1])
return 1
