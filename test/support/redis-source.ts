import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isClusterUrl, newRedisClient } from '@tessera/store';
import { startCluster } from './cluster.ts';

/** A Redis for the tests, and how to let go of it (`await using` stops it too). */
export interface RedisSource extends AsyncDisposable {
  readonly url: string;
  /**
   * Where it came from: 'env' (REDIS_URL, one Redis or a `redis-cluster://` URL), 'cluster' (a
   * private 3-master cluster of infra/cluster/bootstrap.sh, TESSERA_TEST_REDIS=cluster),
   * 'testcontainers' or 'redis-server'.
   */
  readonly kind: 'env' | 'cluster' | 'testcontainers' | 'redis-server';
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr !== null ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** Waits until the Redis of `url` answers PING: one Redis, or a cluster (`redis-cluster://`) once it knows its slots. */
export async function waitForPing(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = newRedisClient(url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    r.on('error', () => {});
    try {
      await r.connect();
      await r.ping();
      r.disconnect();
      return;
    } catch (err) {
      r.disconnect();
      if (Date.now() > deadline) throw new Error(`Redis at ${url} did not answer: ${(err as Error).message}`);
      await sleep(50);
    }
  }
}

/**
 * Starts a private redis-server on a free loopback port (or on `port`, to start one again where a
 * stopped one was), data in a temporary folder.
 */
export async function startRedisServer(
  extraArgs: readonly string[] = [],
  port?: number,
): Promise<RedisSource & { readonly port: number; readonly child: ChildProcess }> {
  if (spawnSync('sh', ['-c', 'command -v redis-server']).status !== 0) {
    throw new Error(
      'no Redis for the tests: REDIS_URL is unset, no Docker engine answers, and redis-server is not installed (apt-get install -y redis-server)',
    );
  }
  const at = port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'tessera-redis-'));
  const child = spawn(
    'redis-server',
    ['--port', String(at), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', ...extraArgs],
    {
      stdio: 'ignore',
    },
  );
  const url = `redis://127.0.0.1:${at}`;
  const stop = async () => {
    // a child killed by a signal has exitCode null and signalCode set: it is gone all the same
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  await waitForPing(url, 10_000);
  return {
    url,
    port: at,
    child,
    kind: 'redis-server',
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/** testcontainers, where a Docker engine answers within a few seconds; null otherwise. */
async function fromTestcontainers(): Promise<RedisSource | null> {
  try {
    const tc = await import('testcontainers');
    const probe = tc.getContainerRuntimeClient();
    const client = await Promise.race([probe, sleep(5000).then(() => null)]);
    if (client === null) return null;
    const container = await new tc.GenericContainer('redis:7-alpine').withExposedPorts(6379).start();
    const stop = async () => {
      await container.stop();
    };
    return {
      url: `redis://${container.getHost()}:${container.getMappedPort(6379)}`,
      kind: 'testcontainers',
      stop,
      [Symbol.asyncDispose]: stop,
    };
  } catch {
    return null;
  }
}

/**
 * REDIS_URL if set (one Redis, or a cluster: `redis-cluster://host:port,...`); else testcontainers
 * where Docker answers; else a private redis-server. With TESSERA_TEST_REDIS=cluster
 * (`npm run test:cluster`) a cluster whatever else is set: REDIS_URL's if it names one, else a
 * private 3-master cluster formed by infra/cluster/bootstrap.sh on free ports.
 */
export async function obtainRedis(): Promise<RedisSource> {
  const env = process.env.REDIS_URL;
  const wantsCluster = process.env.TESSERA_TEST_REDIS === 'cluster';
  if (env !== undefined && env !== '' && (!wantsCluster || isClusterUrl(env))) {
    await waitForPing(env, 5000);
    const stop = async () => {};
    return { url: env, kind: 'env', stop, [Symbol.asyncDispose]: stop };
  }
  if (wantsCluster) {
    const cluster = await startCluster();
    await waitForPing(cluster.url, 10_000);
    const stop = () => cluster.stop();
    return { url: cluster.url, kind: 'cluster', stop, [Symbol.asyncDispose]: stop };
  }
  return (await fromTestcontainers()) ?? (await startRedisServer());
}
