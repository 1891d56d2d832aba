--[[
  Revokes one token in one step (one Redis only: its keys are in different slots; on a cluster
  tokens.ts takes the steps apart): deletes its record and its "expired" memory, announces it on
  the revocations channel, and appends the revocation's event if it was live.

  KEYS[1] token key                <prefix>t:{tokenHash}
  KEYS[2] its "expired" memory      <prefix>x:{tokenHash}
  KEYS[3] outbox stream
  ARGV[1] the revocations channel
  ARGV[2] the announcement (JSON, RevocationMessage in tokens.ts)
  ARGV[3] the token.revoked event (JSON) of one live token

  Returns 1 if the token was live (its event appended), 0 if not (no event: the caller appends its own)
]]
local live = redis.call('DEL', KEYS[1])
redis.call('DEL', KEYS[2])
redis.call('PUBLISH', ARGV[1], ARGV[2])
if live == 1 then
  redis.call('XADD', KEYS[3], '*', 'e', ARGV[3])
end
return live
