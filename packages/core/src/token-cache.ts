import type { TokenRecord } from './types.ts';

/**
 * The ingress's memory of live access tokens, so that introspecting a token that was seen a
 * moment ago costs no Redis round trip (and no JWT signature check).
 *
 * Kept honest by a push feed of revocations (Redis pub/sub, see the store's `revocationFeed`):
 * - nothing is served unless the feed is connected; when it drops or comes back, everything is
 *   forgotten (`reset`);
 * - a revoked token's hash arrives on the feed, and its entry goes;
 * - a lookup that was in flight while its token's revocation arrived is not remembered (`stamp`),
 *   so a reply that raced its own revocation cannot come back as a stale entry (the last
 *   RECENT revoked hashes are kept to tell; past that many, nothing in flight is remembered);
 * - an entry is never served past the token's `exp`, nor longer than `maxAgeMs` after it was read;
 * - only access tokens (and SimpleJWT sliding tokens, which the bearer presents as one) are kept:
 *   refresh tokens change state when used (single use), which is not a revocation and is not
 *   pushed; sliding a sliding token leaves it as it was.
 * Runtime-free: the clock is passed in.
 */
export interface TokenCacheOptions {
  /** How many tokens to keep; the oldest go first. */
  readonly maxEntries: number;
  /** How long an entry may be served after Redis said it was live. */
  readonly maxAgeMs: number;
  readonly now: () => number;
}

interface Entry {
  readonly record: TokenRecord;
  readonly hash: string;
  /** ms since epoch after which the entry must not be served */
  readonly until: number;
}

/** How many revoked hashes are kept to judge lookups that were in flight. */
const RECENT = 1024;

/**
 * Entries live in two generations as in BoundedMap (bounded-map.ts says why), each a Map (token →
 * entry) with its own hash index, so that the index goes with its generation.
 */
class Generation {
  readonly byToken = new Map<string, Entry>();
  readonly byHash = new Map<string, string>();

  drop(token: string, hash: string): void {
    this.byToken.delete(token);
    this.byHash.delete(hash);
  }

  forget(hash: string): void {
    const token = this.byHash.get(hash);
    if (token !== undefined) this.drop(token, hash);
  }
}

export class TokenCache {
  private young = new Generation();
  private old = new Generation();
  /** Counts revoked hashes; `recent[g % RECENT]` is the g-th. */
  private generation = 0;
  private readonly recent: (string | undefined)[] = new Array(RECENT);
  private connected = false;
  /** Entries of the young generation at which it becomes the old one. */
  private readonly half: number;

  constructor(private readonly options: TokenCacheOptions) {
    this.half = Math.max(1, Math.floor(options.maxEntries / 2));
  }

  /** Whether entries are being served (the revocation feed is connected). */
  get active(): boolean {
    return this.connected;
  }

  get size(): number {
    return this.young.byToken.size + this.old.byToken.size;
  }

  /** How long an entry may be served after Redis said it was live. */
  get maxAgeMs(): number {
    return this.options.maxAgeMs;
  }

  /** The live record of `token` if it was seen recently and nothing since says otherwise. */
  get(token: string): TokenRecord | undefined {
    if (!this.connected) return undefined;
    const gen = this.young.byToken.has(token) ? this.young : this.old;
    const entry = gen.byToken.get(token);
    if (entry === undefined) return undefined;
    if (entry.until > this.options.now()) return entry.record;
    gen.drop(token, entry.hash);
    return undefined;
  }

  /** Taken before a Redis lookup starts; `put` ignores the result if a revocation came meanwhile. */
  stamp(): number {
    return this.generation;
  }

  /** Remembers a live token that Redis returned for a lookup started at `stamp`. */
  put(stamp: number, token: string, hash: string, record: TokenRecord): void {
    if (!this.connected || record.kind === 'refresh') return;
    if (stamp !== this.generation) {
      // revocations arrived while the lookup was in flight: was this token among them?
      if (this.generation - stamp >= RECENT) return;
      for (let g = stamp + 1; g <= this.generation; g++) if (this.recent[g % RECENT] === hash) return;
    }
    const until = Math.min(record.exp * 1000, this.options.now() + this.options.maxAgeMs);
    this.old.drop(token, hash);
    if (!this.young.byToken.has(token) && this.young.byToken.size >= this.half) {
      // the oldest half goes: at most maxEntries are ever held
      this.old = this.young;
      this.young = new Generation();
    }
    this.young.byToken.set(token, { record, hash, until });
    this.young.byHash.set(hash, token);
  }

  /** Tokens revoked, renewed or blacklisted anywhere: forget them. */
  revoked(hashes: readonly string[]): void {
    for (const h of hashes) {
      this.generation++;
      this.recent[this.generation % RECENT] = h;
      this.young.forget(h);
      this.old.forget(h);
    }
  }

  /** The feed (re)connected or dropped: forget everything; serve again only while connected. */
  reset(connected: boolean): void {
    // whatever was in flight may have missed a revocation: no lookup started before is remembered
    this.generation += RECENT;
    this.connected = connected;
    this.young = new Generation();
    this.old = new Generation();
  }
}
