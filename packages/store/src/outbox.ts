import type { Redis } from 'ioredis';
import type { KeyLayout } from './keys.ts';

/**
 * What waits in the outboxes (one per account shard) together: the events committed but not yet
 * handed to the queue, and when the oldest of them was committed (ms; null: none waits).
 */
export async function outboxBacklog(redis: Redis, keys: KeyLayout): Promise<{ readonly length: number; readonly oldestMs: number | null }> {
  const per = await Promise.all(
    keys.outboxes.map(async (outbox) => {
      const [length, first] = await Promise.all([redis.xlen(outbox), redis.xrange(outbox, '-', '+', 'COUNT', 1)]);
      return { length, oldest: first[0] === undefined ? null : Number(first[0][0].split('-')[0]) };
    }),
  );
  const oldest = per.flatMap((p) => (p.oldest === null ? [] : [p.oldest]));
  return { length: per.reduce((sum, p) => sum + p.length, 0), oldestMs: oldest.length === 0 ? null : Math.min(...oldest) };
}
