--[[
  Revokes one token in one step (one Redis only: its keys are in different slots; on a cluster
  tokens.ts takes the steps apart): deletes its record and its "expired" memory, and appends the
  revocation's event if it was live. The caller sends the announcement (PUBLISH) right behind it,
  in the same round trip, not from here: Redis writes the answers of a tick's clients newest first,
  so a PUBLISH inside the script would reach subscribers after this script's answer reaches the
  caller, who could then ask another ingress process before it heard (test/lifecycle/token-cache).

  KEYS[1] token key                <prefix>t:{tokenHash}
  KEYS[2] its "expired" memory      <prefix>x:{tokenHash}
  KEYS[3] outbox stream
  ARGV[1] the token.revoked event (JSON) of one live token

  Returns 1 if the token was live (its event appended), 0 if not (no event: the caller appends its own)
]]
local live = redis.call('DEL', KEYS[1])
redis.call('DEL', KEYS[2])
if live == 1 then
  redis.call('XADD', KEYS[3], '*', 'e', ARGV[1])
end
return live
