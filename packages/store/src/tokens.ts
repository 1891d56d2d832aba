import { HEX128, type RevokeReason, type TokenGrant, type TokenRecord, type TokenState } from '@tessera/core';
import { type Dialect, tokenRevokedEvent } from '@tessera/events';
import { guarded } from './errors.ts';
import { tokenHash } from './hash.ts';
import type { KeyLayout } from './keys.ts';
import { FamilyLive } from './lua-codes.ts';
import { decodeFamily, encodeFamily, encodeRecord, recordShardTag, recordState, scriptState } from './record.ts';
import type { TesseraRedis } from './redis.ts';
import { entryHash, FAMILY_SCORES, familyEnd, splitHashes } from './token-index.ts';
import { decodeUser, pairsToObject } from './user-record.ts';

/** How long after a PEB token's expiry Tessera still says "expired" (error 10) rather than "invalid". */
const EXPIRED_MEMORY_MS = 30 * 86_400_000;

import type { Eviction, RevocationMessage, TokenLimits } from './token-types.ts';

export type { Eviction, RevocationMessage, TokenLimits } from './token-types.ts';

/** How many index entries one revocation step reads and deletes. */
const BATCH = 128;

const sum = (ns: readonly number[]) => ns.reduce((a, b) => a + b, 0);

/** A revoked family's mark lasts at least this long. */
const MARK_MIN_MS = 60_000;

/**
 * Tokens in Redis, laid out for memory (every byte is paid per live token):
 * - `<prefix>t:{tokenHash(token)}` → the record as a short string (record.ts), expiring exactly
 *   at the token's expiry (PXAT), so the key lives as long as the token and no longer;
 * - `<prefix>ti:{u<userId>}` → the user's token index, one sorted set (indexTokens-1.lua): the
 *   user's login families by their end and each family's token hashes oldest first, so a family
 *   or a user can be revoked. It is bounded (`TokenLimits`): past the bounds the oldest tokens, or
 *   the family that ends first, are revoked like any other (reason `evicted`), so no token
 *   operation costs Redis more than a bounded amount, however long a client refreshes; expired
 *   tokens leave it (unannounced) as their family is written.
 * - `<prefix>fr:{family}` marks a revoked family while a rotation could still add to it.
 * - `<prefix>ui:{u<userId>}`, the index of an earlier release (one hash per user), is no longer
 *   written; revocations read it until it expires with its latest token.
 * Revocations are announced on a pub/sub channel, and each is one audit event in the outbox
 * (token.revoked, token.reuse_detected), appended here whoever revokes: the caller says why and,
 * when another party asked, who (`dialect`). The event follows the deletions it counts; it cannot
 * be appended by the same script, as login events are: the outboxes are in the account shards' slots, a
 * token's key in its own and a user's index in the user's (keys.ts), which no one script on Redis
 * Cluster can touch together.
 */
export class TokenRepository {
  /** Told first of every token this process revokes, renews or blacklists (its own cache). */
  onForget: ((hashes: readonly string[]) => void) | undefined;

  constructor(
    private readonly redis: TesseraRedis,
    private readonly keys: KeyLayout,
    private readonly limits: TokenLimits,
  ) {}

  /** When a token's record goes: at its expiry; a JWT's, LEEWAY later (it verifies until then). */
  private keptUntil(g: TokenGrant): number {
    return g.format === 'jwt' ? g.expiresAt + (this.limits.jwtLeewayMs ?? 0) : g.expiresAt;
  }

  /**
   * The outbox of a token event: the shard of the user's id when the event names one (a user's
   * token events stay in order), else of its family, else of its dialect (one caller's revocations
   * by token stay in order).
   */
  private outboxOf(event: string): string {
    return this.outboxFor(JSON.parse(event) as { userId?: unknown; family?: unknown; dialect?: unknown });
  }

  /** The same, from the event's fields (a caller that has them need not read its JSON again). */
  private outboxFor({ userId, family, dialect }: { userId?: unknown; family?: unknown; dialect?: unknown }): string {
    const by = typeof userId === 'number' ? String(userId) : typeof family === 'string' ? family : String(dialect ?? '');
    return this.keys.outbox(this.keys.shardOf(by));
  }

  /**
   * The hash tag of the owner's account shard, for the records useRefresh trades in (opaque
   * refresh tokens), which carry it (record.ts); none for the others (every byte of a record is
   * paid per live token).
   */
  private ownerShardTag(rec: TokenRecord): string | undefined {
    return rec.kind === 'refresh' && rec.format !== 'jwt' ? this.keys.shardTagOf(rec.username) : undefined;
  }

  keyOf(token: string): string {
    return this.keys.token(tokenHash(token));
  }

  /**
   * Saves tokens and adds them to their families; revokes what the families' and the user's
   * bounds push out (announced and recorded like any revocation, reason `evicted`) and says what
   * that was.
   */
  async save(grants: readonly TokenGrant[], record: (grant: TokenGrant) => TokenRecord): Promise<Eviction[]> {
    const tokens: { hash: string; value: string; grant: TokenGrant }[] = [];
    // one index write per (user, family): the grants of one save normally share both
    const families = new Map<string, { userId: number; family: string; argv: (string | number)[] }>();
    for (const g of grants) {
      const rec = record(g);
      const hash = tokenHash(g.value);
      tokens.push({ hash, value: encodeRecord(rec, this.ownerShardTag(rec)), grant: g });
      const family = encodeFamily(rec.family);
      const id = `${rec.userId} ${family}`;
      const entry = families.get(id) ?? { userId: rec.userId, family, argv: [] };
      families.set(id, entry);
      entry.argv.push(this.keptUntil(g), `${rec.kind === 'refresh' ? 'r' : 'a'}${hash}`);
    }
    const r = this.redis;
    const { perFamily, familiesPerUser } = this.limits;
    const track = (f: { userId: number; family: string; argv: (string | number)[] }) =>
      r.indexTokens(this.keys.tokenIndex(f.userId), f.family, perFamily, familiesPerUser, ...f.argv);
    const written = [...families.values()];
    const tracked = await guarded(() =>
      Promise.all([
        Promise.all(written.map(track)),
        ...tokens.flatMap(({ hash, value, grant: g }) => [
          r.set(this.keys.token(hash), value, 'PXAT', this.keptUntil(g)),
          ...(g.format === 'hex128' ? [r.set(this.keys.expired(hash), '1', 'PXAT', g.expiresAt + EXPIRED_MEMORY_MS)] : []),
        ]),
      ]),
    );
    const groups = tracked[0].flatMap((gs, i) => gs.map((group) => ({ userId: (written[i] as { userId: number }).userId, group })));
    return this.evict(groups);
  }

  /**
   * Saves the new tokens of a refresh into their family and then makes sure the family was not
   * revoked meanwhile (a reuse detected by a concurrent request: the revocation marks the family
   * before it reads the index); if it was not, appends the refresh's `event`. False when the
   * family was revoked: the caller revokes the new tokens with it.
   *
   * One round trip on one Redis: the check and the event (familyLive-2.lua) go in the same
   * pipeline as the writes, behind them, on the one connection that executes them in order. On a
   * cluster the writes, the check and the event are three steps: the check must run after writes
   * that other nodes take, and the mark and the outbox are in different slots.
   */
  async saveRefreshed(
    grants: readonly TokenGrant[],
    record: (grant: TokenGrant) => TokenRecord,
    family: string,
    event: string,
  ): Promise<boolean> {
    if (this.redis.isCluster) {
      await this.save(grants, record);
      if (await this.isFamilyRevoked(family)) return false;
      await guarded(() => this.redis.xadd(this.outboxOf(event), '*', 'e', event));
      return true;
    }
    // both calls issue their commands now, in this order, into one pipeline
    const saved = this.save(grants, record);
    const live = guarded(() => this.redis.familyLive(this.keys.revokedFamily(family), this.outboxOf(event), event));
    const [, answer] = await Promise.all([saved, live]);
    return answer === FamilyLive.Live;
  }

  /** The record of a live token, or null. */
  async get(token: string): Promise<TokenRecord | null> {
    const st = await this.lookup(token);
    return st.state === 'live' ? st.record : null;
  }

  /** What Redis knows of a token; `hash` is its tokenHash when the caller has it already. */
  async lookup(token: string, hash: string = tokenHash(token)): Promise<TokenState> {
    const raw = await guarded(() => this.redis.get(this.keys.token(hash)));
    if (raw !== null) return recordState(raw);
    // only PEB tokens (128 hex) leave an "expired" memory: other unknown tokens cost no second trip
    return HEX128.test(token) ? this.gone(hash) : { state: 'unknown' };
  }

  private async gone(hash: string): Promise<TokenState> {
    const expired = await guarded(() => this.redis.pttl(this.keys.expired(hash)));
    // The memory outlives the token by EXPIRED_MEMORY_MS; if it is still that young, the token was revoked or renewed, not expired.
    return expired > 0 && expired <= EXPIRED_MEMORY_MS ? { state: 'expired' } : { state: 'unknown' };
  }

  /**
   * Trades in a refresh token (useRefresh-1.lua). On one Redis its owner is read in the same step
   * (`owner` of a live state; null when the user is gone) by the hash tag of its account shard
   * that the record carries, and believed if that is still its username's shard in this layout
   * (TESSERA_ACCOUNT_SHARDS may have changed since: the account is elsewhere, or one stranded
   * there is an old copy) and the account's id is the record's. Otherwise, for a record written
   * before records carried the tag, and on a cluster (another slot), the state has no `owner`: the
   * caller reads it.
   */
  useRefresh(token: string): Promise<TokenState> {
    return guarded(async () => {
      if (this.redis.isCluster) {
        const [code, raw] = await this.redis.useRefresh(this.keyOf(token));
        return scriptState([code, raw]);
      }
      const [code, raw, user] = await this.redis.useRefresh(this.keyOf(token), this.keys.prefix);
      const st = scriptState([code, raw]);
      if (st.state !== 'live' || user === undefined || recordShardTag(raw as string) !== this.keys.shardTagOf(st.record.username))
        return st;
      const owner = decodeUser(pairsToObject(user));
      return owner === null || owner.id === st.record.userId ? { ...st, owner } : st;
    });
  }

  async consume(token: string): Promise<TokenState> {
    const hash = tokenHash(token);
    const st = await guarded(async () => scriptState(await this.redis.consumeAccess(this.keys.token(hash))));
    if (st.state === 'live') await this.forget([hash], 'renewed');
    if (st.state === 'unknown' && HEX128.test(token)) return this.gone(hash);
    return st;
  }

  /** Revokes one token (and forgets that it ever expired), with its event. Returns whether it was live. */
  async revoke(token: string, reason: RevokeReason, dialect?: Dialect): Promise<boolean> {
    const event = (live: readonly number[]) => [tokenRevokedEvent({ dialect, reason, count: sum(live) })];
    const hash = tokenHash(token);
    if (this.redis.isCluster) return sum(await this.kill([hash], reason, event)) > 0;
    // one Redis: one round trip, the script (revokeToken-3.lua) then the announcement; the event of
    // a token that was not live (it expired or went meanwhile) follows in a second
    this.onForget?.([hash]);
    const message: RevocationMessage = { hashes: [hash], reason };
    const k = this.keys;
    const revoked = event([1])[0] as string;
    const outbox = this.outboxFor({ dialect });
    const [live] = await guarded(() =>
      Promise.all([
        this.redis.revokeToken(k.token(hash), k.expired(hash), outbox, revoked),
        this.redis.publish(k.revocations, JSON.stringify(message)),
      ]),
    );
    if (live === 0) await guarded(() => this.redis.xadd(outbox, '*', 'e', event([0])[0] as string));
    return live === 1;
  }

  /** Revokes every token of a login family of a user, with its event; returns how many were live. */
  async revokeFamily(userId: number, family: string, reason: RevokeReason, dialect?: Dialect): Promise<number> {
    const count = await this.revokeFamilyTokens(userId, family, reason);
    // its event follows the last step (the count is known then)
    await this.forget([], reason, [tokenRevokedEvent({ dialect, userId, family, reason, count })]);
    return count;
  }

  /**
   * Revokes every token of a login family of a user, without its event; returns how many were
   * live. Works in steps of at most BATCH tokens, each of which can be repeated: a token leaves the
   * index only after it is deleted and announced, and the family leaves the user's sessions only
   * once it is empty, so a revocation cut short (Redis timeout, failover) is completed by the next
   * attempt.
   */
  private async revokeFamilyTokens(userId: number, family: string, reason: RevokeReason): Promise<number> {
    const field = encodeFamily(family);
    const index = this.keys.tokenIndex(userId);
    const legacy = this.keys.legacyIndex(userId);
    // Mark first, then read: a rotation that adds to the family after the read sees the mark when
    // it checks (isFamilyRevoked) and revokes its own tokens; one that added before is in what is
    // read. The mark outlives the family (so every token of it), and at least a minute. The
    // earlier index is read at once: nothing adds to it any more.
    const [score, legacyTtl, legacyEntry] = await guarded(() =>
      Promise.all([this.redis.zscore(index, field), this.redis.pttl(legacy), this.redis.hget(legacy, field)]),
    );
    const now = Date.now();
    const until = Math.max(score === null ? 0 : familyEnd(score), legacyTtl > 0 ? now + legacyTtl : 0, now + MARK_MIN_MS);
    await guarded(() => this.redis.set(this.keys.revokedFamily(family), reason, 'PXAT', until));
    let count = 0;
    // each step takes out of the index what the previous one revoked, and reads the next entries
    let done: string[] = [];
    for (;;) {
      const read = done;
      const batch = await guarded(() => this.redis.revokeStep(index, field, BATCH, ...read));
      if (batch.length === 0) break;
      count += sum(await this.kill(batch.map(entryHash), reason));
      done = batch;
    }
    return count + (legacyEntry === null ? 0 : await this.revokeLegacyFamily(legacy, field, legacyEntry, reason));
  }

  /** The same for a family's entry in the index of the earlier layout (read whole: nothing adds to it any more). */
  private async revokeLegacyFamily(index: string, field: string, entry: string, reason: RevokeReason): Promise<number> {
    const count = sum(await this.kill(splitHashes(entry), reason));
    await guarded(() => this.redis.dropLegacyFamily(index, field, entry));
    return count;
  }

  /**
   * Revokes every token of a user, with one event for them all; returns how many were live. The
   * user's families are visited BATCH at a time, by their end (a family's end only grows, so one
   * that is there when the visit starts is not skipped), then the earlier index (HSCAN); each
   * family is revoked as above, so no step reads or writes more than a bounded number of entries,
   * however many the user has.
   */
  async revokeUser(userId: number, reason: RevokeReason, dialect?: Dialect): Promise<number> {
    let count = 0;
    const revokeAll = async (fields: readonly string[]) => {
      count += sum(await Promise.all(fields.map((f) => this.revokeFamilyTokens(userId, decodeFamily(f), reason))));
    };
    const index = this.keys.tokenIndex(userId);
    let after = String(FAMILY_SCORES);
    for (;;) {
      const from = after;
      // member, score, member, score, ...
      const flat = await guarded(() => this.redis.zrange(index, from, '+inf', 'BYSCORE', 'LIMIT', 0, BATCH, 'WITHSCORES'));
      if (flat.length === 0) break;
      await revokeAll(flat.filter((_, i) => i % 2 === 0));
      after = `(${flat[flat.length - 1]}`;
    }
    let cursor = '0';
    do {
      const [next, flat] = await guarded(() => this.redis.hscan(this.keys.legacyIndex(userId), cursor, 'COUNT', BATCH));
      cursor = next;
      // field, value, field, value, ...
      await revokeAll(flat.filter((_, i) => i % 2 === 0));
    } while (cursor !== '0');
    await this.forget([], reason, [tokenRevokedEvent({ dialect, userId, reason, count })]);
    return count;
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
    // as long as the token verifies: its expiry, and LEEWAY past it
    await guarded(() => this.redis.set(this.keys.blacklist(jti), '1', 'PXAT', expiresAtMs + (this.limits.jwtLeewayMs ?? 0)));
    await this.forget([tokenHash(token)], 'blacklist');
  }

  /**
   * Revokes what indexTokens took out past the bounds: a family taken whole is marked revoked (so
   * a rotation racing the eviction revokes what it adds), then every token dies as any revoked one,
   * each group with its event (announced together).
   */
  private async evict(groups: readonly { userId: number; group: readonly string[] }[]): Promise<Eviction[]> {
    if (groups.length === 0) return [];
    const now = Date.now();
    const mark = (group: readonly string[]) =>
      group[1] === '0'
        ? null
        : this.redis.set(
            this.keys.revokedFamily(decodeFamily(group[0] as string)),
            'evicted',
            'PXAT',
            Math.max(Number(group[1]), now + MARK_MIN_MS),
          );
    const hashes = groups.map(({ group }) => group.slice(2).map((m) => m.slice(1)));
    const evictions = (live: readonly number[]): Eviction[] => {
      let at = 0;
      return groups.map(({ userId, group }, i) => {
        const n = (hashes[i] as string[]).length;
        at += n;
        return { userId, family: decodeFamily(group[0] as string), count: sum(live.slice(at - n, at)), whole: group[1] !== '0' };
      });
    };
    const events = (live: readonly number[]) =>
      evictions(live).map(({ userId, family, count }) => tokenRevokedEvent({ userId, family, reason: 'evicted', count }));
    const [, live] = await Promise.all([
      guarded(() => Promise.all(groups.map(({ group }) => mark(group)))),
      this.kill(hashes.flat(), 'evicted', events),
    ]);
    return evictions(live);
  }

  /**
   * Deletes tokens, then forgets them with the events `events` makes of what was deleted; says of
   * each token whether it was live (1) or not (0).
   */
  private async kill(
    hashes: readonly string[],
    reason: RevocationMessage['reason'],
    events?: (live: readonly number[]) => readonly string[],
  ): Promise<number[]> {
    const deleted = await guarded(() => Promise.all(hashes.map((h) => this.redis.del(this.keys.token(h)))));
    await this.forget(hashes, reason, events?.(deleted) ?? []);
    return deleted;
  }

  /**
   * Drops "expired" memories of revoked tokens and tells caches to forget them (this process's
   * first, every process's through the revocations channel); appends the revocation's audit
   * events (JSON) to the outbox in the same round trip.
   */
  private async forget(hashes: readonly string[], reason: RevocationMessage['reason'], events: readonly string[] = []): Promise<void> {
    if (hashes.length > 0) this.onForget?.(hashes);
    const message: RevocationMessage = { hashes, reason };
    await guarded(() =>
      Promise.all([
        ...hashes.map((h) => this.redis.del(this.keys.expired(h))),
        ...(hashes.length > 0 ? [this.redis.publish(this.keys.revocations, JSON.stringify(message))] : []),
        ...events.map((e) => this.redis.xadd(this.outboxOf(e), '*', 'e', e)),
      ]),
    );
  }
}
