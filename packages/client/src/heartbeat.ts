/** The Redis connection a heartbeat watches (ioredis's, on one Redis or a cluster). */
export interface Watched {
  readonly status: string;
  ping(): Promise<unknown>;
  /** `true`: connect again at once. */
  disconnect(reconnect?: boolean): void;
}

/**
 * A subscribed connection receives nothing by itself, so a dead peer (half-open TCP, a frozen
 * Redis) would go unnoticed while messages are lost: a PING on the same connection must come back
 * within the beat, or `down()` is told (what was heard may be stale) and the connection is made
 * again. Used by the SDK's revocation source and by Tessera's own subscriptions (the store's).
 */
export function heartbeat(redis: Watched, beatMs: number, down: () => void): { stop(): void } {
  let waiting = false;
  const beat = setInterval(() => {
    if (waiting || redis.status !== 'ready') return;
    waiting = true;
    const timer = setTimeout(() => {
      down();
      redis.disconnect(true);
    }, beatMs);
    const answered = () => {
      clearTimeout(timer);
      waiting = false;
    };
    redis.ping().then(answered, () => {
      answered();
      down();
    });
  }, beatMs);
  // Deno has no unref on its timer ids
  (beat as { unref?: () => void }).unref?.();
  return { stop: () => clearInterval(beat) };
}
