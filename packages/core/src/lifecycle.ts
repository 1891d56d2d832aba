import { decodeBody } from './body.ts';
import type { Dialect } from './dialects/dialect.ts';
import { isUnavailable } from './errors.ts';
import type { JwtSigner } from './jwt.ts';
import { type TokenOwner, tokenRecord } from './login.ts';
import type { Outcome, TokenAction, TokenProblem } from './outcome.ts';
import type { TokenLifetimes } from './tokens.ts';
import type { DialectName, IssuedTokens, RawRequest, TokenGrant, TokenRecord, UserRecord } from './types.ts';

/** What the store knows of a presented token. */
export type TokenState =
  /** `owner`: the token's user (null: gone) when the store read it in the same step; absent, it was not read. */
  | { readonly state: 'live'; readonly record: TokenRecord; readonly owner?: UserRecord | null }
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
  /**
   * The user of an id; `username`, the name a token record gives, lets the store read the account
   * at once (believed only when its id is `id`).
   */
  findUserById(id: number, username?: string): Promise<UserRecord | null>;
  /**
   * Saves a refresh's new tokens into their family and, unless the family was revoked meanwhile
   * (a reuse detected by a concurrent request), records the refresh (its audit event), in one
   * step where the store can. False when the family was revoked: the new tokens die with it.
   */
  saveRefreshed(
    grants: readonly TokenGrant[],
    record: (grant: TokenGrant) => TokenRecord,
    dialect: DialectName,
    userId: number,
    family: string,
  ): Promise<boolean>;
  isBlacklisted(jti: string): Promise<boolean>;
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

/** A refused token operation. */
export const tokenRefusal = (action: TokenAction, problem: TokenProblem): Outcome => ({ kind: 'token_invalid', action, problem });

/**
 * Decides the outcome of one token operation: the request read in the dialect's terms, then the
 * dialect's own token behaviour (`Dialect.decideToken`). Never throws.
 */
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
    return await dialect.decideToken(action, parsed.token, ports, policy);
  } catch (err) {
    if (isUnavailable(err)) return { kind: 'unavailable' };
    ports.onError(err, `${action}:${dialect.name}`);
    return { kind: 'internal_error' };
  }
}

/**
 * A live user for a token record, or null (and the family revoked) when the user is gone or
 * disabled. `known`: the owner as the store already read it (undefined: read it now).
 */
export async function liveOwner(record: TokenRecord, ports: TokenPorts, known?: UserRecord | null): Promise<UserRecord | null> {
  const user = known === undefined ? await ports.findUserById(record.userId, record.username) : known;
  if (user !== null && !user.disabled) return user;
  await ports.revokeFamily(record.userId, record.family, 'user_disabled');
  return null;
}

/**
 * Saves rotated tokens into their family, then makes sure the family was not revoked meanwhile
 * (reuse detected by a concurrent request): if it was, the new tokens die with it. Null then.
 */
export async function reissue(
  dialect: DialectName,
  owner: TokenOwner,
  family: string,
  ports: TokenPorts,
  grants: TokenGrant[],
): Promise<IssuedTokens | null> {
  if (!(await ports.saveRefreshed(grants, (g) => tokenRecord(g, dialect, owner, family), dialect, owner.id, family))) {
    await ports.revokeFamily(owner.id, family, 'reuse');
    return null;
  }
  const [access, refresh] = grants as [TokenGrant, TokenGrant | undefined];
  return refresh === undefined ? { access, family } : { access, refresh, family };
}
