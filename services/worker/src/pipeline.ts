import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Settings } from '@tessera/config';
import type { Logger } from '@tessera/config/log';
import { AUDIT_QUEUE, type AuditEvent, auditEventCheck, auditStreamKey, queuePrefix, readAuditEntry } from '@tessera/events';
import { EscalateLock, keyLayout, LoginGate, type TesseraRedis } from '@tessera/store';
import { type Job, Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { failureFields, logFailure } from './failures.ts';

/** How long the audit sinks remember an event id to drop duplicate deliveries, s. */
const SEEN_TTL_S = 7 * 86_400;

/** The day file of an event: `audit-YYYY-MM-DD.ndjson` (UTC), so files rotate daily. */
export function auditFile(dir: string, event: AuditEvent): string {
  return join(dir, `audit-${event.at.slice(0, 10)}.ndjson`);
}

/**
 * The worker's processing of one event, idempotent by event id: lockout escalation, the capped
 * audit stream (any number of consumer groups read it), and the daily NDJSON file.
 */
export function createProcessor(settings: Settings, redis: TesseraRedis, log: Logger, onProcessed?: (type: string) => void) {
  const keys = keyLayout(settings.redisPrefix, settings.accountShards);
  const gate = new LoginGate(redis, keys, settings.lockout);
  const stream = auditStreamKey(settings.redisPrefix);
  const seen = (kind: string, id: string) => `${settings.redisPrefix}{audit}:${kind}:${id}`;
  return async (event: AuditEvent): Promise<void> => {
    if (event.type === 'lockout.engaged' && event.identifier !== undefined && event.until !== undefined && event.count !== undefined) {
      const until = await gate.escalate(event.identifier, event.count, event.until);
      // a warning: it lasts until an operator unlocks it
      if (until === EscalateLock.Permanent) log.warn('lockout made permanent', { identifier: event.identifier, count: event.count });
    }
    await redis.appendAudit(stream, seen('seen', event.id), event.id, JSON.stringify(event), settings.audit.streamMaxLen, SEEN_TTL_S);
    // The file copy is at least once: a crash between the append and the marker repeats the line
    // (readers deduplicate by id); it is never skipped.
    if ((await redis.exists(seen('file', event.id))) === 0) {
      await mkdir(settings.audit.dir, { recursive: true });
      await appendFile(auditFile(settings.audit.dir, event), `${JSON.stringify(event)}\n`);
      await redis.set(seen('file', event.id), '1', 'EX', SEEN_TTL_S);
    }
    onProcessed?.(event.type);
  };
}

type StreamEntries = [string, [string, string[]][]][] | null;

/** A drainer that read entries and died leaves them pending; another takes them after this idle time. */
const CLAIM_IDLE_MS = 3000;
const CLAIM_EVERY_MS = 1000;

/** The longest part of an outbox entry that is no audit event written to the log, characters. */
const INVALID_ENTRY_LOGGED = 2000;

/** How long the drain waits when no outbox had anything, ms. */
const IDLE_MS = 100;

/**
 * Drains the outboxes (one per account shard, keys.ts) into BullMQ: each round reads every shard's
 * stream, in order within a stream, so an account's events keep their order; when none had
 * anything it waits for new entries, on one Redis in one blocking read of them all, on a cluster
 * (the streams are in different slots) by reading again after IDLE_MS. An entry leaves its outbox only after its job is in the
 * queue; the job id is the event id, so a redelivery after a crash adds nothing twice. An entry
 * that is no audit event (`readAuditEntry`) is logged (a warning with its id, why and its fields)
 * and removed with the batch it came in, so it never holds the drain up.
 */
export async function drainOutbox(
  settings: Settings,
  redis: Redis,
  queue: Queue,
  consumer: string,
  signal: AbortSignal,
  log: Logger,
): Promise<void> {
  const { outboxes } = keyLayout(settings.redisPrefix, settings.accountShards);
  const group = 'drain';
  const check = await auditEventCheck();
  // per outbox: its own pending entries are read first ('0'), then new ones ('>')
  const streams = outboxes.map((outbox) => ({ outbox, cursor: '0', lastClaim: 0, created: false }));
  const drainOne = async (s: (typeof streams)[number]): Promise<number> => {
    if (!s.created) {
      try {
        await redis.xgroup('CREATE', s.outbox, group, '0', 'MKSTREAM');
      } catch (err) {
        if (!String((err as Error).message).includes('BUSYGROUP')) throw err;
      }
      s.created = true;
    }
    let entries: [string, string[]][];
    if (s.cursor === '>' && Date.now() - s.lastClaim > CLAIM_EVERY_MS) {
      // entries a crashed drainer read but never handed over: take them after a while
      s.lastClaim = Date.now();
      const claimed = (await redis.xautoclaim(s.outbox, group, consumer, CLAIM_IDLE_MS, '0-0', 'COUNT', 200)) as [
        string,
        [string, string[]][],
      ];
      entries = claimed[1].filter((e) => Array.isArray(e[1]));
    } else {
      const res = (await redis.xreadgroup('GROUP', group, consumer, 'COUNT', 200, 'STREAMS', s.outbox, s.cursor)) as StreamEntries;
      entries = res?.[0]?.[1] ?? [];
      if (s.cursor === '0' && entries.length === 0) s.cursor = '>';
    }
    return handOver(s.outbox, entries);
  };
  /** Queues a batch of one outbox's entries, then acknowledges and removes them. */
  const handOver = async (outbox: string, entries: [string, string[]][]): Promise<number> => {
    if (entries.length === 0) return 0;
    const events: AuditEvent[] = [];
    for (const [id, fields] of entries) {
      const entry = readAuditEntry(fields, check);
      if ('event' in entry) events.push(entry.event);
      else
        log.warn('outbox entry is no audit event; removed', {
          id,
          reason: entry.invalid,
          fields: JSON.stringify(fields).slice(0, INVALID_ENTRY_LOGGED),
        });
    }
    if (events.length > 0)
      await queue.addBulk(
        events.map((e) => ({
          name: e.type,
          data: e,
          opts: {
            jobId: e.id,
            removeOnComplete: 10_000,
            removeOnFail: 10_000,
            attempts: 10,
            backoff: { type: 'exponential', delay: 200 },
          },
        })),
      );
    const ids = entries.map(([id]) => id);
    // acknowledged and removed together, so a crash never leaves a handed-over entry behind
    await redis
      .multi()
      .xack(outbox, group, ...ids)
      .xdel(outbox, ...ids)
      .exec();
    return entries.length;
  };
  while (!signal.aborted) {
    const done = await Promise.allSettled(streams.map(drainOne));
    const failed = done.find((d): d is PromiseRejectedResult => d.status === 'rejected');
    if (failed !== undefined) {
      if (signal.aborted) return;
      // anything left unacknowledged is read again (own pending) or claimed by another drainer
      logFailure(log, 'outbox drain failed; retrying', failed.reason);
      for (const s of streams) s.cursor = '0';
      await new Promise((r) => setTimeout(r, 500));
    } else if (done.every((d) => d.status === 'fulfilled' && d.value === 0)) {
      if (redis.isCluster || streams.some((s) => s.cursor !== '>')) await new Promise((r) => setTimeout(r, IDLE_MS));
      else {
        // one Redis: every outbox in one blocking read (on a cluster they are in different slots)
        try {
          const res = (await redis.xreadgroup(
            'GROUP',
            group,
            consumer,
            'COUNT',
            200,
            'BLOCK',
            500,
            'STREAMS',
            ...outboxes,
            ...outboxes.map(() => '>'),
          )) as StreamEntries;
          for (const [outbox, entries] of res ?? []) await handOver(outbox, entries);
        } catch (err) {
          if (signal.aborted) return;
          logFailure(log, 'outbox drain failed; retrying', err);
          for (const s of streams) s.cursor = '0';
          await new Promise((r) => setTimeout(r, 500));
        }
      }
    }
  }
}

export interface Pipeline {
  readonly queue: Queue;
  readonly worker: Worker;
  close(): Promise<void>;
}

/** Queue, worker and drainer, on connections of their own (BullMQ needs blocking ones). */
export async function startPipeline(
  settings: Settings,
  connect: () => Redis,
  redis: TesseraRedis,
  consumer: string,
  log: Logger,
  onProcessed?: (type: string) => void,
): Promise<Pipeline> {
  const prefix = queuePrefix(settings.redisPrefix);
  const queue = new Queue(AUDIT_QUEUE, { connection: connect(), prefix });
  // without a listener BullMQ prints the error and its stack to stderr itself
  queue.on('error', (err) => logFailure(log, 'audit queue error', err));
  const process = createProcessor(settings, redis, log, onProcessed);
  // Jobs are short: a job whose worker died is taken up again within ~10 s (lock 5 s, stall check 5 s).
  const worker = new Worker(AUDIT_QUEUE, async (job: Job<AuditEvent>) => process(job.data), {
    connection: connect(),
    prefix,
    concurrency: 8,
    lockDuration: 5000,
    stalledInterval: 5000,
    maxStalledCount: 100,
  });
  worker.on('error', (err) => logFailure(log, 'audit worker error', err));
  worker.on('failed', (job, err) => {
    // a failed attempt is tried again (with backoff): an error only once the attempts are spent
    const attempts = job?.opts.attempts ?? 1;
    const final = job === undefined || job.attemptsMade >= attempts;
    const fields = { id: job?.id, type: job?.name, attempt: job?.attemptsMade, attempts, ...failureFields(err) };
    if (final) log.error('event processing failed; no attempts left', fields);
    else log.warn('event processing failed; will retry', fields);
  });
  await worker.waitUntilReady();
  const stop = new AbortController();
  const drainConnection = connect();
  const draining = drainOutbox(settings, drainConnection, queue, consumer, stop.signal, log);
  return {
    queue,
    worker,
    close: async () => {
      stop.abort();
      await draining.catch(() => {});
      drainConnection.disconnect();
      await worker.close();
      await queue.close();
    },
  };
}
