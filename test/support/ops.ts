import type { Server } from 'node:http';
import { createLogger, type Logger } from '@tessera/config/log';
import { newRedisClient } from '@tessera/store';
import { createOpsServer, createWorkerMetrics, type Pipeline, startPipeline } from '@tessera/worker';
import type { Redis } from 'ioredis';
import { inject } from 'vitest';
import { freePort } from './redis-source.ts';
import type { Stack } from './stack.ts';

/** The ops server and its pipeline; `await using` closes both. */
export interface Ops extends AsyncDisposable {
  /** `http://127.0.0.1:<port>` of the ops server. */
  readonly base: string;
  readonly pipeline: Pipeline;
  close(): Promise<void>;
}

/**
 * The worker's pipeline (drainer, queue, worker) in this process, on a stack's Redis and prefix;
 * `close` (or the end of an `await using` block) closes its connections too.
 */
export async function startTestPipeline(stack: Stack, consumer: string, log: Logger): Promise<Pipeline & AsyncDisposable> {
  const connections: Redis[] = [];
  const connect = () => {
    const c = newRedisClient(inject('redisUrl'), { maxRetriesPerRequest: null });
    connections.push(c);
    return c;
  };
  const pipeline = await startPipeline(stack.settings, connect, stack.redis, consumer, log);
  const close = async () => {
    await pipeline.close();
    for (const c of connections) c.disconnect();
  };
  return { queue: pipeline.queue, worker: pipeline.worker, close, [Symbol.asyncDispose]: close };
}

/** The worker's pipeline and ops server (dashboard, /api/*) in this process, on a stack's Redis and prefix. */
export async function startOps(stack: Stack, consumer: string): Promise<Ops> {
  const log = createLogger('worker', 'error', () => {});
  const pipeline = await startTestPipeline(stack, consumer, log);
  const metrics = createWorkerMetrics(stack.settings, stack.redis, pipeline.queue);
  const server: Server = createOpsServer({
    settings: stack.settings,
    redis: stack.redis,
    queue: pipeline.queue,
    registry: metrics.registry,
    log,
    isRunning: () => true,
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  const close = async () => {
    server.close();
    await pipeline.close();
  };
  return { base: `http://127.0.0.1:${port}`, pipeline, close, [Symbol.asyncDispose]: close };
}

/** Locks a user out with wrong passwords (5, the default threshold) on the nehr route. */
export async function lockOut(stack: Stack, username: string): Promise<void> {
  for (let i = 0; i < 5; i++) {
    const res = await stack.post('/nehrapi/login/getToken', JSON.stringify({ username, password: 'wrong' }), {
      'content-type': 'application/json',
    });
    await res.arrayBuffer();
  }
}
