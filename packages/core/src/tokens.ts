import type { JWTPayload } from 'jose';
import type { IssuePlan } from './dialects/dialect.ts';
import type { JwtClaimRules, JwtSigner } from './jwt.ts';
import type { TokenFormat, TokenGrant, TokenKind } from './types.ts';

/** Lifetimes in whole seconds, per dialect family. */
export interface TokenLifetimes {
  /** moh and nehr access token (default 86400). */
  readonly ministryAccess: number;
  /** moh and nehr refresh token (default 2592000). */
  readonly ministryRefresh: number;
  /** SimpleJWT ACCESS_TOKEN_LIFETIME (default 300). */
  readonly jwtAccess: number;
  /** SimpleJWT REFRESH_TOKEN_LIFETIME (default 86400). */
  readonly jwtRefresh: number;
  /** SimpleJWT SLIDING_TOKEN_LIFETIME (default 300): a sliding token's `exp`, its record's TTL. */
  readonly jwtSliding: number;
  /** SimpleJWT SLIDING_TOKEN_REFRESH_LIFETIME (default 86400): its refresh_exp claim, from the login. */
  readonly jwtSlidingRefresh: number;
  /** PEB token (default 2592000, 30 days). */
  readonly peb: number;
}

export const DEFAULT_LIFETIMES: TokenLifetimes = Object.freeze({
  ministryAccess: 86_400,
  ministryRefresh: 2_592_000,
  jwtAccess: 300,
  jwtRefresh: 86_400,
  jwtSliding: 300,
  jwtSlidingRefresh: 86_400,
  peb: 2_592_000,
});

export const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
export const HEX128 = /^[0-9a-f]{128}$/;

/** A UUID v4 from the platform's CSPRNG. */
export function newUuid(): string {
  return crypto.randomUUID();
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += HEX[b];
  return s;
}

/** 64 random bytes as 128 lowercase hex characters (PEB tokens). */
export function newHex128(): string {
  return toHex(crypto.getRandomValues(new Uint8Array(64)));
}

/** SimpleJWT's jti: `uuid4().hex`. */
export function newJti(): string {
  return crypto.randomUUID().replaceAll('-', '');
}

/**
 * Signs a SimpleJWT token with the signer's active key: claims in the library's order
 * (`token_type`, `exp`, `iat`, `jti`, a sliding token's `refresh_exp`, `user_id`, under their
 * configured names), then `aud` and `iss` where set, as SimpleJWT's TokenBackend.encode appends them.
 */
export function signSimpleJwt(
  signer: JwtSigner,
  kind: TokenKind,
  userId: number,
  iat: number,
  exp: number,
  jti: string,
  refreshExp?: number,
): Promise<string> {
  const r = signer.rules;
  const claims: Record<string, unknown> = { [r.tokenTypeClaim]: kind, exp, iat, [r.jtiClaim]: jti };
  if (refreshExp !== undefined) claims[r.slidingRefreshExpClaim] = refreshExp;
  claims[r.userIdClaim] = userId;
  return signer.sign(encodable(claims, r));
}

/** TokenBackend.encode: `aud` and `iss` of the settings, in place when the claims have them already. */
function encodable(claims: Record<string, unknown>, r: JwtClaimRules): Record<string, unknown> {
  if (r.audience !== undefined) claims.aud = r.audience;
  if (r.issuer !== undefined) claims.iss = r.issuer;
  return claims;
}

/**
 * A sliding token slid (TokenRefreshSlidingSerializer): the claims of the one presented, in their
 * order, with a new `exp` and `iat`; the same `jti` and refresh_exp.
 */
export async function slideSimpleJwt(signer: JwtSigner, payload: JWTPayload, nowMs: number, lifetime: number): Promise<TokenGrant> {
  const iat = Math.floor(nowMs / 1000);
  const claims = encodable({ ...payload, exp: iat + lifetime, iat }, signer.rules);
  const jti = claims[signer.rules.jtiClaim];
  return {
    value: await signer.sign(claims),
    kind: 'sliding',
    format: 'jwt',
    lifetime,
    issuedAt: iat * 1000,
    expiresAt: (iat + lifetime) * 1000,
    ...(typeof jti === 'string' ? { jti } : {}),
  };
}

export interface MintContext {
  readonly now: number;
  readonly userId: number;
  readonly lifetimes: TokenLifetimes;
  readonly signer: JwtSigner;
}

function lifetimeOf(format: TokenFormat, kind: TokenKind, l: TokenLifetimes): number {
  if (format === 'jwt') return kind === 'access' ? l.jwtAccess : kind === 'sliding' ? l.jwtSliding : l.jwtRefresh;
  if (format === 'hex128') return l.peb;
  return kind === 'access' ? l.ministryAccess : l.ministryRefresh;
}

/** Mints one token of the given format. JWTs carry the grant's own `iat`/`exp`/`jti`. */
export async function mintToken(format: TokenFormat, kind: TokenKind, ctx: MintContext): Promise<TokenGrant> {
  const lifetime = lifetimeOf(format, kind, ctx.lifetimes);
  // Token times are whole seconds, like JWT NumericDate; expiry is exactly `lifetime` after issue.
  const iat = Math.floor(ctx.now / 1000);
  const issuedAt = iat * 1000;
  const expiresAt = issuedAt + lifetime * 1000;
  if (format === 'jwt') {
    const jti = newJti();
    const refreshExp = kind === 'sliding' ? iat + ctx.lifetimes.jwtSlidingRefresh : undefined;
    const value = await signSimpleJwt(ctx.signer, kind, ctx.userId, iat, iat + lifetime, jti, refreshExp);
    return { value, kind, format, lifetime, issuedAt, expiresAt, jti };
  }
  const value = format === 'uuid' ? newUuid() : newHex128();
  return { value, kind, format, lifetime, issuedAt, expiresAt };
}

/** Mints what a dialect's plan asks for, refresh first as SimpleJWT does. */
export async function mintPlan(plan: IssuePlan, ctx: MintContext): Promise<{ access: TokenGrant; refresh?: TokenGrant }> {
  const refresh = plan.refresh === undefined ? undefined : await mintToken(plan.refresh, 'refresh', ctx);
  const access = await mintToken(plan.access, plan.sliding === true ? 'sliding' : 'access', ctx);
  return refresh === undefined ? { access } : { access, refresh };
}

/** The claims Tessera reads from a SimpleJWT token. */
export interface SimpleJwtClaims {
  readonly token_type: string;
  readonly exp: number;
  readonly iat: number;
  readonly jti: string;
  readonly user_id: number;
}

/** The claims Tessera relies on, under their configured names; null when one is missing or of another type. */
function claimsOf(payload: JWTPayload, r: JwtClaimRules): SimpleJwtClaims | null {
  const { exp, iat } = payload;
  const token_type = payload[r.tokenTypeClaim];
  const jti = payload[r.jtiClaim];
  const user_id = payload[r.userIdClaim];
  if (typeof token_type !== 'string' || typeof exp !== 'number' || typeof jti !== 'string' || typeof user_id !== 'number') return null;
  return { token_type, exp, iat: typeof iat === 'number' ? iat : exp, jti, user_id };
}

/**
 * Verifies a SimpleJWT token as the library does with the signer's settings: signature by one of
 * its keys, `exp` within the leeway, audience and issuer where set, and the claims Tessera relies
 * on (under their configured names). Null for anything else; never throws.
 */
export async function verifySimpleJwt(signer: JwtSigner, token: string, nowMs: number): Promise<SimpleJwtClaims | null> {
  const payload = await signer.verify(token, nowMs);
  return payload === null ? null : claimsOf(payload, signer.rules);
}

/** The token class a SimpleJWT view reads its token with: RefreshToken, SlidingToken, or UntypedToken (verify). */
export type SimpleJwtClass = 'refresh' | 'sliding' | 'untyped';

/**
 * Why SimpleJWT's token class refuses a token that decoded, in the order Token.verify checks:
 * no `exp`, no id (the JTI_CLAIM), no type, another type (TOKEN_TYPE_CLAIM; not for UntypedToken);
 * then for a sliding refresh, no refresh_exp claim, or one passed.
 */
export type SimpleJwtClaimProblem = 'no_exp' | 'no_id' | 'no_type' | 'wrong_type' | 'no_refresh_exp' | 'refresh_expired';

export type SimpleJwtReading =
  | { readonly ok: true; readonly claims: SimpleJwtClaims; readonly payload: JWTPayload }
  | {
      readonly ok: false;
      /** `invalid`: no valid signature, expired, or not a token Tessera could have issued. */
      readonly problem: 'invalid' | SimpleJwtClaimProblem;
      /**
       * The id of a refresh token refused for its claims: SimpleJWT consults its blacklist before
       * the claims (BlacklistMixin.verify), and Tessera's holds refresh tokens only.
       */
      readonly refreshJti?: string;
    };

/**
 * Reads a token as a SimpleJWT view does (decode, then Token.verify of its token class), saying
 * why it refuses one in SimpleJWT's terms; the claims Tessera relies on otherwise. Never throws.
 */
export async function readSimpleJwt(signer: JwtSigner, token: string, nowMs: number, as: SimpleJwtClass): Promise<SimpleJwtReading> {
  // PyJWT checks an `exp` that is there; Token.verify says when there is none
  const payload = await signer.verify(token, nowMs, { requireExp: false });
  if (payload === null) return { ok: false, problem: 'invalid' };
  const r = signer.rules;
  const has = (claim: string) => Object.hasOwn(payload, claim);
  const type = payload[r.tokenTypeClaim];
  const jti = payload[r.jtiClaim];
  const refuse = (problem: 'invalid' | SimpleJwtClaimProblem): SimpleJwtReading =>
    type === 'refresh' && typeof jti === 'string' ? { ok: false, problem, refreshJti: jti } : { ok: false, problem };
  if (!has('exp')) return refuse('no_exp');
  if (!has(r.jtiClaim)) return refuse('no_id');
  if (as !== 'untyped') {
    if (!has(r.tokenTypeClaim)) return refuse('no_type');
    if (type !== as) return refuse('wrong_type');
  }
  if (as === 'sliding') {
    // TokenRefreshSlidingSerializer: check_exp(SLIDING_TOKEN_REFRESH_EXP_CLAIM), to the microsecond
    // (SimpleJWT fails with a TypeError, a 500, on a value that is no number: Tessera never issues one)
    const refreshExp = payload[r.slidingRefreshExpClaim];
    if (refreshExp === undefined) return refuse('no_refresh_exp');
    if (typeof refreshExp !== 'number') return refuse('invalid');
    if (refreshExp * 1000 <= nowMs - r.leeway * 1000) return refuse('refresh_expired');
  }
  const claims = claimsOf(payload, r);
  return claims === null ? refuse('invalid') : { ok: true, claims, payload };
}
