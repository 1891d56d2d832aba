import type { Settings } from '@tessera/config';
import type { Logger } from '@tessera/config/log';
import { auditEventCheck, auditStreamKey, readAuditEntry } from '@tessera/events';
import { keyLayout, LoginGate, outboxBacklog, type TesseraRedis } from '@tessera/store';
import type { Queue } from 'bullmq';

/** What the dashboard shows, computed from the audit stream, the queue and Redis. */
export interface Summary {
  readonly at: number;
  /** Logins per second over the last 60 s, oldest first, by outcome. */
  readonly loginsPerSecond: {
    readonly second: number;
    readonly success: number;
    readonly failed: number;
    readonly locked: number;
    readonly other: number;
  }[];
  readonly byDialect: Record<string, { success: number; failed: number }>;
  readonly failureRatio: number;
  /** Locks holding: the lock (`a:<id>`, `u:…`, `e:…`), its end (null: permanent), an account's username. */
  readonly lockouts: { identifier: string; until: number | null; username?: string }[];
  readonly topIdentifiers: { key: string; failures: number }[];
  readonly topAddresses: { key: string; failures: number }[];
  readonly queue: Record<string, number>;
  readonly outbox: { readonly length: number; readonly lagSeconds: number };
  readonly introspectionsPerSecond: number;
}

const WINDOW_S = 60;

function top(counts: Map<string, number>, n: number): { key: string; failures: number }[] {
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([key, failures]) => ({ key, failures }));
}

/**
 * The dashboard's summary. Stream entries that are no audit event are left out; each summary that
 * meets some logs one warning (how many, the first's id and why).
 */
export function createSummary(settings: Settings, redis: TesseraRedis, queue: Queue, log: Logger) {
  const stream = auditStreamKey(settings.redisPrefix);
  const keys = keyLayout(settings.redisPrefix, settings.accountShards);
  const gate = new LoginGate(redis, keys, settings.lockout);
  return async (): Promise<Summary> => {
    const now = Date.now();
    const nowS = Math.floor(now / 1000);
    const since = now - WINDOW_S * 1000;
    const entries = await redis.xrevrange(stream, '+', String(since), 'COUNT', 20_000);
    const firstSecond = nowS - WINDOW_S + 1;
    const buckets = Array.from({ length: WINDOW_S }, (_, i) => ({
      second: firstSecond + i,
      success: 0,
      failed: 0,
      locked: 0,
      other: 0,
    }));
    const byDialect: Record<string, { success: number; failed: number }> = {};
    const identifiers = new Map<string, number>();
    const addresses = new Map<string, number>();
    let success = 0;
    let failed = 0;
    const check = await auditEventCheck();
    const invalid: { id: string; reason: string }[] = [];
    for (const [id, fields] of entries) {
      const entry = readAuditEntry(fields, check);
      if ('invalid' in entry) {
        invalid.push({ id, reason: entry.invalid });
        continue;
      }
      const e = entry.event;
      if (e.type !== 'login.succeeded' && e.type !== 'login.failed') continue;
      const second = Math.floor(Date.parse(e.at) / 1000);
      const bucket = buckets[second - firstSecond];
      const dialect = e.dialect ?? '?';
      const d = byDialect[dialect] ?? { success: 0, failed: 0 };
      byDialect[dialect] = d;
      if (e.type === 'login.succeeded') {
        success++;
        d.success++;
        if (bucket) bucket.success++;
        continue;
      }
      failed++;
      d.failed++;
      if (bucket) {
        if (e.outcome === 'bad_credentials') bucket.failed++;
        else if (e.outcome === 'locked') bucket.locked++;
        else bucket.other++;
      }
      if (e.identifier) identifiers.set(e.identifier, (identifiers.get(e.identifier) ?? 0) + 1);
      if (e.ip) addresses.set(e.ip, (addresses.get(e.ip) ?? 0) + 1);
    }
    if (invalid.length > 0)
      log.warn('audit stream entries that are no audit event left out of the summary', { count: invalid.length, first: invalid[0] });
    const [counts, backlog, locked, intro] = await Promise.all([
      queue.getJobCounts('waiting', 'active', 'delayed', 'failed'),
      outboxBacklog(redis, keys),
      gate.locked(),
      redis.mget(...Array.from({ length: 10 }, (_, i) => `${settings.redisPrefix}{stats}:introspect:${nowS - 10 + i}`)),
    ]);
    const oldest = backlog.oldestMs ?? now;
    return {
      at: now,
      loginsPerSecond: buckets,
      byDialect,
      failureRatio: success + failed === 0 ? 0 : failed / (success + failed),
      lockouts: locked.map((l) => ({ ...l, until: Number.isFinite(l.until) ? l.until : null })),
      topIdentifiers: top(identifiers, 5),
      topAddresses: top(addresses, 5),
      queue: counts,
      outbox: { length: backlog.length, lagSeconds: Math.max(0, (now - oldest) / 1000) },
      introspectionsPerSecond: intro.reduce((sum, v) => sum + Number(v ?? 0), 0) / 10,
    };
  };
}
