import { heartbeat } from '@tessera/client';
import type { KeyLayout } from './keys.ts';
import { newRedisClient } from './redis.ts';
import type { RevocationMessage } from './token-types.ts';

/** Told what the revocations channel says. */
export interface RevocationListener {
  revoked(hashes: readonly string[]): void;
  /** The subscription came up (true) or dropped (false): whatever was cached may be stale. */
  reset(connected: boolean): void;
}

export interface RevocationFeed {
  readonly connected: boolean;
  /** Its Redis client name (CLIENT LIST), unique per feed. */
  readonly name: string;
  close(): void;
}

/**
 * Subscribes to the revocations channel on its own connection (one Redis or a cluster), and
 * again after every reconnect. Resolves once subscribed.
 */
export function revocationFeed(
  url: string,
  keys: KeyLayout,
  listener: RevocationListener,
  options: { readonly heartbeatMs?: number } = {},
): Promise<RevocationFeed> {
  return subscription(
    url,
    keys.revocations,
    'tessera-revocation-feed',
    {
      message(text) {
        let message: Partial<RevocationMessage>;
        try {
          message = JSON.parse(text) as Partial<RevocationMessage>;
        } catch {
          return;
        }
        if (Array.isArray(message.hashes)) listener.revoked(message.hashes.filter((h): h is string => typeof h === 'string'));
      },
      reset: (connected) => listener.reset(connected),
    },
    options,
  );
}

/** Told what a channel says, and when the subscription comes up or drops (what was heard may be stale). */
export interface ChannelListener {
  message(text: string): void;
  reset(connected: boolean): void;
}

/**
 * Subscribes to one channel on its own connection (one Redis or a cluster), and again after every
 * reconnect, with a heartbeat that notices a dead peer. Resolves once subscribed. `role` names the
 * connection (CLIENT LIST), made unique.
 */
export async function subscription(
  url: string,
  channel: string,
  role: string,
  listener: ChannelListener,
  options: { readonly heartbeatMs?: number } = {},
): Promise<RevocationFeed> {
  const name = `${role}-${crypto.randomUUID().slice(0, 8)}`;
  const redis = newRedisClient(url, {
    lazyConnect: true,
    maxRetriesPerRequest: null,
    connectionName: name,
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 5), 1000),
  });
  let connected = false;
  const down = () => {
    if (!connected) return;
    connected = false;
    listener.reset(false);
  };
  redis.on('error', () => {});
  redis.on('close', down);
  redis.on('end', down);
  redis.on('reconnecting', down);
  // 'ready' comes before ioredis has resubscribed: serve again only once our own SUBSCRIBE, queued
  // behind its, is confirmed, so no revocation can slip between the reset and the subscription.
  const up = () => {
    if (redis.status !== 'ready' || connected) return;
    connected = true;
    listener.reset(true);
  };
  redis.on('ready', () => {
    redis.subscribe(channel).then(up, () => {});
  });
  redis.on('message', (from: string, text: string) => {
    if (from === channel) listener.message(text);
  });
  await redis.connect();
  await redis.subscribe(channel);
  up();
  // a dead peer goes unnoticed on a subscribed connection: a PING must come back within the beat
  const beat = heartbeat(redis, options.heartbeatMs ?? 1000, down);
  return {
    get connected() {
      return connected;
    },
    name,
    close: () => {
      beat.stop();
      redis.removeAllListeners('close');
      redis.removeAllListeners('end');
      redis.removeAllListeners('reconnecting');
      down();
      redis.disconnect();
    },
  };
}
