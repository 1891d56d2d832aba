import { BoundedMap } from './bounded-map.ts';
import type { UserRecord } from './types.ts';

/** Users kept at most; the oldest go first (BoundedMap). A record with its profile is about 1 KB. */
export const USER_CACHE_ENTRIES = 4096;

/**
 * The users of tokens the ingress remembers (TokenCache), so that a token operation answered from
 * that memory (the PEB check) needs no Redis round trip for its owner either. It holds the same
 * guarantees: served only while the token memory is (`active`: its revocation feed is connected),
 * never longer than `maxAgeMs` after Redis said so. Disabling a user or changing a password
 * revokes the user's tokens, so a token of a disabled user is never answered from memory; a
 * profile or email change shows within `maxAgeMs`. Runtime-free: the clock is passed in.
 */
export class UserCache {
  readonly #entries: BoundedMap<number, { readonly user: UserRecord; readonly until: number }>;

  constructor(
    private readonly options: { readonly maxAgeMs: number; readonly now: () => number; readonly active: () => boolean },
    readonly maxEntries = USER_CACHE_ENTRIES,
  ) {
    this.#entries = new BoundedMap(maxEntries);
  }

  get size(): number {
    return this.#entries.size;
  }

  get(id: number): UserRecord | undefined {
    if (!this.options.active()) {
      this.#entries.clear();
      return undefined;
    }
    const entry = this.#entries.get(id);
    if (entry === undefined) return undefined;
    if (entry.until > this.options.now()) return entry.user;
    this.#entries.delete(id);
    return undefined;
  }

  /** Remembers a live user Redis returned. */
  put(user: UserRecord): void {
    if (user.disabled || !this.options.active()) return;
    this.#entries.set(user.id, { user, until: this.options.now() + this.options.maxAgeMs });
  }
}
