import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Settings, settingsOrExit } from '@tessera/config';
import { createLogger, type Logger, routeProcessOutput } from '@tessera/config/log';
import { connectRedis, keyLayout, legacyLayoutProblem, newRedisClient } from '@tessera/store';
import { failureFields } from './failures.ts';
import { createWorkerMetrics, type WorkerMetrics } from './metrics.ts';
import { createOpsServer } from './ops.ts';
import { startPipeline } from './pipeline.ts';

/** How long a stopping worker waits for its queue to close. */
const STOP_GRACE_MS = 5000;

/**
 * Worker process: drains the outbox into BullMQ and processes events (lockout escalation, audit
 * stream, NDJSON files); answers /healthz on the ops port.
 */
async function main(settings: Settings, log: Logger): Promise<void> {
  const redis = await connectRedis({ url: settings.redisUrl, commandTimeoutMs: 10_000, connectionName: 'tessera-worker' });
  const legacy = await legacyLayoutProblem(redis, keyLayout(settings.redisPrefix, settings.accountShards));
  if (legacy !== null) {
    redis.disconnect();
    throw new Error(legacy);
  }
  // BullMQ and the drainer block: their connections wait forever and never give up a command.
  const connect = () => {
    const c = newRedisClient(settings.redisUrl, { maxRetriesPerRequest: null, connectionName: 'tessera-worker-queue' });
    // BullMQ passes its connections' errors on to the queue and the worker, which log them; the
    // drainer's commands wait until the connection is back
    c.on('error', () => {});
    return c;
  };
  let metrics: WorkerMetrics | undefined;
  const pipeline = await startPipeline(settings, connect, redis, `${hostname()}-${process.pid}`, log, (type) => metrics?.processed(type));
  metrics = createWorkerMetrics(settings, redis, pipeline.queue);
  const health = createOpsServer({
    settings,
    redis,
    queue: pipeline.queue,
    registry: metrics.registry,
    log,
    isRunning: () => pipeline.worker.isRunning(),
  });
  await new Promise<void>((resolve) => health.listen(settings.opsPort, settings.host, resolve));
  log.info('worker running', {
    opsPort: settings.opsPort,
    pid: process.pid,
    dashboard: settings.ops.password === '' ? 'off (no TESSERA_OPS_PASSWORD)' : `http://${settings.host}:${settings.opsPort}/dashboard`,
  });
  const stop = async (signal: string) => {
    log.info('worker stopping', { signal });
    health.close();
    // Closing waits for Redis, which may be gone (Ctrl-C reaches `npm start`'s embedded Redis at
    // the same moment): past the grace, stop anyway. Nothing is lost: an event stays in the outbox
    // until a worker has queued it, and a job cut short is taken up again as stalled.
    const closed = await Promise.race([pipeline.close().then(() => true), sleep(STOP_GRACE_MS).then(() => false)]);
    if (!closed) log.warn('worker stopped before its queue closed: Redis did not answer', { waitedMs: STOP_GRACE_MS });
    redis.disconnect();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

// Bad settings are reported before any logger exists (its level is one of them): plain lines on stderr.
const settings = settingsOrExit(
  'worker',
  process.env,
  (t) => process.stderr.write(t),
  (c) => process.exit(c),
);
const log = createLogger('worker', settings.logLevel);
routeProcessOutput(log);
main(settings, log).catch((err: unknown) => {
  log.error('worker failed to start', failureFields(err));
  process.exit(1);
});
