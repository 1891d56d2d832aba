import { setTimeout as sleep } from 'node:timers/promises';
import { keyLayout, revocationFeed } from '@tessera/store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisServer } from '../support/redis-source.ts';

// The token memory must stop serving when its revocation feed cannot hear anything, including
// when the connection stays open but nothing comes back (a frozen Redis, a half-open socket).
describe('revocation feed heartbeat', () => {
  let redis: Awaited<ReturnType<typeof startRedisServer>>;
  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterAll(async () => {
    if (redis.child.signalCode === null && redis.child.exitCode === null) redis.child.kill('SIGCONT');
    await redis.stop();
  });

  it('counts as down within two beats of a frozen Redis, and comes back once it answers again', async () => {
    const events: boolean[] = [];
    const feed = await revocationFeed(
      redis.url,
      keyLayout('feed-test:', 1),
      { revoked: () => {}, reset: (connected) => events.push(connected) },
      { heartbeatMs: 100 },
    );
    try {
      expect(feed.connected).toBe(true);
      expect(events).toStrictEqual([true]);
      redis.child.kill('SIGSTOP');
      for (let i = 0; i < 50 && feed.connected; i++) await sleep(20);
      expect(feed.connected).toBe(false);
      expect(events).toStrictEqual([true, false]);
      redis.child.kill('SIGCONT');
      for (let i = 0; i < 300 && !feed.connected; i++) await sleep(20);
      expect(feed.connected).toBe(true);
      expect(events).toStrictEqual([true, false, true]);
    } finally {
      feed.close();
    }
  });
});
