import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { seedDemoUsers } from '@tessera/cli';
import { loadSettings, type Settings } from '@tessera/config';
import type { TokenCache } from '@tessera/core';
import { createLogger, createServer, listen, openDeps } from '@tessera/ingress';
import type { PasswordHasher, VerifyPool } from '@tessera/passwords';
import {
  type ClientRepository,
  type KeyLayout,
  keyLayout,
  type LoginGate,
  type RevocationFeed,
  type TesseraRedis,
  type TokenRepository,
  type UserRepository,
} from '@tessera/store';
import type { Redis } from 'ioredis';
import { inject } from 'vitest';
import { validateResponse } from './openapi.ts';
import { type Runtime, spawnIngress } from './processes.ts';

export { RUNTIMES, type Runtime } from './processes.ts';

/** A key prefix no other test uses. */
export function testPrefix(): string {
  return `t${randomBytes(6).toString('hex')}:`;
}

/** Test argon2 cost: the real algorithm with a small memory cost so suites stay quick. */
export const TEST_ARGON2 = { TESSERA_ARGON2_MEMORY_KIB: '1024', TESSERA_ARGON2_TIME_COST: '1' };

export const TEST_SIGNING_KEY = 'test-signing-key-0123456789abcdef0123456789';

/**
 * A running ingress on the run's Redis under its own key prefix, and the test's view of that Redis
 * (the repositories, from the production wiring `openDeps`). `await using` stops the ingress, drops
 * the prefix and closes the connections.
 */
export interface Stack extends AsyncDisposable {
  readonly runtime: Runtime;
  readonly base: string;
  readonly port: number;
  readonly settings: Settings;
  readonly redis: TesseraRedis;
  readonly users: UserRepository;
  readonly tokens: TokenRepository;
  readonly clients: ClientRepository;
  readonly gate: LoginGate;
  /** On Node the ingress's own (a test may replace `hasher.verify`); on Deno this process's. */
  readonly pool: VerifyPool;
  readonly hasher: PasswordHasher;
  /** Every line the ingress logs; on Deno they arrive through a pipe: `settleLogs()` first. */
  readonly logs: string[];
  /** The ingress's token memory and its revocation feed (Node only; absent with TESSERA_TOKEN_CACHE=0). */
  readonly tokenCache: { readonly cache: TokenCache; readonly feed: RevocationFeed } | null;
  post(path: string, body: string | URLSearchParams | FormData | undefined, headers?: Record<string, string>): Promise<Response>;
  /** Resolves once `logs` holds every line the ingress wrote before the answers received so far. */
  settleLogs(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The connections of a client to each master: one Redis's is itself; a cluster client's are its
 * connections to each master (a command without a key, SCAN, KEYS, CLIENT LIST, goes to one
 * node only).
 */
export function masterConnections(redis: Redis): Redis[] {
  const cluster = redis as unknown as { nodes?: (role: string) => Redis[] };
  return typeof cluster.nodes === 'function' ? cluster.nodes('master') : [redis];
}

/**
 * Redis round trips `work` takes on `redis`, counted where they happen: the writes on its
 * connection (auto-pipelining sends a tick's commands as one write, answered as one). On a
 * cluster a client holds a connection per master and one step's commands go to several of them at
 * once: a round trip there is a batch of writes issued in one turn of the event loop, whichever
 * masters take them. Whatever `work` left to finish within 50 ms (an event, a revocation) counts too.
 */
export async function countRoundTrips(redis: Redis, work: () => Promise<unknown>): Promise<number> {
  const onCluster = typeof (redis as unknown as { nodes?: unknown }).nodes === 'function';
  const streams = masterConnections(redis).map((c) => (c as unknown as { stream: { write: (...a: unknown[]) => boolean } }).stream);
  const writes = streams.map((s) => s.write);
  let count = 0;
  let batchOpen = false;
  for (const [i, stream] of streams.entries()) {
    const write = (writes[i] as (...a: unknown[]) => boolean).bind(stream);
    stream.write = (...a: unknown[]) => {
      if (!onCluster) count++;
      else if (!batchOpen) {
        // the first write of a batch: the others of this turn of the event loop go with it
        count++;
        batchOpen = true;
        setImmediate(() => {
          batchOpen = false;
        });
      }
      return write(...a);
    };
  }
  try {
    await work();
    await new Promise((r) => setTimeout(r, 50));
  } finally {
    for (const [i, stream] of streams.entries()) stream.write = writes[i] as (...a: unknown[]) => boolean;
  }
  return count;
}

/**
 * MEMORY USAGE of `key` (bytes; 0 for no such key), asked of the master that holds it: a cluster
 * client does not know where MEMORY's key is and sends it to any node (which answers MOVED).
 */
export async function memoryUsage(redis: Redis, key: string): Promise<number> {
  let lastError: unknown;
  for (const node of masterConnections(redis)) {
    try {
      return Number((await node.memory('USAGE', key, 'SAMPLES', 0)) ?? 0);
    } catch (err) {
      if (!String(err).includes('MOVED')) throw err;
      lastError = err;
    }
  }
  throw lastError;
}

/** Every key matching `pattern` (a SCAN pattern, never KEYS), on every master of a cluster. */
export async function keysMatching(redis: Redis, pattern: string): Promise<string[]> {
  const found: string[] = [];
  for (const node of masterConnections(redis)) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      found.push(...keys);
    } while (cursor !== '0');
  }
  return found;
}

/** Deletes every key under a prefix (on every master of a cluster). */
export async function dropPrefix(redis: TesseraRedis, prefix: string): Promise<void> {
  const keys = await keysMatching(redis, `${prefix}*`);
  await Promise.all(keys.map((k) => redis.del(k)));
}

/** The key layout of a deployment under `prefix` with the default settings (its account shards). */
export function testKeys(prefix: string): KeyLayout {
  return keyLayout(prefix, loadSettings(serviceEnv(prefix)).accountShards);
}

/** A prefix's outbox entries, every shard's, in the order Redis committed them (by entry id). */
export async function outboxEntries(redis: TesseraRedis, keys: KeyLayout): Promise<[string, string[]][]> {
  const per = await Promise.all(keys.outboxes.map((o) => redis.xrange(o, '-', '+')));
  const seq = (id: string) => id.split('-').map(Number) as [number, number];
  return per.flat().sort(([a], [b]) => {
    const [[am, as], [bm, bs]] = [seq(a), seq(b)];
    return am - bm || as - bs;
  });
}

/** The events of a prefix's outboxes (default layout), in the order committed. */
export async function outboxEvents(redis: TesseraRedis, prefix: string): Promise<Record<string, unknown>[]> {
  return (await outboxEntries(redis, testKeys(prefix))).map(([, f]) => JSON.parse(f[1] as string) as Record<string, unknown>);
}

/**
 * The environment of a Tessera process (ingress, worker, `tessera up`) on the run's Redis under
 * `prefix`, on loopback, with the test argon2 cost and one ingress process (not one per core: a
 * test that wants more says so); `env` adds to it.
 */
export function serviceEnv(prefix: string, env: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    ...TEST_ARGON2,
    REDIS_URL: inject('redisUrl'),
    TESSERA_REDIS_PREFIX: prefix,
    TESSERA_JWT_SIGNING_KEY: TEST_SIGNING_KEY,
    TESSERA_HOST: '127.0.0.1',
    TESSERA_INGRESS_PROCESSES: '1',
    ...env,
  };
}

/**
 * Starts a real ingress on a free port, on the run's Redis, under a fresh key prefix (or another
 * stack's `prefix`: a second ingress of the same deployment), with the documents' demo users
 * seeded (unless `seed: false`): in this process on Node (the default), or the Deno ingress
 * process (`npm run start:deno`) with the same environment.
 */
export async function startStack(
  env: Record<string, string> = {},
  options: { readonly seed?: boolean; readonly prefix?: string; readonly runtime?: Runtime } = {},
): Promise<Stack> {
  const prefix = options.prefix ?? testPrefix();
  const runtime = options.runtime ?? 'node';
  const environment = serviceEnv(prefix, { TESSERA_PORT: '0', ...env });
  const settings = loadSettings(environment);
  const logs: string[] = [];
  // On Node these are the ingress's own dependencies; on Deno this process's view of the same
  // Redis, without a token memory of its own.
  const deps =
    runtime === 'node'
      ? await openDeps(
          settings,
          createLogger('ingress', 'info', (line) => logs.push(line)),
          'tessera-test-ingress',
        )
      : await openDeps(
          { ...settings, tokenCache: { ...settings.tokenCache, enabled: false } },
          createLogger('test', 'warn', (line) => process.stdout.write(line)),
          'tessera-test',
        );
  let ingress: { readonly port: number; close(): Promise<void> };
  try {
    if (options.seed !== false) await seedDemoUsers(deps.users, deps.hasher);
    if (runtime === 'node') ingress = await listen(createServer(settings, deps), 0, '127.0.0.1');
    else {
      const deno = await spawnIngress(environment, { runtime, lines: logs });
      ingress = { port: deno.port, close: () => deno.stop() };
    }
  } catch (err) {
    await dropPrefix(deps.redis, prefix);
    deps.close();
    throw err;
  }
  const base = `http://127.0.0.1:${ingress.port}`;
  const close = async () => {
    try {
      await ingress.close();
      await dropPrefix(deps.redis, prefix);
    } finally {
      deps.close();
    }
  };
  return {
    runtime,
    base,
    port: ingress.port,
    settings,
    redis: deps.redis,
    users: deps.users,
    tokens: deps.tokens,
    clients: deps.clients,
    gate: deps.gate,
    pool: deps.pool,
    hasher: deps.hasher,
    logs,
    tokenCache:
      runtime === 'node' && deps.tokenCache !== undefined && deps.revocationFeed !== undefined
        ? { cache: deps.tokenCache, feed: deps.revocationFeed }
        : null,
    post: async (path, body, headers = {}) => {
      const res = await fetch(`${base}${path}`, { method: 'POST', body: body ?? null, headers });
      // Every answer a suite receives must be one the OpenAPI document describes.
      validateResponse('POST', path, res.status, res.headers, await res.clone().text());
      return res;
    },
    settleLogs: runtime === 'node' ? async () => {} : () => settleLogs(base, logs),
    close,
    [Symbol.asyncDispose]: close,
  };
}

/**
 * A process's log lines reach `logs` through a pipe, perhaps after its answers: one more request
 * (a wrong method, answered without Redis) whose line is written after every earlier one. Its own
 * line is taken out again.
 */
async function settleLogs(base: string, logs: string[]): Promise<void> {
  const id = `settle-${randomBytes(6).toString('hex')}`;
  const mark = `"reqId":"${id}"`;
  const res = await fetch(`${base}/api/token/verify/`, { headers: { 'x-request-id': id } });
  await res.arrayBuffer();
  for (let waited = 0; !logs.some((l) => l.includes(mark)); waited += 10) {
    if (waited > 5000) throw new Error(`no log line with ${mark} within 5 s`);
    await sleep(10);
  }
  logs.splice(
    logs.findIndex((l) => l.includes(mark)),
    1,
  );
}
