import { hostname } from 'node:os';
import { settingsOrExit } from '@tessera/config';
import { connectRedis, newRedisClient } from '@tessera/store';
import { createWorkerMetrics, type WorkerMetrics } from './metrics.ts';
import { createOpsServer } from './ops.ts';
import { startPipeline } from './pipeline.ts';

/**
 * Worker process: drains the outbox into BullMQ and processes events (lockout escalation, audit
 * stream, NDJSON files); answers /healthz on the ops port.
 */
async function main(): Promise<void> {
  const settings = settingsOrExit(
    'worker',
    process.env,
    (t) => process.stderr.write(t),
    (c) => process.exit(c),
  );
  const log = (msg: string, fields: Record<string, unknown> = {}) =>
    process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), level: 'info', service: 'worker', msg, ...fields })}\n`);
  const redis = await connectRedis({ url: settings.redisUrl, commandTimeoutMs: 10_000, connectionName: 'tessera-worker' });
  // BullMQ and the drainer block: their connections wait forever and never give up a command.
  const connect = () => {
    const c = newRedisClient(settings.redisUrl, { maxRetriesPerRequest: null, connectionName: 'tessera-worker-queue' });
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
    isRunning: () => pipeline.worker.isRunning(),
  });
  await new Promise<void>((resolve) => health.listen(settings.opsPort, settings.host, resolve));
  log('worker running', {
    opsPort: settings.opsPort,
    pid: process.pid,
    dashboard: settings.ops.password === '' ? 'off (no TESSERA_OPS_PASSWORD)' : `http://${settings.host}:${settings.opsPort}/dashboard`,
  });
  const stop = async (signal: string) => {
    log('worker stopping', { signal });
    health.close();
    await pipeline.close();
    redis.disconnect();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`tessera worker: failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
