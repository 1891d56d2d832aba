import { createServer } from 'node:http';
import { ConfigError, loadSettings } from '@tessera/config';
import { AUDIT_QUEUE, queuePrefix } from '@tessera/events';
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';

/**
 * Worker process: consumes the audit queue (lockout escalation and the audit sinks arrive with the
 * events issue) and answers /healthz on the ops port.
 */
async function main(): Promise<void> {
  let settings: ReturnType<typeof loadSettings>;
  try {
    settings = loadSettings(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`tessera worker: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const log = (msg: string, fields: Record<string, unknown> = {}) =>
    process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), level: 'info', service: 'worker', msg, ...fields })}\n`);
  // BullMQ needs blocking commands that wait forever: no per-request retry limit on its connection.
  const connection = new Redis(settings.redisUrl, { maxRetriesPerRequest: null, connectionName: 'tessera-worker' });
  connection.on('error', () => {});
  const worker = new Worker(
    AUDIT_QUEUE,
    async (job) => {
      log('event received', { id: job.id, name: job.name });
    },
    { connection, prefix: queuePrefix(settings.redisPrefix), autorun: true },
  );
  worker.on('error', (err) => log('worker error', { err: err.message }));
  await worker.waitUntilReady();
  const health = createServer((req, res) => {
    const ok = req.url === '/healthz' && worker.isRunning();
    res.writeHead(ok ? 200 : 404, { 'content-type': 'application/json' });
    res.end(ok ? '{"status":"ok"}' : '{"error":"not_found"}');
  });
  await new Promise<void>((resolve) => health.listen(settings.opsPort, settings.host, resolve));
  log('worker running', { queue: AUDIT_QUEUE, opsPort: settings.opsPort, pid: process.pid });
  const stop = async (signal: string) => {
    log('worker stopping', { signal });
    health.close();
    await worker.close();
    connection.disconnect();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`tessera worker: failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
