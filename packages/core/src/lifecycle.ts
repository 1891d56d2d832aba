import { decodeBody } from './body.ts';
import type { Dialect } from './dialects/dialect.ts';
import { isUnavailable } from './errors.ts';
import { type TokenOwner, tokenRecord } from './login.ts';
import type { Outcome, TokenAction, TokenProblem } from './outcome.ts';
import { answerRoute } from './routes.ts';
import { type JwtSigner, mintToken, newJti, signSimpleJwt, type TokenLifetimes, UUID_V4, verifySimpleJwt } from './tokens.ts';
import type { DialectName, HttpAnswer, IssuedTokens, RawRequest, TokenGrant, TokenRecord, UserRecord } from './types.ts';

/** What the store knows of a presented token. */
export type TokenState =
  | { readonly state: 'live'; readonly record: TokenRecord }
  /** A refresh token already traded in: presenting it again means it leaked. */
  | { readonly state: 'used'; readonly record: TokenRecord }
  /** Present, but not of the kind the operation needs; left untouched. */
  | { readonly state: 'wrong_kind'; readonly record: TokenRecord }
  /** Gone, but known to have expired (not revoked). */
  | { readonly state: 'expired' }
  | { readonly state: 'unknown' };

/** Why a family or token is being revoked (for the audit trail). */
export type RevokeReason = 'reuse' | 'user_disabled' | 'client' | 'admin' | 'password_changed';

/** What the token operations need from the outside world. Implemented by the store. */
export interface TokenPorts {
  /** Reads a token's state without changing it. */
  lookup(token: string): Promise<TokenState>;
  /** Atomically marks a live refresh token used; returns its state before. */
  useRefresh(token: string): Promise<TokenState>;
  /** Atomically deletes a live access token (PEB renew); returns its state before. */
  consume(token: string): Promise<TokenState>;
  /** Revokes a login family of a user (the store indexes families by user). */
  revokeFamily(userId: number, family: string, reason: RevokeReason): Promise<void>;
  /** Whether a family was revoked (checked after new tokens joined it, to close the race). */
  isFamilyRevoked(family: string): Promise<boolean>;
  findUserById(id: number): Promise<UserRecord | null>;
  saveTokens(grants: readonly TokenGrant[], record: (grant: TokenGrant) => TokenRecord): Promise<void>;
  isBlacklisted(jti: string): Promise<boolean>;
  /** Records that tokens of a family were refreshed (the audit event). */
  recordRefresh(dialect: DialectName, userId: number, family: string): Promise<void>;
  /** Puts a SimpleJWT refresh token on the blacklist until its expiry and retires its record. */
  blacklist(token: string, jti: string, expiresAtMs: number): Promise<void>;
  now(): number;
  onError(err: unknown, context: string): void;
}

export interface TokenPolicy {
  readonly bodyLimit: number;
  readonly lifetimes: TokenLifetimes;
  readonly signer: JwtSigner;
  /** SimpleJWT ROTATE_REFRESH_TOKENS. */
  readonly rotateRefreshTokens: boolean;
  /** SimpleJWT BLACKLIST_AFTER_ROTATION. */
  readonly blacklistAfterRotation: boolean;
}

const invalid = (action: TokenAction, problem: TokenProblem): Outcome => ({ kind: 'token_invalid', action, problem });

/** Decides the outcome of one token operation. Never throws. */
export async function decideTokenAction(
  dialect: Dialect,
  action: TokenAction,
  req: RawRequest,
  ports: TokenPorts,
  policy: TokenPolicy,
): Promise<Outcome> {
  if (req.method !== 'POST') return { kind: 'method_not_allowed', method: req.method, allow: dialect.allow };
  const body = decodeBody(req.contentType, req.body, policy.bodyLimit);
  if (!body.ok) return { kind: 'malformed', problem: body.problem };
  const parsed = dialect.parseToken(action, body.fields);
  if (!parsed.ok) return { kind: 'malformed', problem: parsed.problem };
  try {
    if (dialect.name === 'simplejwt') return await simpleJwtAction(action, parsed.token, ports, policy);
    if (dialect.name === 'peb') return await pebAction(action, parsed.token, ports, policy);
    return await ministryRefresh(dialect, parsed.token, ports, policy);
  } catch (err) {
    if (isUnavailable(err)) return { kind: 'unavailable' };
    ports.onError(err, `${action}:${dialect.name}`);
    return { kind: 'internal_error' };
  }
}

/** Handles one token operation end to end. */
export async function handleTokenAction(
  dialect: Dialect,
  action: TokenAction,
  req: RawRequest,
  ports: TokenPorts,
  policy: TokenPolicy,
): Promise<HttpAnswer> {
  return (await answerRoute(dialect, action, req, () => decideTokenAction(dialect, action, req, ports, policy))).answer;
}

/** A live user for a token record, or null (and the family revoked) when the user is gone or disabled. */
async function liveUser(record: TokenRecord, ports: TokenPorts): Promise<UserRecord | null> {
  const user = await ports.findUserById(record.userId);
  if (user !== null && !user.disabled) return user;
  await ports.revokeFamily(record.userId, record.family, 'user_disabled');
  return null;
}

/**
 * Saves rotated tokens into their family, then makes sure the family was not revoked meanwhile
 * (reuse detected by a concurrent request): if it was, the new tokens die with it. Null then.
 */
async function issue(
  dialect: DialectName,
  owner: TokenOwner,
  family: string,
  ports: TokenPorts,
  grants: TokenGrant[],
): Promise<IssuedTokens | null> {
  await ports.saveTokens(grants, (g) => tokenRecord(g, dialect, owner, family));
  if (await ports.isFamilyRevoked(family)) {
    await ports.revokeFamily(owner.id, family, 'reuse');
    return null;
  }
  await ports.recordRefresh(dialect, owner.id, family);
  const [access, refresh] = grants as [TokenGrant, TokenGrant | undefined];
  return refresh === undefined ? { access, family } : { access, refresh, family };
}

/**
 * moh/nehr refresh: the refresh token is single-use. Trading it marks it used (atomically); a used
 * one presented again revokes every token of its login family.
 */
async function ministryRefresh(dialect: Dialect, token: string, ports: TokenPorts, policy: TokenPolicy): Promise<Outcome> {
  if (!UUID_V4.test(token)) return invalid('refresh', 'invalid');
  const st = await ports.useRefresh(token);
  if (st.state === 'used') {
    await ports.revokeFamily(st.record.userId, st.record.family, 'reuse');
    return invalid('refresh', 'reused');
  }
  if (st.state !== 'live') return invalid('refresh', st.state === 'wrong_kind' ? 'wrong_type' : 'invalid');
  if (st.record.dialect !== 'moh' && st.record.dialect !== 'nehr') return invalid('refresh', 'invalid');
  const user = await liveUser(st.record, ports);
  if (user === null) return invalid('refresh', 'invalid');
  const now = ports.now();
  const ctx = { now, userId: user.id, lifetimes: policy.lifetimes, signer: policy.signer };
  const grants = [await mintToken('uuid', 'access', ctx), await mintToken('uuid', 'refresh', ctx)];
  const tokens = await issue(dialect.name, user, st.record.family, ports, grants);
  return tokens === null ? invalid('refresh', 'reused') : { kind: 'refreshed', tokens, user, now };
}

/** PEB renew (the old token dies at once) and check. */
async function pebAction(action: TokenAction, token: string, ports: TokenPorts, policy: TokenPolicy): Promise<Outcome> {
  const st = action === 'check' ? await ports.lookup(token) : await ports.consume(token);
  if (st.state === 'expired') return invalid(action, 'expired');
  if (st.state !== 'live' || st.record.dialect !== 'peb') return invalid(action, 'invalid');
  const user = await liveUser(st.record, ports);
  if (user === null) return invalid(action, 'invalid');
  if (action === 'check') return { kind: 'checked', record: st.record, user };
  const now = ports.now();
  const grant = await mintToken('hex128', 'access', { now, userId: user.id, lifetimes: policy.lifetimes, signer: policy.signer });
  const tokens = await issue('peb', user, st.record.family, ports, [grant]);
  return tokens === null ? invalid(action, 'invalid') : { kind: 'refreshed', tokens, user, now };
}

/** SimpleJWT refresh, verify and blacklist, as djangorestframework-simplejwt 5.x does them. */
async function simpleJwtAction(action: TokenAction, token: string, ports: TokenPorts, policy: TokenPolicy): Promise<Outcome> {
  const now = ports.now();
  const claims = await verifySimpleJwt(policy.signer, token, now);
  if (claims === null) return invalid(action, 'invalid');
  if (action !== 'verify' && claims.token_type !== 'refresh') return invalid(action, 'wrong_type');
  // Refresh and blacklist always consult the blacklist; verify only with BLACKLIST_AFTER_ROTATION
  // (TokenVerifySerializer in 5.2).
  const checkBlacklist = claims.token_type === 'refresh' && (action !== 'verify' || policy.blacklistAfterRotation);
  const [blacklisted, st] = await Promise.all([checkBlacklist ? ports.isBlacklisted(claims.jti) : false, ports.lookup(token)]);
  if (blacklisted) return invalid(action, 'blacklisted');
  // Revoked (by a client, an admin or a disabled user) or rotated away: Tessera no longer vouches for it.
  if (st.state !== 'live' && st.state !== 'wrong_kind') return invalid(action, 'invalid');
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
  const tokens = await issue('simplejwt', owner, record.family, ports, grants);
  return tokens === null ? invalid(action, 'invalid') : { kind: 'refreshed', tokens, user: null, now };
}
