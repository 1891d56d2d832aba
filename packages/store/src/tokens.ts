import { HEX128, type RevokeReason, type TokenGrant, type TokenRecord, type TokenState } from '@tessera/core';
import { guarded } from './errors.ts';
import { tokenHash } from './hash.ts';
import type { KeyLayout } from './keys.ts';
import { decodeFamily, decodeRecord, encodeFamily, encodeRecord } from './record.ts';
import type { TesseraRedis } from './redis.ts';

/** How long after a PEB token's expiry Tessera still says "expired" (error 10) rather than "invalid". */
const EXPIRED_MEMORY_MS = 30 * 86_400_000;

/** A revocation announcement on the revocations channel. */
export interface RevocationMessage {
  readonly hashes: readonly string[];
  readonly reason: RevokeReason | 'blacklist' | 'renewed';
}

function decode(raw: string): TokenState {
  return raw.startsWith('U') ? { state: 'used', record: decodeRecord(raw.slice(1)) } : { state: 'live', record: decodeRecord(raw) };
}

function scriptState([code, raw]: [number, string?]): TokenState {
  if (code === -1 || raw === undefined) return { state: 'unknown' };
  // consumeAccess answers a used refresh token as 'wrong kind', mark included
  const record = decodeRecord(raw.startsWith('U') ? raw.slice(1) : raw);
  if (code === 1) return { state: 'used', record };
  if (code === 2) return { state: 'wrong_kind', record };
  return { state: 'live', record };
}

/** The hashes of a family's index entry: per token, its expiry (7 characters) and its name (22). */
function splitHashes(entry: string): string[] {
  const out: string[] = [];
  for (let i = 0; i + ENTRY_LENGTH <= entry.length; i += ENTRY_LENGTH) out.push(entry.slice(i + 7, i + ENTRY_LENGTH));
  return out;
}

const ENTRY_LENGTH = 29;

/** An expiry as the index keeps it: seconds since epoch (rounded up), base 36, 7 characters. */
function expiryField(expiresAtMs: number): string {
  return Math.ceil(expiresAtMs / 1000)
    .toString(36)
    .padStart(7, '0');
}

/**
 * Tokens in Redis, laid out for memory (every byte is paid per live token):
 * - `<prefix>t:{tokenHash(token)}` → the record as a short string (record.ts), expiring exactly
 *   at the token's expiry (PXAT), so the key lives as long as the token and no longer;
 * - `<prefix>ui:{u<userId>}` → the user's token index, one small hash: field = login family,
 *   value = the family's token hashes (trackFamily-1.lua), so a family or a user can be revoked at
 *   once. It lives as long as the user's latest token.
 * - `<prefix>fr:{family}` marks a revoked family while a rotation could still add to it.
 * Revocations are announced on a pub/sub channel.
 */
export class TokenRepository {
  /** Told first of every token this process revokes, renews or blacklists (its own cache). */
  onForget: ((hashes: readonly string[]) => void) | undefined;

  constructor(
    private readonly redis: TesseraRedis,
    private readonly keys: KeyLayout,
  ) {}

  keyOf(token: string): string {
    return this.keys.token(tokenHash(token));
  }

  async save(grants: readonly TokenGrant[], record: (grant: TokenGrant) => TokenRecord): Promise<void> {
    const tokens: { hash: string; value: string; grant: TokenGrant }[] = [];
    // one index entry per (user, family): the grants of one save normally share both
    const families = new Map<string, { userId: number; family: string; entries: string }>();
    for (const g of grants) {
      const rec = record(g);
      const hash = tokenHash(g.value);
      tokens.push({ hash, value: encodeRecord(rec), grant: g });
      const family = encodeFamily(rec.family);
      const id = `${rec.userId} ${family}`;
      const entry = families.get(id);
      const add = expiryField(g.expiresAt) + hash;
      if (entry === undefined) families.set(id, { userId: rec.userId, family, entries: add });
      else entry.entries += add;
    }
    const r = this.redis;
    await guarded(() =>
      Promise.all([
        ...tokens.flatMap(({ hash, value, grant: g }) => [
          r.set(this.keys.token(hash), value, 'PXAT', g.expiresAt),
          ...(g.format === 'hex128' ? [r.set(this.keys.expired(hash), '1', 'PXAT', g.expiresAt + EXPIRED_MEMORY_MS)] : []),
        ]),
        ...[...families.values()].map((f) => r.trackFamily(this.keys.userFamilies(f.userId), f.family, f.entries)),
      ]),
    );
  }

  /** The record of a live token, or null. */
  async get(token: string): Promise<TokenRecord | null> {
    const st = await this.lookup(token);
    return st.state === 'live' ? st.record : null;
  }

  /** What Redis knows of a token; `hash` is its tokenHash when the caller has it already. */
  async lookup(token: string, hash: string = tokenHash(token)): Promise<TokenState> {
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

  /**
   * Revokes every token of a login family of a user; returns how many were live. Each step can be
   * repeated: the family leaves the index only after its tokens are gone and announced, so a
   * revocation cut short (Redis timeout, failover) is completed by the next attempt.
   */
  async revokeFamily(userId: number, family: string, reason: RevokeReason): Promise<number> {
    const index = this.keys.userFamilies(userId);
    const field = encodeFamily(family);
    // Mark first, then read: a rotation that adds to the family after the read sees the mark when
    // it checks (isFamilyRevoked) and revokes its own tokens; one that added before is in what was
    // read. The mark outlives the index (so every token of the family), and at least a minute.
    const ttl = await guarded(() => this.redis.pttl(index));
    await guarded(() => this.redis.set(this.keys.revokedFamily(family), reason, 'PX', Math.max(ttl, 60_000)));
    const entry = await guarded(() => this.redis.hget(index, field));
    if (entry === null) return 0;
    const hashes = splitHashes(entry);
    const deleted = await guarded(() => Promise.all(hashes.map((h) => this.redis.del(this.keys.token(h)))));
    await this.forget(hashes, reason);
    await guarded(() => this.redis.dropFamily(index, field, entry));
    return deleted.reduce((a, b) => a + b, 0);
  }

  /** Revokes every token of a user; returns how many were live. */
  async revokeUser(userId: number, reason: RevokeReason): Promise<number> {
    // each family taken leaves the index; the index disappears with its last family
    const families = await guarded(() => this.redis.hkeys(this.keys.userFamilies(userId)));
    const counts = await Promise.all(families.map((f) => this.revokeFamily(userId, decodeFamily(f), reason)));
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
    this.onForget?.(hashes);
    const message: RevocationMessage = { hashes, reason };
    await guarded(() =>
      Promise.all([
        ...hashes.map((h) => this.redis.del(this.keys.expired(h))),
        this.redis.publish(this.keys.revocations, JSON.stringify(message)),
      ]),
    );
  }
}
