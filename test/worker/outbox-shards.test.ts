import { setTimeout as sleep } from 'node:timers/promises';
import { loadSettings } from '@tessera/config';
import { createLogger } from '@tessera/config/log';
import { AUDIT_QUEUE, type AuditEvent, newEvent, queuePrefix } from '@tessera/events';
import { connectRedis, newRedisClient, type TesseraRedis } from '@tessera/store';
import { drainOutbox } from '@tessera/worker';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { dropPrefix, serviceEnv, testKeys, testPrefix } from '../support/stack.ts';

// The drainer reads every account shard's outbox and hands each one's events to the queue in the
// order they were committed, so an account's events (one shard, one stream) keep their order.
describe('worker: the outboxes of all account shards', () => {
  const prefix = testPrefix();
  const settings = loadSettings(serviceEnv(prefix));
  const keys = testKeys(prefix);
  let redis: TesseraRedis;

  beforeAll(async () => {
    redis = await connectRedis({ url: inject('redisUrl') });
  });
  afterAll(async () => {
    await dropPrefix(redis, prefix);
    await redis.quit();
  });

  it('drains every stream, each account in order, and leaves them empty', async () => {
    // 3 accounts of 3 different shards, 6 events each committed interleaved, and one event in every other shard
    const accounts: string[] = [];
    for (let i = 0; accounts.length < 3; i++)
      if (!accounts.some((a) => keys.shardOf(a) === keys.shardOf(`acct${i}`))) accounts.push(`acct${i}`);
    const committed: AuditEvent[] = [];
    for (let n = 0; n < 6; n++)
      for (const a of accounts) {
        const e = newEvent('login.failed', { dialect: 'nehr', identifier: `u:${a}`, outcome: 'bad_credentials' }, Date.now() + n);
        committed.push(e);
        await redis.xadd(keys.outbox(keys.shardOf(a)), '*', 'e', JSON.stringify(e));
      }
    for (let k = 0; k < keys.shards; k++) {
      const e = newEvent('login.succeeded', { dialect: 'nehr', identifier: `u:shard${k}`, outcome: 'success' });
      committed.push(e);
      await redis.xadd(keys.outbox(k), '*', 'e', JSON.stringify(e));
    }

    const connection = newRedisClient(inject('redisUrl'), { maxRetriesPerRequest: null });
    const queue = new Queue(AUDIT_QUEUE, { connection, prefix: queuePrefix(prefix) });
    const stop = new AbortController();
    const draining = drainOutbox(
      settings,
      connection,
      queue,
      'test',
      stop.signal,
      createLogger('worker', 'error', () => {}),
    );
    try {
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline && (await queue.getJobCountByTypes('waiting')) < committed.length) await sleep(50);
      // the queue's jobs, oldest first: each account's in the order committed
      const jobs = (await queue.getJobs(['waiting'], 0, -1, true)).map((j) => j.data as AuditEvent);
      expect(jobs).toHaveLength(committed.length);
      for (const a of accounts) {
        const of = (events: AuditEvent[]) => events.filter((e) => e.identifier === `u:${a}`).map((e) => e.id);
        expect(of(jobs)).toStrictEqual(of(committed));
      }
      expect(new Set(jobs.map((e) => e.id))).toStrictEqual(new Set(committed.map((e) => e.id)));
      expect((await Promise.all(keys.outboxes.map((o) => redis.xlen(o)))).every((n) => n === 0)).toBe(true);
    } finally {
      stop.abort();
      await draining;
      await queue.obliterate({ force: true });
      await queue.close();
      connection.disconnect();
    }
  });
});
