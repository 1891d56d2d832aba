import type { TesseraRedis } from '@tessera/store';

/** Per-second counts the ops dashboard shows (introspections), kept for 15 minutes. */
export const STATS_TTL_S = 900;

export function statsKey(prefix: string, kind: string, second: number): string {
  return `${prefix}{stats}:${kind}:${second}`;
}

/**
 * Counts in process and writes once a second (one INCRBY per kind and second, not one per
 * request), so the request path pays nothing for the dashboard's numbers.
 */
export function createStatsFlusher(redis: TesseraRedis, prefix: string) {
  let pending = new Map<string, number>();
  const flush = () => {
    if (pending.size === 0) return;
    const batch = pending;
    pending = new Map();
    const second = Math.floor(Date.now() / 1000);
    for (const [kind, n] of batch) {
      const key = statsKey(prefix, kind, second);
      redis
        .multi()
        .incrby(key, n)
        .expire(key, STATS_TTL_S)
        .exec()
        .catch(() => {});
    }
  };
  const timer = setInterval(flush, 1000);
  timer.unref();
  return {
    count(kind: string) {
      pending.set(kind, (pending.get(kind) ?? 0) + 1);
    },
    stop() {
      clearInterval(timer);
      flush();
    },
  };
}
