/**
 * Token introspection for services that accept Tessera tokens: one call to Tessera's RFC 7662
 * endpoint, answers cached in process. Runtime-free (fetch and Web Crypto): Node, Deno, Bun.
 *
 * Cache bound, stated and tested:
 * - an answer is never reused past the token's own `exp`, so an expired token is never active;
 * - with a connected revocation source (see `redisRevocations`), a revoked token stops being
 *   active as soon as Tessera's revocation message arrives (pub/sub delivery, milliseconds);
 * - without one, or while it is disconnected, active answers are reused for at most
 *   `maxStaleMs` (default 0: not at all), and the cache is emptied when the source (re)connects.
 */
import { BoundedMap } from '@tessera/core';

/** The RFC 7662 answer as Tessera gives it. */
export interface Introspection {
  readonly active: boolean;
  readonly scope?: string;
  readonly client_id?: string;
  readonly username?: string;
  readonly token_type?: 'access_token' | 'refresh_token';
  readonly exp?: number;
  readonly iat?: number;
  readonly sub?: string;
  readonly jti?: string;
}

/** Pushes the names (tokenHash) of revoked tokens; `connected` says whether pushes can be trusted now. */
export interface RevocationSource {
  readonly connected: boolean;
  /** Registers the listeners; returns a function that unregisters them. */
  subscribe(listener: { revoked(hashes: readonly string[]): void; reset(): void }): () => void;
  close(): Promise<void>;
}

export interface IntrospectorOptions {
  /** Tessera's base URL, e.g. `http://tessera:8080`. */
  readonly baseUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Pushes revocations; enables caching of active answers until `exp`. */
  readonly revocations?: RevocationSource;
  /** How long an active answer may be reused without a connected revocation source (default 0). */
  readonly maxStaleMs?: number;
  /** How many answers to keep (default 10 000; the oldest go first, half at a time: BoundedMap). */
  readonly maxEntries?: number;
  /** fetch to use (default: the global one). */
  readonly fetch?: typeof fetch;
  /** Clock, ms (default Date.now); for tests. */
  readonly now?: () => number;
}

export class IntrospectionError extends Error {
  readonly code = 'ERR_INTROSPECTION';
  constructor(
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'IntrospectionError';
  }
}

interface Entry {
  readonly answer: Introspection;
  /** ms since epoch after which the entry must never be used (the token's exp) */
  readonly until: number;
  /** when Tessera was asked */
  readonly askedAt: number;
}

const INACTIVE: Introspection = Object.freeze({ active: false });

/**
 * The name Tessera gives a token in Redis and in revocation messages: the first 128 bits of its
 * SHA-256, base64url without padding (22 characters). The same as `tokenHash` of @tessera/store.
 */
export async function tokenHash(token: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(token)), 0, 16);
  return btoa(String.fromCharCode(...digest))
    .replaceAll('+', '-')
    .replaceAll('/', '_')
    .replace(/=+$/, '');
}

export interface Introspector {
  /** Introspects a token; throws IntrospectionError when Tessera cannot be asked. */
  introspect(token: string): Promise<Introspection>;
  /** Answers served from the cache and from Tessera since creation. */
  readonly stats: { readonly hits: number; readonly calls: number };
  close(): Promise<void>;
}

export function createIntrospector(options: IntrospectorOptions): Introspector {
  const endpoint = new URL('/oauth/introspect', options.baseUrl).toString();
  const authorization = `Basic ${btoa(`${encodeURIComponent(options.clientId)}:${encodeURIComponent(options.clientSecret)}`)}`;
  const doFetch = options.fetch ?? fetch;
  const now = options.now ?? Date.now;
  const maxEntries = options.maxEntries ?? 10_000;
  const maxStale = options.maxStaleMs ?? 0;
  const cache = new BoundedMap<string, Entry>(maxEntries);
  /** Hashes revoked while a request for them may be in flight: their answer is not cached. */
  const revokedRecently = new Map<string, number>();
  const stats = { hits: 0, calls: 0 };
  const unsubscribe = options.revocations?.subscribe({
    revoked(hashes) {
      const t = now();
      for (const h of hashes) {
        cache.delete(h);
        revokedRecently.set(h, t);
      }
    },
    reset() {
      cache.clear();
    },
  });

  const pushed = () => options.revocations?.connected === true;

  /** Whether a cached answer may be served now. */
  const usable = (e: Entry, t: number) => t < e.until && (!e.answer.active || pushed() || t < e.askedAt + maxStale);

  const remember = (hash: string, answer: Introspection, askedAt: number) => {
    // a dead token never comes back; a live one is never served past its exp
    const until = answer.active ? (answer.exp ?? 0) * 1000 : Number.POSITIVE_INFINITY;
    const revokedAt = revokedRecently.get(hash);
    if (revokedAt !== undefined && revokedAt >= askedAt) return;
    const entry = { answer, until, askedAt };
    if (!usable(entry, now())) return;
    cache.set(hash, entry);
  };

  return {
    stats,
    async introspect(token) {
      const hash = await tokenHash(token);
      const hit = cache.get(hash);
      const t = now();
      // An active answer is trusted past maxStale only while revocations are being pushed.
      if (hit !== undefined && usable(hit, t)) {
        stats.hits++;
        return hit.answer;
      }
      if (hit !== undefined) cache.delete(hash);
      stats.calls++;
      let res: Response;
      try {
        res = await doFetch(endpoint, {
          method: 'POST',
          headers: { authorization, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
          body: new URLSearchParams({ token }).toString(),
        });
      } catch (err) {
        throw new IntrospectionError('Tessera could not be reached', undefined, { cause: err });
      }
      if (res.status !== 200) throw new IntrospectionError(`Tessera answered ${res.status} to introspection`, res.status);
      const answer = (await res.json()) as Introspection;
      const result = answer.active === true ? answer : INACTIVE;
      remember(hash, result, t);
      if (revokedRecently.size > 1000) {
        for (const [h, at] of revokedRecently) if (at < t - 60_000) revokedRecently.delete(h);
      }
      return result;
    },
    async close() {
      unsubscribe?.();
      cache.clear();
    },
  };
}
