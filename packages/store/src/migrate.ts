import type { Redis } from 'ioredis';
import { guarded } from './errors.ts';
import type { KeyLayout } from './keys.ts';
import type { TesseraRedis } from './redis.ts';

/**
 * The one line a service says, refusing to start, when Redis still holds the earlier one-slot
 * layout (`{users}`): its id sequence or its outbox (every deployment that made a user has the
 * sequence; `migrate-keys` removes both last). Null when there is none.
 */
export async function legacyLayoutProblem(redis: Redis, keys: KeyLayout): Promise<string | null> {
  const old = keys.legacyUsers;
  // (one slot: the two keys share the {users} tag)
  const found = await guarded(() => redis.exists(`${old}seq`, `${old}outbox`));
  return found > 0
    ? `Redis holds users in the earlier key layout (${old}…): run \`tessera migrate-keys\` first (docs/operations.md, "Key layout")`
    : null;
}

/** What `migrateKeys` did, by kind of key. */
export interface MigrationCounts {
  users: number;
  /** Email and id index entries no account record named (moved as they were). */
  entries: number;
  locks: number;
  events: number;
  /** Keys of attempts in flight and rate counters, which only live minutes: dropped. */
  dropped: number;
}

export interface MigrateOptions {
  /** Told after each batch, with the counts so far. */
  readonly progress?: (phase: string, counts: Readonly<MigrationCounts>) => void;
  /** Stops (as a crash would) after this many users; for tests of a rerun. */
  readonly stopAfterUsers?: number;
}

const BATCH = 200;

/** The master nodes of a cluster, or the one Redis: SCAN runs on each (the old layout is in one slot, on one of them). */
function nodesOf(redis: Redis): Redis[] {
  const cluster = redis as unknown as { nodes?: (role: string) => Redis[] };
  return typeof cluster.nodes === 'function' ? cluster.nodes('master') : [redis];
}

async function* scan(redis: Redis, match: string): AsyncGenerator<string[]> {
  for (const node of nodesOf(redis)) {
    let cursor = '0';
    do {
      const [next, found] = await guarded(() => node.scan(cursor, 'MATCH', match, 'COUNT', 1000));
      cursor = next;
      if (found.length > 0) yield found;
    } while (cursor !== '0');
  }
}

/** Copies a key whole (value and remaining lifetime) to another name; false when it is gone. */
async function move(redis: Redis, from: string, to: string): Promise<boolean> {
  const [dump, ttl] = await guarded(() => Promise.all([redis.dumpBuffer(from), redis.pttl(from)]));
  if (dump === null || ttl === -2) return false;
  await guarded(() => redis.restore(to, Math.max(ttl, 0), dump, 'REPLACE'));
  await guarded(() => redis.del(from));
  return true;
}

/**
 * Moves the data of the one-slot layout (`<prefix>{users}:…`) into the account shards (keys.ts),
 * in steps each of which can be repeated, so a run cut short (a crash, Ctrl-C) is completed by the
 * next: every key is written at its new place before the old one is deleted, and a rerun writes
 * it again the same way (a record is copied whole, REPLACE). Run it with the services stopped
 * (they refuse to start while the old layout is there: legacyLayoutProblem). Order:
 * 1. the id sequence is moved past the old one (the old key stays until the end);
 * 2. each user: record, email and id entries, its account's lock and its username's, then the old keys;
 * 3. what is left: index entries no record named, the locks of unknown identifiers, the lockouts
 *    index, the revocations due, the outbox (its events, in order, to shard 0's outbox; a repeat
 *    delivery of an event after a crash is one job: its id is the event's); reservations and
 *    rate counters are dropped (they live minutes, and no attempt is in flight);
 * 4. the old sequence, last.
 */
export async function migrateKeys(redis: TesseraRedis, keys: KeyLayout, options: MigrateOptions = {}): Promise<MigrationCounts> {
  const old = keys.legacyUsers;
  const counts: MigrationCounts = { users: 0, entries: 0, locks: 0, events: 0, dropped: 0 };
  const tell = (phase: string) => options.progress?.(phase, counts);
  const oldSeq = await guarded(() => redis.get(`${old}seq`));
  if (oldSeq !== null) await guarded(() => redis.raiseSeq(keys.userSeq, oldSeq));

  for await (const batch of scan(redis, `${old}u:*`)) {
    for (const key of batch) {
      if (options.stopAfterUsers !== undefined && counts.users >= options.stopAfterUsers) return counts;
      const username = key.slice(`${old}u:`.length);
      const [id, email] = await guarded(() => redis.hmget(key, 'id', 'email'));
      const shard = keys.shardOf(username);
      const fresh = keys.user(username);
      const dump = await guarded(() => redis.dumpBuffer(key));
      if (dump === null) continue;
      await guarded(() => redis.restore(fresh, 0, dump, 'REPLACE'));
      const writes: Promise<unknown>[] = [];
      if (email) writes.push(redis.set(keys.email(email), username));
      if (id !== null) writes.push(redis.set(keys.userId(Number(id)), username));
      await guarded(() => Promise.all(writes));
      for (const lock of [...(id === null ? [] : [`a:${id}`]), `u:${username}`])
        if (await move(redis, `${old}lk:${lock}`, keys.lockout(lock, shard))) counts.locks++;
      const gone = [key, ...(id === null ? [] : [`${old}id:${id}`])];
      if (email && (await guarded(() => redis.get(`${old}email:${email}`))) === username) gone.push(`${old}email:${email}`);
      await guarded(() => Promise.all(gone.map((k) => redis.del(k))));
      counts.users++;
      if (counts.users % 1000 === 0) tell('users');
    }
  }
  tell('users');

  // index entries no record named: kept where they point (read as absent unless the account holds them)
  for (const [kind, entry] of [
    ['email:', (v: string) => keys.email(v)],
    ['id:', (v: string) => keys.userId(Number(v))],
  ] as const) {
    for await (const batch of scan(redis, `${old}${kind}*`)) {
      for (const key of batch) {
        const username = await guarded(() => redis.get(key));
        if (username !== null) await guarded(() => redis.set(entry(key.slice(`${old}${kind}`.length)), username, 'NX'));
        await guarded(() => redis.del(key));
        counts.entries++;
      }
    }
  }

  // the lock of an account goes to its shard, found through its id's entry; other locks by their text
  const shardOfLock = async (lock: string): Promise<number | null> => {
    if (!lock.startsWith('a:')) return keys.shardOf(lock.slice(2));
    const username = await guarded(() => redis.get(keys.userId(Number(lock.slice(2)))));
    return username === null ? null : keys.shardOf(username);
  };
  for await (const batch of scan(redis, `${old}lk:*`)) {
    for (const key of batch) {
      const lock = key.slice(`${old}lk:`.length);
      const shard = await shardOfLock(lock);
      if (shard === null) await guarded(() => redis.del(key));
      else if (await move(redis, key, keys.lockout(lock, shard))) counts.locks++;
    }
  }
  for (const pattern of [`${old}lki:*`, `${old}rl:*`]) {
    for await (const batch of scan(redis, pattern)) {
      await guarded(() => Promise.all(batch.map((k) => redis.del(k))));
      counts.dropped += batch.length;
    }
  }
  tell('locks');

  const index = `${old}lockouts`;
  const listed = await guarded(() => redis.zrange(index, 0, -1, 'WITHSCORES'));
  for (let i = 0; i + 1 < listed.length; i += 2) {
    const lock = listed[i] as string;
    const shard = await shardOfLock(lock);
    if (shard !== null) await guarded(() => redis.zadd(keys.lockouts(shard), listed[i + 1] as string, lock));
  }
  await guarded(() => redis.del(index));

  const due = await guarded(() => redis.hgetall(`${old}revoke`));
  for (const [id, reason] of Object.entries(due)) {
    const username = await guarded(() => redis.get(keys.userId(Number(id))));
    await guarded(() => redis.hset(keys.revocationsDue(keys.shardOf(username ?? id)), id, reason));
  }
  await guarded(() => redis.del(`${old}revoke`));

  const outbox = `${old}outbox`;
  for (;;) {
    const entries = await guarded(() => redis.xrange(outbox, '-', '+', 'COUNT', BATCH));
    if (entries.length === 0) break;
    for (const [, fields] of entries) await guarded(() => redis.xadd(keys.outbox(0), '*', ...fields));
    await guarded(() => redis.xdel(outbox, ...entries.map(([id]) => id)));
    counts.events += entries.length;
    tell('events');
  }
  await guarded(() => redis.del(outbox));
  await guarded(() => redis.del(`${old}seq`));
  tell('done');
  return counts;
}
