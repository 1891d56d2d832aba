/// <reference path="./cluster-key-slot.d.ts" />
import keySlot from 'cluster-key-slot';

/** Redis Cluster's slots. */
export const SLOTS = 16384;

/**
 * The hash tags of `shards` account shards: tag k is the first `s<k>.<n>` (n = 0, 1, …) whose
 * slot lies in [k·SLOTS/shards, (k+1)·SLOTS/shards), so the shards sit on evenly spaced slots and a
 * cluster whose masters hold even slot ranges holds an even share of them. A pure function of
 * `shards` (every process computes the same tags), memoised.
 */
export function shardTags(shards: number): readonly string[] {
  if (!Number.isInteger(shards) || shards < 1 || shards > SLOTS) throw new RangeError(`account shards: 1 to ${SLOTS}, not ${shards}`);
  let tags = TAGS.get(shards);
  if (tags === undefined) {
    tags = Array.from({ length: shards }, (_, k) => {
      const [lo, hi] = [Math.ceil((k * SLOTS) / shards), Math.ceil(((k + 1) * SLOTS) / shards)];
      for (let n = 0; ; n++) {
        const slot = keySlot(`s${k}.${n}`);
        if (slot >= lo && slot < hi) return `s${k}.${n}`;
      }
    });
    TAGS.set(shards, tags);
  }
  return tags;
}
const TAGS = new Map<number, readonly string[]>();

/**
 * Redis key layout (docs/operations.md, "Key layout", says what lives in which slot and why).
 *
 * Accounts are spread over N shards (TESSERA_ACCOUNT_SHARDS), each one hash tag (shardTags). An
 * account lives in the shard of its username (`shardOf`): its record, its lock and reservations,
 * and the lock of its username as an identifier; each shard has its own outbox stream, lockouts
 * index and revocations-due hash. So one Lua script still decides a login attempt and commits its
 * events. An email's index entry and its lock live in the email's shard, an id's index entry in
 * the id's; both name the account by username. Rate counters have a slot each (`rl:{<address>}`),
 * tokens one per token hash, a user's token index one per user id.
 */
export interface KeyLayout {
  readonly prefix: string;
  /** Number of account shards. */
  readonly shards: number;
  /** The shard of a username, email or id (as text): slot of the text, scaled to the shards. */
  shardOf(text: string): number;
  /** The hash tag of the shard of a username, email or id (shardTags). */
  shardTagOf(text: string): string;
  /** The key prefix of a shard: `<prefix>{<tag>}:`, for scripts that name keys of its slot. */
  shardPrefix(shard: number): string;
  /** The id sequence, from which processes take blocks of ids (ids.ts). */
  readonly userSeq: string;
  /** An account's record, in the username's shard. */
  user(username: string): string;
  /** The email index entry (→ username), in the email's shard. */
  email(lowerEmail: string): string;
  /** The id index entry (→ username), in the id's shard. */
  userId(id: number): string;
  /** A token's record, by tokenHash (record.ts describes the value); expires with the token. */
  token(hash: string): string;
  /** Remembers, past a PEB token's expiry, that it expired (error 10 rather than 9). */
  expired(hash: string): string;
  /** Marks a revoked family, so a rotation racing the revocation notices it. */
  revokedFamily(family: string): string;
  /**
   * A user's token index (indexTokens-1.lua): one sorted set holding the user's login families by
   * their end and each family's tokens oldest first, bounded, in the user's slot. Kept by user id:
   * every revocation of a user names the id.
   */
  tokenIndex(userId: number): string;
  /** A user's token index of the earlier layout (dropLegacyFamily-1.lua): read by revocations until it expires. */
  legacyIndex(userId: number): string;
  /** A blacklisted SimpleJWT refresh token, by jti. */
  blacklist(jti: string): string;
  /** Failures and lock of one lock (`a:<id>`, `u:<username>`, `e:<email>`) in its shard. */
  lockout(lock: string, shard: number): string;
  /** Verifications in flight against one lock, in its shard. */
  reservations(lock: string, shard: number): string;
  /** Login attempts of one client address (an IPv6 /64, see rateGroup) in the current rate window. */
  rate(address: string): string;
  /** A shard's locked locks, scored by the lock's end. */
  lockouts(shard: number): string;
  /** A shard's events committed with their change, drained by the worker. */
  outbox(shard: number): string;
  /** Every shard's outbox, by shard. */
  readonly outboxes: readonly string[];
  /** A shard's users whose tokens an import must still revoke (putUsers-2.lua): user id → reason. */
  revocationsDue(shard: number): string;
  /** A registered introspection client. */
  client(id: string): string;
  /** Ids of all registered clients. */
  readonly clientIndex: string;
  /** Pub/sub channel announcing revoked token hashes (the SDK's cache listens). */
  readonly revocations: string;
  /** The signing keys made by `tessera keys` (signing-keys.ts): kid → sealed record. */
  readonly signingKeys: string;
  /** Pub/sub channel announcing a change of the signing keys (every ingress reloads them). */
  readonly signingKeysChanged: string;
  /** The prefix of every key of the earlier one-slot layout (`{users}`), which migrate-keys moves. */
  readonly legacyUsers: string;
}

export function keyLayout(prefix: string, shards: number): KeyLayout {
  const names = shardTags(shards);
  const tags = names.map((t) => `${prefix}{${t}}:`);
  const shardOf = (text: string) => Math.floor((keySlot(text) * shards) / SLOTS);
  const at = (shard: number) => {
    const p = tags[shard];
    if (p === undefined) throw new RangeError(`no account shard ${shard} of ${shards}`);
    return p;
  };
  const outbox = (shard: number) => `${at(shard)}outbox`;
  return {
    prefix,
    shards,
    shardOf,
    shardTagOf: (text) => names[shardOf(text)] as string,
    shardPrefix: at,
    userSeq: `${prefix}{ids}:seq`,
    user: (username) => `${at(shardOf(username))}u:${username}`,
    email: (lowerEmail) => `${at(shardOf(lowerEmail))}email:${lowerEmail}`,
    userId: (id) => `${at(shardOf(String(id)))}id:${id}`,
    token: (hash) => `${prefix}t:{${hash}}`,
    expired: (hash) => `${prefix}x:{${hash}}`,
    revokedFamily: (family) => `${prefix}fr:{${family}}`,
    tokenIndex: (userId) => `${prefix}ti:{u${userId}}`,
    legacyIndex: (userId) => `${prefix}ui:{u${userId}}`,
    blacklist: (jti) => `${prefix}jb:{${jti}}`,
    lockout: (lock, shard) => `${at(shard)}lk:${lock}`,
    reservations: (lock, shard) => `${at(shard)}lki:${lock}`,
    rate: (address) => `${prefix}rl:{${address}}`,
    lockouts: (shard) => `${at(shard)}lockouts`,
    outbox,
    outboxes: tags.map((_, k) => outbox(k)),
    revocationsDue: (shard) => `${at(shard)}revoke`,
    client: (id) => `${prefix}{clients}:${id}`,
    clientIndex: `${prefix}{clients}`,
    revocations: `${prefix}revocations`,
    signingKeys: `${prefix}{keys}:jwt`,
    signingKeysChanged: `${prefix}jwtkeys`,
    legacyUsers: `${prefix}{users}:`,
  };
}
