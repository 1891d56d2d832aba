import { reissue, type TokenPolicy, type TokenPorts, tokenRefusal } from '../lifecycle.ts';
import type { TokenOwner } from '../login.ts';
import type { Outcome, TokenAction } from '../outcome.ts';
import { mintToken, newJti, readSimpleJwt, type SimpleJwtClass, type SimpleJwtReading, signSimpleJwt, slideSimpleJwt } from '../tokens.ts';
import type { TokenGrant, TokenRecord } from '../types.ts';

/*
 * What the SimpleJWT views do with the token they are given (the dialect's `decideToken`): the
 * pair's refresh, verify and blacklist, and the sliding token's refresh, as
 * djangorestframework-simplejwt 5.2 does them. The views' wire form is simplejwt.ts.
 */

/**
 * The token a view was given, read as its token class reads it; or the refusal, in SimpleJWT's
 * order: RefreshToken and SlidingToken consult the blacklist before the claims
 * (BlacklistMixin.verify), verify's UntypedToken does not.
 */
async function readToken(
  action: TokenAction,
  as: SimpleJwtClass,
  token: string,
  ports: TokenPorts,
  policy: TokenPolicy,
): Promise<Extract<SimpleJwtReading, { ok: true }> | Outcome> {
  const reading = await readSimpleJwt(policy.signer, token, ports.now(), as);
  if (reading.ok) return reading;
  const { problem, refreshJti } = reading;
  if (as !== 'untyped' && refreshJti !== undefined && (await ports.isBlacklisted(refreshJti))) return tokenRefusal(action, 'blacklisted');
  if (problem !== 'no_refresh_exp' && problem !== 'refresh_expired') return tokenRefusal(action, problem);
  return { kind: 'token_invalid', action, problem, claim: policy.signer.rules.slidingRefreshExpClaim };
}

/** SimpleJWT refresh, verify and blacklist, as djangorestframework-simplejwt 5.x does them. */
export async function simpleJwtToken(action: TokenAction, token: string, ports: TokenPorts, policy: TokenPolicy): Promise<Outcome> {
  const now = ports.now();
  const read = await readToken(action, action === 'verify' ? 'untyped' : 'refresh', token, ports, policy);
  if (!('ok' in read)) return read;
  const { claims } = read;
  // Refresh and blacklist always consult the blacklist; verify only with BLACKLIST_AFTER_ROTATION
  // (TokenVerifySerializer in 5.2).
  const checkBlacklist = claims.token_type === 'refresh' && (action !== 'verify' || policy.blacklistAfterRotation);
  const [blacklisted, st] = await Promise.all([checkBlacklist ? ports.isBlacklisted(claims.jti) : false, ports.lookup(token)]);
  if (blacklisted) return tokenRefusal(action, 'blacklisted');
  // Revoked (by a client, an admin or a disabled user) or rotated away: Tessera no longer vouches for it.
  if (st.state !== 'live' && st.state !== 'wrong_kind') return tokenRefusal(action, 'invalid');
  if (action === 'verify') return { kind: 'verified' };
  if (action === 'blacklist') {
    await ports.blacklist(token, claims.jti, claims.exp * 1000);
    return { kind: 'verified' };
  }
  const record = (st as { record: TokenRecord }).record;
  // RefreshToken.access_token: a new access token that copies the refresh token's claims but
  // token_type, exp and jti — so `iat` stays the refresh token's.
  const exp = Math.floor(now / 1000) + policy.lifetimes.jwtAccess;
  const accessJti = newJti();
  const access: TokenGrant = {
    value: await signSimpleJwt(policy.signer, 'access', claims.user_id, claims.iat, exp, accessJti),
    kind: 'access',
    format: 'jwt',
    lifetime: policy.lifetimes.jwtAccess,
    issuedAt: claims.iat * 1000,
    expiresAt: exp * 1000,
    jti: accessJti,
  };
  const grants: TokenGrant[] = [access];
  if (policy.rotateRefreshTokens) {
    grants.push(await mintToken('jwt', 'refresh', { now, userId: claims.user_id, lifetimes: policy.lifetimes, signer: policy.signer }));
    if (policy.blacklistAfterRotation) await ports.blacklist(token, claims.jti, claims.exp * 1000);
  }
  // SimpleJWT's refresh does not load the user; the refresh token's record names the owner.
  const owner: TokenOwner = { id: record.userId, username: record.username, scopes: record.scopes };
  const tokens = await reissue('simplejwt', owner, record.family, ports, grants);
  return tokens === null ? tokenRefusal(action, 'invalid') : { kind: 'refreshed', tokens, user: null, now };
}

/**
 * TokenRefreshSlidingView: the sliding token again with a new `exp` and `iat` (the same claims
 * else, `jti` and refresh_exp included), saved in its login family. The token presented stays
 * valid until its own `exp`, as SimpleJWT leaves it; Tessera only slides a token it issued and has
 * not revoked. SimpleJWT consults its blacklist for a sliding token too; Tessera's holds refresh
 * tokens only (no view blacklists a sliding token), so it is not asked.
 */
export async function slidingRefresh(token: string, ports: TokenPorts, policy: TokenPolicy): Promise<Outcome> {
  const now = ports.now();
  const read = await readToken('refresh', 'sliding', token, ports, policy);
  if (!('ok' in read)) return read;
  const st = await ports.lookup(token);
  if (st.state !== 'live') return tokenRefusal('refresh', 'invalid');
  const { record } = st;
  const grant = await slideSimpleJwt(policy.signer, read.payload, now, policy.lifetimes.jwtSliding);
  // slid within the second it was signed: the same claims, the same token, stored already
  if (grant.value === token) return { kind: 'refreshed', tokens: { access: grant, family: record.family }, user: null, now };
  const owner: TokenOwner = { id: record.userId, username: record.username, scopes: record.scopes };
  const tokens = await reissue('simplejwt', owner, record.family, ports, [grant]);
  return tokens === null ? tokenRefusal('refresh', 'invalid') : { kind: 'refreshed', tokens, user: null, now };
}
