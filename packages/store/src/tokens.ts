import { HEX128, type RevokeReason, type TokenGrant, type TokenRecord, type TokenState } from '@tessera/core';
import { guarded } from './errors.ts';
import { tokenHash } from './hash.ts';
import type { KeyLayout } from './keys.ts';
import type { TesseraRedis } from './redis.ts';

/** How long after a PEB token's expiry Tessera still says "expired" (error 10) rather than "invalid". */
const EXPIRED_MEMORY_MS = 30 * 86_400_000;

/** A revocation announcement on the revocations channel. */
export interface RevocationMessage {
  readonly hashes: readonly string[];
  readonly reason: RevokeReason | 'blacklist' | 'renewed';
}

function decode(raw: string): TokenState {
  return raw.startsWith('U') ? { state: 'used', record: JSON.parse(raw.slice(1)) } : { state: 'live', record: JSON.parse(raw) };
}

function scriptState([code, raw]: [number, string?]): TokenState {
  if (code === -1 || raw === undefined) return { state: 'unknown' };
  const record = JSON.parse(raw) as TokenRecord;
  if (code === 1) return { state: 'used', record };
  if (code === 2) return { state: 'wrong_kind', record };
  return { state: 'live', record };
}

/**
 * Tokens in Redis: `<prefix>t:{sha256(token)}` → JSON record, expiring exactly at the token's
 * expiry (PXAT), so the key lives as long as the token and no longer. Each token's hash is also in
 * its login family's set, and each family in its user's set, so a family or a user can be revoked
 * at once. Revocations are announced on a pub/sub channel.
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
    const r = this.redis;
    await guarded(() => {
      const ops: Promise<unknown>[] = [];
      // a login's tokens share one family: its user's set is told once, with the latest expiry
      const families = new Map<string, { key: string; family: string; until: number }>();
      for (const g of grants) {
        const rec = record(g);
        const hash = tokenHash(g.value);
        ops.push(
          r.set(this.keys.token(hash), JSON.stringify(rec), 'PXAT', g.expiresAt),
          r.trackMember(this.keys.family(rec.family), hash, g.expiresAt),
        );
        if (g.format === 'hex128') ops.push(r.set(this.keys.expired(hash), '1', 'PXAT', g.expiresAt + EXPIRED_MEMORY_MS));
        const key = this.keys.userFamilies(rec.userId);
        const seen = families.get(`${key}\u0000${rec.family}`);
        if (seen === undefined) families.set(`${key}\u0000${rec.family}`, { key, family: rec.family, until: g.expiresAt });
        else seen.until = Math.max(seen.until, g.expiresAt);
      }
      for (const f of families.values()) ops.push(r.trackMember(f.key, f.family, f.until));
      return Promise.all(ops);
    });
  }

  /** The record of a live token, or null. */
  async get(token: string): Promise<TokenRecord | null> {
    const st = await this.lookup(token);
    return st.state === 'live' ? st.record : null;
  }

  async lookup(token: string): Promise<TokenState> {
    const hash = tokenHash(token);
    const raw = await guarded(() => this.redis.get(this.keys.token(hash)));
    if (raw !== null) return decode(raw);
    // only PEB tokens (128 hex) leave an "expired" memory: other unknown tokens cost no second trip
    return HEX128.test(token) ? this.gone(hash) : { state: 'unknown' };
  }

  private async gone(hash: string): Promise<TokenState> {
    const expired = await guarded(() => this.redis.pttl(this.keys.expired(hash)));
    // The memory outlives the token by EXPIRED_MEMORY_MS; if it is still that young, the token was revoked or renewed, not expired.
    return expired > 0 && expired <= EXPIRED_MEMORY_MS ? { state: 'expired' } : { state: 'unknown' };
  }

  useRefresh(token: string): Promise<TokenState> {
    return guarded(async () => scriptState(await this.redis.useRefresh(this.keyOf(token))));
  }

  async consume(token: string): Promise<TokenState> {
    const hash = tokenHash(token);
    const st = await guarded(async () => scriptState(await this.redis.consumeAccess(this.keys.token(hash))));
    if (st.state === 'live') await this.forget([hash], 'renewed');
    if (st.state === 'unknown' && HEX128.test(token)) return this.gone(hash);
    return st;
  }

  /** Revokes one token (and forgets that it ever expired). Returns whether it was live. */
  async revoke(token: string, reason: RevokeReason): Promise<boolean> {
    const hash = tokenHash(token);
    const deleted = await guarded(() => this.redis.del(this.keys.token(hash)));
    await this.forget([hash], reason);
    return deleted > 0;
  }

  /** Revokes every token of a login family; returns how many were live. */
  async revokeFamily(family: string, reason: RevokeReason): Promise<number> {
    const key = this.keys.family(family);
    // Mark first, then collect: a rotation that adds to the family after this SMEMBERS sees the
    // mark when it checks (isFamilyRevoked), one that added before is in the set.
    const ttl = await guarded(() => this.redis.pttl(key));
    await guarded(() => this.redis.set(this.keys.revokedFamily(family), reason, 'PX', ttl > 0 ? ttl : 86_400_000));
    const hashes = await guarded(() => this.redis.smembers(key));
    const deleted = await guarded(() => Promise.all(hashes.map((h) => this.redis.del(this.keys.token(h)))));
    await guarded(() => this.redis.del(key));
    await this.forget(hashes, reason);
    return deleted.reduce((a, b) => a + b, 0);
  }

  /** Revokes every token of a user; returns how many were live. */
  async revokeUser(userId: number, reason: RevokeReason): Promise<number> {
    const key = this.keys.userFamilies(userId);
    const families = await guarded(() => this.redis.smembers(key));
    const counts = await Promise.all(families.map((f) => this.revokeFamily(f, reason)));
    await guarded(() => this.redis.del(key));
    return counts.reduce((a, b) => a + b, 0);
  }

  isFamilyRevoked(family: string): Promise<boolean> {
    return guarded(async () => (await this.redis.exists(this.keys.revokedFamily(family))) === 1);
  }

  isBlacklisted(jti: string): Promise<boolean> {
    return guarded(async () => (await this.redis.exists(this.keys.blacklist(jti))) === 1);
  }

  /**
   * Blacklists a SimpleJWT refresh token until its expiry. Its record stays (SimpleJWT's verify
   * ignores the blacklist unless BLACKLIST_AFTER_ROTATION is on); refresh, blacklist and
   * introspection consult the blacklist.
   */
  async blacklist(token: string, jti: string, expiresAtMs: number): Promise<void> {
    await guarded(() => this.redis.set(this.keys.blacklist(jti), '1', 'PXAT', expiresAtMs));
    await this.forget([tokenHash(token)], 'blacklist');
  }

  /** Drops "expired" memories of revoked tokens and tells caches to forget them. */
  private async forget(hashes: readonly string[], reason: RevocationMessage['reason']): Promise<void> {
    if (hashes.length === 0) return;
    const message: RevocationMessage = { hashes, reason };
    await guarded(() =>
      Promise.all([
        ...hashes.map((h) => this.redis.del(this.keys.expired(h))),
        this.redis.publish(this.keys.revocations, JSON.stringify(message)),
      ]),
    );
  }
}
