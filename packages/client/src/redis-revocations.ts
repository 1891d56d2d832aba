import { heartbeat } from './heartbeat.ts';
import type { RevocationSource } from './introspector.ts';
import { newRedisClient } from './redis-url.ts';

export { clusterConfig, isClusterUrl, newRedisClient } from './redis-url.ts';

export interface RedisRevocationsOptions {
  /** Tessera's Redis (or a replica of it): `redis://…`, or `redis-cluster://host:port,…` as Tessera's REDIS_URL names a cluster. */
  readonly url: string;
  /** Tessera's TESSERA_REDIS_PREFIX (default `tessera:`). */
  readonly prefix?: string;
  /** A PING on the subscription must come back within this, ms, or it counts as down (default 1000). */
  readonly heartbeatMs?: number;
}

type Listener = Parameters<RevocationSource['subscribe']>[0];

/**
 * Revocations pushed from Tessera's Redis: it publishes the hashes of every revoked token on
 * `<prefix>revocations`. While the subscription is down the introspector stops trusting its
 * cache (and the offline check asks Tessera); on every (re)subscription listeners are reset,
 * since messages may have been missed.
 */
export async function redisRevocations(options: RedisRevocationsOptions): Promise<RevocationSource> {
  const channel = `${options.prefix ?? 'tessera:'}revocations`;
  const redis = newRedisClient(options.url, { lazyConnect: true, maxRetriesPerRequest: null, connectionName: 'tessera-sdk-revocations' });
  const listeners = new Set<Listener>();
  let connected = false;
  const down = () => {
    connected = false;
  };
  redis.on('error', () => {});
  redis.on('close', down);
  redis.on('reconnecting', down);
  // 'ready' comes before ioredis has resubscribed: up only once our own SUBSCRIBE, queued behind
  // its, is confirmed, so that no revocation slips between the reset and the subscription.
  const up = () => {
    if (redis.status !== 'ready' || connected) return;
    for (const l of listeners) l.reset();
    connected = true;
  };
  redis.on('ready', () => {
    redis.subscribe(channel).then(up, () => {});
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
  up();
  const beat = heartbeat(redis, options.heartbeatMs ?? 1000, down);
  return {
    get connected() {
      return connected;
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      beat.stop();
      down();
      listeners.clear();
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
