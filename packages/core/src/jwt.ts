import {
  calculateJwkThumbprint,
  decodeProtectedHeader,
  exportJWK,
  exportPKCS8,
  generateKeyPair,
  importJWK,
  importPKCS8,
  importSPKI,
  type JWK,
  type JWTPayload,
  jwtVerify,
  SignJWT,
  UnsecuredJWT,
} from 'jose';
import { fromBase64url, toBase64url } from './base64url.ts';

/*
 * SimpleJWT's signing: the algorithms and settings of djangorestframework-simplejwt 5.2 (plus
 * EdDSA), over a set of keys. Web Crypto through jose, so the same code runs on Node and Deno.
 */

/** SimpleJWT 5.2's ALGORITHM choices, and EdDSA (Ed25519) beyond them. */
export const JWT_ALGORITHMS = ['HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];

export const isHmacAlgorithm = (alg: JwtAlgorithm): boolean => alg.startsWith('HS');

/** Synchronous HMAC of `data` under a key (e.g. node:crypto), given the algorithm's hash. */
export type HmacFactory = (key: Uint8Array, hash: 'sha256' | 'sha384' | 'sha512') => (data: string) => Uint8Array;

/** A public key as RFC 7517 writes it (the JWKS's entries). */
export type PublicJwk = JWK;

/** One key of the set. */
export interface JwtKey {
  /**
   * In the header of every token the key signs. An HS* key of the settings has none and signs as
   * SimpleJWT does (`{"alg":…,"typ":"JWT"}`); an asymmetric one is named by its thumbprint, so
   * that JWKS consumers find it; keys made by `tessera keys` have their own.
   */
  readonly kid?: string;
  readonly alg: JwtAlgorithm;
  /** The secret (HS*) or private key; absent for a key that only verifies. */
  readonly signing?: CryptoKey | Uint8Array;
  readonly verifying: CryptoKey | Uint8Array;
  /** The public key as a JWK (asymmetric keys), for the JWKS. */
  readonly publicJwk?: PublicJwk;
  /** HS* at once, without Web Crypto's trip through the thread pool that argon2 keeps busy. */
  readonly hmac?: (data: string) => Uint8Array;
  /** Its tokens verify until then (ms since the epoch); absent: no end. */
  readonly retiresAt?: number;
}

/** SimpleJWT's settings that shape and check the claims (5.2 names in brackets). */
export interface JwtClaimRules {
  /** AUDIENCE: `aud` of every token, required on verification (absent: neither). */
  readonly audience?: string;
  /** ISSUER: `iss` of every token, required on verification (absent: neither). */
  readonly issuer?: string;
  /** LEEWAY, seconds: how long past `exp` (and before `nbf`) a token still verifies. */
  readonly leeway: number;
  /** USER_ID_CLAIM, TOKEN_TYPE_CLAIM, JTI_CLAIM, SLIDING_TOKEN_REFRESH_EXP_CLAIM. */
  readonly userIdClaim: string;
  readonly tokenTypeClaim: string;
  readonly jtiClaim: string;
  readonly slidingRefreshExpClaim: string;
}

export const DEFAULT_CLAIM_RULES: JwtClaimRules = Object.freeze({
  leeway: 0,
  userIdClaim: 'user_id',
  tokenTypeClaim: 'token_type',
  jtiClaim: 'jti',
  slidingRefreshExpClaim: 'refresh_exp',
});

/** Claims Tessera sets itself: a configured claim name may be none of these. */
export const RESERVED_CLAIMS: readonly string[] = ['exp', 'iat', 'nbf', 'aud', 'iss', 'sub'];

const HASH = { 256: 'sha256', 384: 'sha384', 512: 'sha512' } as const;

function hashOf(alg: JwtAlgorithm): 'sha256' | 'sha384' | 'sha512' {
  return HASH[Number(alg.slice(2)) as 256 | 384 | 512];
}

/** A shared-secret key (HS256/384/512): SimpleJWT's SIGNING_KEY, used to verify too. */
export async function hmacJwtKey(
  secret: string,
  alg: JwtAlgorithm,
  options: { readonly kid?: string; readonly hmac?: HmacFactory; readonly retiresAt?: number } = {},
): Promise<JwtKey> {
  if (!isHmacAlgorithm(alg)) throw new TypeError(`${alg} is not an HMAC algorithm`);
  const raw = new TextEncoder().encode(secret);
  const hash = hashOf(alg);
  const key = await crypto.subtle.importKey('raw', raw, { name: 'HMAC', hash: `SHA-${hash.slice(3)}` }, false, ['sign', 'verify']);
  return {
    ...(options.kid === undefined ? {} : { kid: options.kid }),
    alg,
    signing: key,
    verifying: key,
    ...(options.hmac === undefined ? {} : { hmac: options.hmac(raw, hash) }),
    ...(options.retiresAt === undefined ? {} : { retiresAt: options.retiresAt }),
  };
}

/** The members of a private JWK that make it private (RFC 7518 §6.2.2, §6.3.2; RFC 8037 §2). */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth'];

/**
 * An asymmetric key from PEM: PKCS#8 private key (signs; its public half verifies unless
 * `publicPem`, SimpleJWT's VERIFYING_KEY, is given), or an SPKI public key alone (verifies only).
 * `kid: 'thumbprint'` names it by the RFC 7638 thumbprint of its public key.
 * Throws with a one-line reason for a PEM that is not a key of the algorithm.
 */
export async function pemJwtKey(
  alg: JwtAlgorithm,
  pems: { readonly privatePem?: string; readonly publicPem?: string },
  options: { readonly kid?: string | 'thumbprint'; readonly retiresAt?: number } = {},
): Promise<JwtKey> {
  if (isHmacAlgorithm(alg)) throw new TypeError(`${alg} takes a shared secret, not a PEM key`);
  const { privatePem, publicPem } = pems;
  if (privatePem === undefined && publicPem === undefined) throw new TypeError('no key given');
  const signing = privatePem === undefined ? undefined : await importPKCS8(privatePem, alg, { extractable: true });
  let publicJwk: JWK;
  let verifying: CryptoKey;
  if (publicPem !== undefined) {
    verifying = await importSPKI(publicPem, alg, { extractable: true });
    publicJwk = await exportJWK(verifying);
  } else {
    const full = await exportJWK(signing as CryptoKey);
    publicJwk = Object.fromEntries(Object.entries(full).filter(([k]) => !PRIVATE_MEMBERS.includes(k))) as JWK;
    verifying = (await importJWK(publicJwk, alg)) as CryptoKey;
  }
  const kid = options.kid === 'thumbprint' ? await calculateJwkThumbprint(publicJwk) : options.kid;
  return {
    ...(kid === undefined ? {} : { kid }),
    alg,
    ...(signing === undefined ? {} : { signing }),
    verifying,
    publicJwk: { ...publicJwk, alg, use: 'sig', ...(kid === undefined ? {} : { kid }) },
    ...(options.retiresAt === undefined ? {} : { retiresAt: options.retiresAt }),
  };
}

/** The keys a process signs and verifies with: the active one signs; every one verifies. */
export interface JwtKeySet {
  readonly active: JwtKey;
  /** Every key, the active one included. */
  readonly keys: readonly JwtKey[];
}

/**
 * SimpleJWT's token backend: its keys and claim rules. `keys` may be replaced while the process
 * runs (a rotation); a token in flight keeps the set it started with.
 */
export class JwtSigner {
  #keys: JwtKeySet;

  constructor(
    keys: JwtKeySet,
    readonly rules: JwtClaimRules = DEFAULT_CLAIM_RULES,
  ) {
    if (keys.active.signing === undefined) throw new TypeError('the active key cannot sign');
    this.#keys = keys;
  }

  get keys(): JwtKeySet {
    return this.#keys;
  }

  replaceKeys(keys: JwtKeySet): void {
    if (keys.active.signing === undefined) throw new TypeError('the active key cannot sign');
    this.#keys = keys;
  }

  /** Signs claims (in the order given) with the active key: header `{"alg","kid"?,"typ"}`, as PyJWT sorts it. */
  async sign(claims: Readonly<Record<string, unknown>>): Promise<string> {
    const key = this.#keys.active;
    const header = key.kid === undefined ? { alg: key.alg, typ: 'JWT' } : { alg: key.alg, kid: key.kid, typ: 'JWT' };
    if (key.hmac !== undefined) {
      const input = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
      return `${input}.${toBase64url(key.hmac(input))}`;
    }
    return new SignJWT({ ...claims }).setProtectedHeader(header).sign(key.signing as CryptoKey);
  }

  /**
   * The payload of a token signed by one of the keys (the one its `kid` names; without a `kid`,
   * any of the header's algorithm), unexpired within the leeway, with the audience and issuer
   * required; null for anything else. Never throws. `exp` is required unless `requireExp` is
   * false (PyJWT's decode, as SimpleJWT calls it: an `exp` present is checked, none is left to the
   * token class, which names it).
   */
  async verify(token: string, nowMs: number, { requireExp = true }: { readonly requireExp?: boolean } = {}): Promise<JWTPayload | null> {
    if (!JWT_SHAPE.test(token)) return null;
    let kid: unknown;
    let alg: unknown;
    try {
      ({ kid, alg } = decodeProtectedHeader(token));
    } catch {
      return null;
    }
    const { rules } = this;
    const options = {
      currentDate: new Date(nowMs),
      clockTolerance: rules.leeway,
      ...(rules.audience === undefined ? {} : { audience: rules.audience }),
      ...(rules.issuer === undefined ? {} : { issuer: rules.issuer }),
      requiredClaims: requireExp ? ['exp'] : [],
    };
    for (const key of this.#keys.keys) {
      if ((kid !== undefined && key.kid !== kid) || key.alg !== alg || (key.retiresAt !== undefined && key.retiresAt <= nowMs)) continue;
      if (key.hmac !== undefined) {
        const verified = hmacVerified(token, key.hmac, options);
        if (verified === 'signature') continue;
        return verified;
      }
      try {
        return (await jwtVerify(token, key.verifying, { ...options, algorithms: [key.alg] })).payload;
      } catch (err) {
        // another key of the algorithm may have signed a token without kid; anything else is final
        if ((err as { code?: string }).code !== 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') return null;
      }
    }
    return null;
  }

  /** The JWKS: the public keys of every asymmetric key not retired at `nowMs`. */
  jwks(nowMs: number): { keys: JWK[] } {
    const keys: JWK[] = [];
    for (const key of this.#keys.keys)
      if (key.publicJwk !== undefined && (key.retiresAt === undefined || key.retiresAt > nowMs)) keys.push(key.publicJwk);
    return { keys };
  }
}

export const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

const UNSECURED_HEADER = toBase64url(new TextEncoder().encode('{"alg":"none"}'));

/**
 * An HS* token checked at once, without Web Crypto's trip through the thread pool: its HMAC
 * compared in constant time, then its claims by jose's own rules (UnsecuredJWT.decode validates
 * a claims set as jwtVerify does: exp and nbf with the leeway, aud, iss, required claims).
 * 'signature' when another key signed it.
 */
function hmacVerified(
  token: string,
  hmac: (data: string) => Uint8Array,
  options: Parameters<typeof UnsecuredJWT.decode>[1],
): JWTPayload | null | 'signature' {
  const dot = token.lastIndexOf('.');
  let given: Uint8Array;
  try {
    given = fromBase64url(token.slice(dot + 1));
  } catch {
    return null;
  }
  const expected = hmac(token.slice(0, dot));
  let diff = given.length ^ expected.length;
  for (let i = 0; i < expected.length; i++) diff |= (given[i] ?? 0) ^ (expected[i] as number);
  if (diff !== 0) return 'signature';
  const payload = token.slice(token.indexOf('.') + 1, dot);
  try {
    return UnsecuredJWT.decode(`${UNSECURED_HEADER}.${payload}.`, options).payload;
  } catch {
    return null;
  }
}

const utf8 = new TextEncoder();

function base64url(text: string): string {
  return toBase64url(utf8.encode(text));
}

/**
 * New key material of the algorithm: a PKCS#8 PEM private key (RSA 2048, P-256/384/521, Ed25519),
 * or for HS* a secret of 64 random bytes as base64url text (86 characters).
 */
export async function newKeyMaterial(alg: JwtAlgorithm): Promise<string> {
  if (isHmacAlgorithm(alg)) return toBase64url(crypto.getRandomValues(new Uint8Array(64)));
  const { privateKey } = await generateKeyPair(alg, { extractable: true, ...(alg.startsWith('RS') ? { modulusLength: 2048 } : {}) });
  return exportPKCS8(privateKey);
}

/** The key of `material` (what newKeyMaterial gives: a secret for HS*, a PKCS#8 PEM otherwise). */
export function keyOfMaterial(
  alg: JwtAlgorithm,
  material: string,
  options: { readonly kid?: string; readonly retiresAt?: number; readonly hmac?: HmacFactory } = {},
): Promise<JwtKey> {
  return isHmacAlgorithm(alg) ? hmacJwtKey(material, alg, options) : pemJwtKey(alg, { privatePem: material }, options);
}
