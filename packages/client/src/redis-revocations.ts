import { Redis } from 'ioredis';
import type { RevocationSource } from './introspector.ts';

export interface RedisRevocationsOptions {
  /** Tessera's Redis (or a replica of it). */
  readonly url: string;
  /** Tessera's TESSERA_REDIS_PREFIX (default `tessera:`). */
  readonly prefix?: string;
}

/**
 * Revocations pushed from Tessera's Redis: it publishes the hashes of every revoked token on
 * `<prefix>revocations`. While the subscription is down the introspector stops trusting its
 * cache; on every (re)subscription the cache is emptied, since messages may have been missed.
 */
export async function redisRevocations(options: RedisRevocationsOptions): Promise<RevocationSource> {
  const channel = `${options.prefix ?? 'tessera:'}revocations`;
  const redis = new Redis(options.url, { lazyConnect: true, maxRetriesPerRequest: null, connectionName: 'tessera-sdk-revocations' });
  const listeners = new Set<{ revoked(hashes: readonly string[]): void; reset(): void }>();
  let connected = false;
  redis.on('error', () => {});
  redis.on('close', () => {
    connected = false;
  });
  // ioredis resubscribes after a reconnect; 'ready' fires once the subscription is back.
  redis.on('ready', () => {
    if (redis.status === 'ready') {
      for (const l of listeners) l.reset();
      connected = true;
    }
  });
  redis.on('message', (ch: string, message: string) => {
    if (ch !== channel) return;
    let hashes: unknown;
    try {
      hashes = (JSON.parse(message) as { hashes?: unknown }).hashes;
    } catch {
      return;
    }
    if (!Array.isArray(hashes)) return;
    const valid = hashes.filter((h): h is string => typeof h === 'string');
    for (const l of listeners) l.revoked(valid);
  });
  await redis.connect();
  await redis.subscribe(channel);
  connected = true;
  return {
    get connected() {
      return connected;
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      connected = false;
      listeners.clear();
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
