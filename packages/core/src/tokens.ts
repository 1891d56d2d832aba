import { jwtVerify, SignJWT } from 'jose';
import type { IssuePlan } from './dialects/dialect.ts';
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
  /** PEB token (default 2592000, 30 days). */
  readonly peb: number;
}

export const DEFAULT_LIFETIMES: TokenLifetimes = Object.freeze({
  ministryAccess: 86_400,
  ministryRefresh: 2_592_000,
  jwtAccess: 300,
  jwtRefresh: 86_400,
  peb: 2_592_000,
});

export const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
export const HEX128 = /^[0-9a-f]{128}$/;
export const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

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

/** HS256 signing key for SimpleJWT tokens. */
export interface JwtSigner {
  readonly key: Uint8Array;
  /**
   * HMAC-SHA256 of `data` under `key`, computed at once (e.g. node:crypto). Without it, tokens are
   * signed with WebCrypto, which Node runs on its libuv thread pool: a round trip through the pool
   * that argon2 keeps busy, for microseconds of work.
   */
  readonly hs256?: (data: string) => Uint8Array;
  /**
   * The key imported into Web Crypto once, for jose (verification, and signing without `hs256`):
   * given raw bytes, jose imports them again for every signature and every verification.
   */
  readonly cryptoKey: Promise<CryptoKey | Uint8Array>;
}

export function jwtSigner(secret: string, hs256?: (key: Uint8Array) => (data: string) => Uint8Array): JwtSigner {
  const key = new TextEncoder().encode(secret);
  const cryptoKey = crypto.subtle
    .importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify'])
    // a key Web Crypto refuses is handed to jose as bytes, which then says why
    .catch(() => key);
  return hs256 === undefined ? { key, cryptoKey } : { key, cryptoKey, hs256: hs256(key) };
}

function base64url(bytes: Uint8Array): string {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

const SIMPLEJWT_HEADER = base64url(new TextEncoder().encode(JSON.stringify({ alg: 'HS256', typ: 'JWT' })));

/**
 * Signs a SimpleJWT token: header `{"alg":"HS256","typ":"JWT"}` and claims in the library's order
 * (`token_type`, `exp`, `iat`, `jti`, `user_id`).
 */
export async function signSimpleJwt(
  signer: JwtSigner,
  kind: TokenKind,
  userId: number,
  iat: number,
  exp: number,
  jti: string,
): Promise<string> {
  const claims = { token_type: kind, exp, iat, jti, user_id: userId };
  if (signer.hs256 !== undefined) {
    const input = `${SIMPLEJWT_HEADER}.${base64url(new TextEncoder().encode(JSON.stringify(claims)))}`;
    return `${input}.${base64url(signer.hs256(input))}`;
  }
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(await signer.cryptoKey);
}

export interface MintContext {
  readonly now: number;
  readonly userId: number;
  readonly lifetimes: TokenLifetimes;
  readonly signer: JwtSigner;
}

function lifetimeOf(format: TokenFormat, kind: TokenKind, l: TokenLifetimes): number {
  if (format === 'jwt') return kind === 'access' ? l.jwtAccess : l.jwtRefresh;
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
    const value = await signSimpleJwt(ctx.signer, kind, ctx.userId, iat, iat + lifetime, jti);
    return { value, kind, format, lifetime, issuedAt, expiresAt, jti };
  }
  const value = format === 'uuid' ? newUuid() : newHex128();
  return { value, kind, format, lifetime, issuedAt, expiresAt };
}

/** Mints what a dialect's plan asks for, refresh first as SimpleJWT does. */
export async function mintPlan(plan: IssuePlan, ctx: MintContext): Promise<{ access: TokenGrant; refresh?: TokenGrant }> {
  const refresh = plan.refresh === undefined ? undefined : await mintToken(plan.refresh, 'refresh', ctx);
  const access = await mintToken(plan.access, 'access', ctx);
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

/**
 * Verifies a SimpleJWT token as the library does with default settings: HS256 only, signature,
 * `exp` (no leeway), and the claims it relies on. Returns null for anything that is not a valid,
 * unexpired token; never throws.
 */
export async function verifySimpleJwt(signer: JwtSigner, token: string, nowMs: number): Promise<SimpleJwtClaims | null> {
  if (!JWT_SHAPE.test(token)) return null;
  try {
    const { payload } = await jwtVerify(token, await signer.cryptoKey, {
      algorithms: ['HS256'],
      currentDate: new Date(nowMs),
      requiredClaims: ['exp', 'jti', 'token_type'],
    });
    const { token_type, exp, iat, jti, user_id } = payload as Record<string, unknown>;
    if (typeof token_type !== 'string' || typeof exp !== 'number' || typeof jti !== 'string' || typeof user_id !== 'number') return null;
    return { token_type, exp, iat: typeof iat === 'number' ? iat : exp, jti, user_id };
  } catch {
    return null;
  }
}
