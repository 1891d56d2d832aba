import type { TokenGrant, TokenRecord } from '@tessera/core';
import { guarded } from './errors.ts';
import { tokenHash } from './hash.ts';
import type { KeyLayout } from './keys.ts';
import type { TesseraRedis } from './redis.ts';

/**
 * Tokens in Redis: `<prefix>t:{sha256(token)}` → JSON record, expiring exactly at the token's
 * expiry (PXAT), so the key lives as long as the token and no longer.
 */
export class TokenRepository {
  constructor(
    private readonly redis: TesseraRedis,
    private readonly keys: KeyLayout,
  ) {}

  keyOf(token: string): string {
    return this.keys.token(tokenHash(token));
  }

  async save(grants: readonly TokenGrant[], record: (grant: TokenGrant) => TokenRecord): Promise<void> {
    await guarded(() =>
      Promise.all(grants.map((g) => this.redis.set(this.keyOf(g.value), JSON.stringify(record(g)), 'PXAT', g.expiresAt))),
    );
  }

  async get(token: string): Promise<TokenRecord | null> {
    const raw = await guarded(() => this.redis.get(this.keyOf(token)));
    return raw === null ? null : (JSON.parse(raw) as TokenRecord);
  }
}
