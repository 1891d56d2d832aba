import { createServer } from 'node:http';
import { hostname } from 'node:os';
import { settingsOrExit } from '@tessera/config';
import { connectRedis, newRedisClient } from '@tessera/store';
import { createWorkerMetrics, type WorkerMetrics } from './metrics.ts';
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
  const registry = metrics.registry;
  const health = createServer((req, res) => {
    if (req.url === '/metrics') {
      registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': registry.contentType });
          res.end(text);
        },
        () => {
          res.writeHead(503, { 'content-type': 'text/plain' });
          res.end('metrics unavailable\n');
        },
      );
      return;
    }
    const ok = req.url === '/healthz' && pipeline.worker.isRunning();
    res.writeHead(ok ? 200 : 404, { 'content-type': 'application/json' });
    res.end(ok ? '{"status":"ok"}' : '{"error":"not_found"}');
  });
  await new Promise<void>((resolve) => health.listen(settings.opsPort, settings.host, resolve));
  log('worker running', { opsPort: settings.opsPort, pid: process.pid });
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
