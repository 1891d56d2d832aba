import { decodeProtectedHeader, importJWK, type JWK, type JWTPayload, jwtVerify } from 'jose';
import { type Introspection, type RevocationSource, tokenHash } from './introspector.ts';

/*
 * The offline check of SimpleJWT tokens: the signature by the JWKS key the token's `kid` names,
 * SimpleJWT's claim rules, and Tessera's revocation push. Runtime-free (fetch, Web Crypto through
 * jose): Node, Deno, Bun.
 *
 * What it knows: everything the token says (signature, exp, aud, iss, type) and every revocation
 * pushed since it started listening. What it cannot know, and asks Tessera about instead (verdict
 * `ask`): HS* tokens (their secret is never published), opaque tokens, anything while the push is
 * down, and tokens issued before the push was last (re)connected or before a revocation it had to
 * forget: a revocation it may have missed.
 */

/** The asymmetric algorithms a JWKS key may carry; HS* keys are never published. */
const ASYMMETRIC = new Set(['RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512', 'EdDSA']);
const SYMMETRIC = new Set(['HS256', 'HS384', 'HS512']);
/** Three base64url parts; the signature may be empty (`alg: none`, refused below). */
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
/** The JWKS's Cache-Control max-age is honoured within these bounds, s (300 when it gives none). */
const MAX_AGE = { min: 5, max: 86_400, absent: 300 };
/** After a failed JWKS fetch, tokens are asked of Tessera for this long before the next try, ms. */
const FETCH_RETRY_MS = 5_000;

export interface OfflineVerifierOptions {
  /** Tessera's base URL: the JWKS is `<baseUrl>/.well-known/jwks.json`. */
  readonly baseUrl?: string;
  /** The JWKS URL itself (when TESSERA_JWKS_PATH moved it); wins over `baseUrl`. */
  readonly jwksUrl?: string;
  /** Tessera's revocation push (`redisRevocations`): required, revoked tokens must be refused. */
  readonly revocations: RevocationSource;
  /** TESSERA_JWT_AUDIENCE: required in every token when set. */
  readonly audience?: string;
  /** TESSERA_JWT_ISSUER: required in every token when set. */
  readonly issuer?: string;
  /** TESSERA_JWT_LEEWAY, s (default 0). */
  readonly leeway?: number;
  /** TESSERA_JWT_USER_ID_CLAIM, _TOKEN_TYPE_CLAIM, _JTI_CLAIM (SimpleJWT's defaults: user_id, token_type, jti). */
  readonly claims?: { readonly userId?: string; readonly tokenType?: string; readonly jti?: string };
  /**
   * Token types accepted (default `['access', 'sliding']`: a bearer check; a SimpleJWT sliding
   * token is a bearer credential too, and introspection calls it an access token).
   */
  readonly tokenTypes?: readonly string[];
  /** A JWKS fetch that has not answered within this is given up, ms (default 5000). */
  readonly jwksTimeoutMs?: number;
  /** A token with a `kid` the JWKS lacks refetches it at most this often, ms (default 30 000). */
  readonly unknownKidRefetchMs?: number;
  /** Revoked token names are kept this long, ms (default 24 h: SimpleJWT's REFRESH_TOKEN_LIFETIME). */
  readonly revocationMemoryMs?: number;
  /** At most this many revoked token names are kept (default 100 000, ~10 MB). */
  readonly maxRevocations?: number;
  /** How far Tessera's clock may be ahead of this one, ms (default 1000). */
  readonly clockToleranceMs?: number;
  /** fetch to use (default: the global one). */
  readonly fetch?: typeof fetch;
  /** Clock, ms (default Date.now); for tests. */
  readonly now?: () => number;
}

/** Why a token was refused offline. */
export type OfflineRefusal = 'malformed' | 'algorithm' | 'unknown_kid' | 'signature' | 'expired' | 'claims' | 'token_type' | 'revoked';
/** Why the offline check cannot decide (ask Tessera). */
export type OfflineUnknown = 'not_jwt' | 'hmac' | 'no_kid' | 'jwks_unavailable' | 'push_down' | 'issued_before_push';

export type OfflineVerdict =
  /** `token` has the shape of an introspection answer, without `username` and `scope` (not in the token). */
  | { readonly verdict: 'active'; readonly token: Introspection; readonly claims: JWTPayload }
  | { readonly verdict: 'inactive'; readonly reason: OfflineRefusal }
  | { readonly verdict: 'ask'; readonly reason: OfflineUnknown };

export interface OfflineVerifier {
  /** Never throws: `ask` when the answer is Tessera's to give. */
  verify(token: string): Promise<OfflineVerdict>;
  /**
   * ms since the epoch: tokens issued (`iat`) from then on are checked offline, earlier ones are
   * asked of Tessera (the push was not listened to, or was down, or a revocation was forgotten since).
   */
  readonly trustedFrom: number;
  readonly stats: { readonly active: number; readonly inactive: number; readonly asked: number; readonly jwksFetches: number };
  /** Stops listening to the revocation source (which stays open: its owner closes it); it then asks of every token. */
  close(): void;
}

interface Key {
  readonly alg: string;
  readonly key: CryptoKey;
}

/** The JWKS as last fetched: keys by kid, refetched after its max-age and (rate-limited) on an unknown kid. */
class Jwks {
  #keys = new Map<string, Key>();
  #expiresAt = 0;
  #failedAt = Number.NEGATIVE_INFINITY;
  #unknownAt = Number.NEGATIVE_INFINITY;
  #pending: Promise<void> | null = null;
  fetches = 0;

  constructor(
    private readonly url: string,
    private readonly doFetch: typeof fetch,
    private readonly now: () => number,
    private readonly unknownKidRefetchMs: number,
    private readonly timeoutMs: number,
  ) {}

  /**
   * The key a kid names; 'unknown' when the current JWKS lacks it (after a refetch, if `refetch`
   * and none was made in the last unknownKidRefetchMs); 'unavailable' when there is no current JWKS.
   */
  async key(kid: string, refetch: boolean): Promise<Key | 'unknown' | 'unavailable'> {
    const t = this.now();
    const stale = t >= this.#expiresAt;
    if (stale && !(await this.#refresh(t))) return 'unavailable';
    const known = this.#keys.get(kid);
    if (known !== undefined) return known;
    // an unknown kid may be a key published since: refetch (unless just done), at most once per unknownKidRefetchMs
    if (!refetch || stale || t - this.#unknownAt < this.unknownKidRefetchMs) return 'unknown';
    this.#unknownAt = t;
    this.#expiresAt = 0;
    if (!(await this.#refresh(t))) return 'unavailable';
    return this.#keys.get(kid) ?? 'unknown';
  }

  /** Starts the first fetch, so that the first token does not wait for it. */
  prefetch(): void {
    void this.#refresh(this.now());
  }

  /** Fetches the JWKS (one fetch at a time); false while it cannot be had. */
  async #refresh(t: number): Promise<boolean> {
    if (this.#pending === null) {
      if (t - this.#failedAt < FETCH_RETRY_MS) return false;
      this.#pending = this.#fetch().finally(() => {
        this.#pending = null;
      });
    }
    await this.#pending;
    return this.now() < this.#expiresAt;
  }

  async #fetch(): Promise<void> {
    this.fetches++;
    try {
      const res = await this.doFetch(this.url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(this.timeoutMs) });
      if (res.status !== 200) throw new Error(`JWKS answered ${res.status}`);
      const body = (await res.json()) as { keys?: unknown };
      if (!Array.isArray(body.keys)) throw new Error('not a JWKS');
      const keys = new Map<string, Key>();
      for (const jwk of body.keys as JWK[]) {
        // only a signing key of an asymmetric algorithm, named, pins its algorithm (never `oct`)
        if (typeof jwk.kid !== 'string' || typeof jwk.alg !== 'string' || !ASYMMETRIC.has(jwk.alg)) continue;
        if ((jwk.use !== undefined && jwk.use !== 'sig') || jwk.kty === 'oct') continue;
        try {
          keys.set(jwk.kid, { alg: jwk.alg, key: (await importJWK(jwk, jwk.alg)) as CryptoKey });
        } catch {
          // a key this runtime cannot import: its tokens are refused as of an unknown kid
        }
      }
      this.#keys = keys;
      this.#expiresAt = this.now() + maxAge(res.headers.get('cache-control')) * 1000;
    } catch {
      this.#failedAt = this.now();
      this.#expiresAt = 0;
    }
  }
}

function maxAge(cacheControl: string | null): number {
  const m = /(?:^|,)\s*max-age\s*=\s*"?(\d+)/i.exec(cacheControl ?? '');
  if (m === null) return /no-store|no-cache/i.test(cacheControl ?? '') ? MAX_AGE.min : MAX_AGE.absent;
  return Math.min(MAX_AGE.max, Math.max(MAX_AGE.min, Number(m[1])));
}

const TOKEN_TYPES: Readonly<Record<string, Introspection['token_type']>> = { access: 'access_token', refresh: 'refresh_token' };

const REFUSALS: Readonly<Record<string, OfflineRefusal>> = {
  ERR_JWT_EXPIRED: 'expired',
  ERR_JWT_CLAIM_VALIDATION_FAILED: 'claims',
  ERR_JWS_SIGNATURE_VERIFICATION_FAILED: 'signature',
};

/**
 * Verifies SimpleJWT tokens of Tessera locally from its JWKS, and refuses those its revocation
 * push named. See docs/sdk.md for the guarantees and the limits.
 */
export function createOfflineVerifier(options: OfflineVerifierOptions): OfflineVerifier {
  const now = options.now ?? Date.now;
  const url =
    options.jwksUrl ?? (options.baseUrl === undefined ? undefined : new URL('/.well-known/jwks.json', options.baseUrl).toString());
  if (url === undefined) throw new TypeError('createOfflineVerifier: jwksUrl or baseUrl is required');
  const jwks = new Jwks(url, options.fetch ?? fetch, now, options.unknownKidRefetchMs ?? 30_000, options.jwksTimeoutMs ?? 5000);
  jwks.prefetch();
  const claimNames = { userId: 'user_id', tokenType: 'token_type', jti: 'jti', ...options.claims };
  const tokenTypes = new Set(options.tokenTypes ?? ['access', 'sliding']);
  const memoryMs = options.revocationMemoryMs ?? 86_400_000;
  const maxRevocations = options.maxRevocations ?? 100_000;
  const tolerance = options.clockToleranceMs ?? 1000;
  const source = options.revocations;
  const verifyOptions = {
    clockTolerance: options.leeway ?? 0,
    ...(options.audience === undefined ? {} : { audience: options.audience }),
    ...(options.issuer === undefined ? {} : { issuer: options.issuer }),
    requiredClaims: ['exp'],
  };

  /** Revoked token names, in the order they were heard of, with when. */
  const revoked = new Map<string, number>();
  /** Revocations before this moment (ms) may have been missed or forgotten. */
  let horizon = now();
  /** Once closed it hears no revocation: everything it would accept is asked of Tessera. */
  let closed = false;
  const unsubscribe = source.subscribe({
    revoked(hashes) {
      const t = now();
      for (const h of hashes) {
        revoked.delete(h);
        revoked.set(h, t);
      }
      // forget the oldest past the bounds; a token issued before a forgotten revocation is asked of Tessera
      for (const [h, at] of revoked) {
        if (revoked.size <= maxRevocations && at > t - memoryMs) break;
        revoked.delete(h);
        horizon = Math.max(horizon, at);
      }
    },
    reset() {
      // messages may have been missed while the push was down
      horizon = Math.max(horizon, now());
    },
  });

  const stats = {
    active: 0,
    inactive: 0,
    asked: 0,
    get jwksFetches() {
      return jwks.fetches;
    },
  };
  const refuse = (reason: OfflineRefusal): OfflineVerdict => {
    stats.inactive++;
    return { verdict: 'inactive', reason };
  };
  const ask = (reason: OfflineUnknown): OfflineVerdict => {
    stats.asked++;
    return { verdict: 'ask', reason };
  };

  async function check(token: string): Promise<OfflineVerdict> {
    if (!JWT_SHAPE.test(token)) return ask('not_jwt');
    let header: { alg?: unknown; kid?: unknown };
    try {
      header = decodeProtectedHeader(token);
    } catch {
      return refuse('malformed');
    }
    const { alg, kid } = header;
    if (typeof alg !== 'string' || !(ASYMMETRIC.has(alg) || SYMMETRIC.has(alg))) return refuse('algorithm');
    let key: Key | 'unknown' | 'unavailable' = 'unknown';
    // an HS* token's kid names no published key (HS keys never are) unless it is an attack: no refetch
    if (typeof kid === 'string') key = await jwks.key(kid, !SYMMETRIC.has(alg));
    if (key === 'unavailable') return SYMMETRIC.has(alg) ? ask('hmac') : ask('jwks_unavailable');
    if (key !== 'unknown') {
      // the algorithm is the key's, whatever the header says (an RS256 key used as an HS256 secret, …)
      if (key.alg !== alg) return refuse('algorithm');
    } else if (SYMMETRIC.has(alg)) {
      return ask('hmac');
    } else if (kid === undefined) {
      return ask('no_kid');
    } else {
      return refuse('unknown_kid');
    }
    // the token's name, for the revocation set: hashed while the signature is checked
    const hashing = tokenHash(token);
    let payload: JWTPayload;
    try {
      payload = (await jwtVerify(token, key.key, { ...verifyOptions, algorithms: [key.alg], currentDate: new Date(now()) })).payload;
    } catch (err) {
      return refuse(REFUSALS[(err as { code?: string }).code ?? ''] ?? 'malformed');
    }
    const type = payload[claimNames.tokenType];
    const jti = payload[claimNames.jti];
    const userId = payload[claimNames.userId];
    // as Tessera's own check: a token without these is not one of its tokens
    if (typeof type !== 'string' || typeof jti !== 'string' || typeof userId !== 'number') return refuse('claims');
    if (!tokenTypes.has(type)) return refuse('token_type');
    if (revoked.has(await hashing)) return refuse('revoked');
    if (closed || !source.connected) return ask('push_down');
    if (typeof payload.iat !== 'number' || payload.iat * 1000 < horizon + tolerance) return ask('issued_before_push');
    stats.active++;
    const kind = TOKEN_TYPES[type];
    return {
      verdict: 'active',
      claims: payload,
      token: {
        active: true,
        client_id: 'simplejwt',
        ...(kind === undefined ? {} : { token_type: kind }),
        exp: payload.exp as number,
        iat: payload.iat,
        sub: String(userId),
        jti,
      },
    };
  }

  return {
    verify: check,
    get trustedFrom() {
      return horizon + tolerance;
    },
    stats,
    close() {
      closed = true;
      unsubscribe();
      revoked.clear();
    },
  };
}
