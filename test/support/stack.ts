import { randomBytes } from 'node:crypto';
import { seedDemoUsers } from '@tessera/cli';
import { loadSettings, type Settings } from '@tessera/config';
import type { TokenCache } from '@tessera/core';
import { createLogger, createServer, type Ingress, listen, openJwtKeys, openTokenCache, Upstreams } from '@tessera/ingress';
import { PasswordHasher, VerifyPool } from '@tessera/passwords';
import {
  ClientRepository,
  connectRedis,
  keyLayout,
  LoginGate,
  type RevocationFeed,
  type TesseraRedis,
  TokenRepository,
  UserRepository,
} from '@tessera/store';
import { inject } from 'vitest';
import { validateResponse } from './openapi.ts';

/** A key prefix no other test uses. */
export function testPrefix(): string {
  return `t${randomBytes(6).toString('hex')}:`;
}

/** Test argon2 cost: the real algorithm with a small memory cost so suites stay quick. */
export const TEST_ARGON2 = { TESSERA_ARGON2_MEMORY_KIB: '1024', TESSERA_ARGON2_TIME_COST: '1' };

export const TEST_SIGNING_KEY = 'test-signing-key-0123456789abcdef0123456789';

export interface Stack {
  readonly base: string;
  readonly settings: Settings;
  readonly redis: TesseraRedis;
  readonly users: UserRepository;
  readonly tokens: TokenRepository;
  readonly clients: ClientRepository;
  readonly gate: LoginGate;
  readonly pool: VerifyPool;
  readonly hasher: PasswordHasher;
  readonly logs: string[];
  /** The ingress's token memory and its revocation feed (absent with TESSERA_TOKEN_CACHE=0). */
  readonly tokenCache: { readonly cache: TokenCache; readonly feed: RevocationFeed } | null;
  post(path: string, body: string | URLSearchParams | FormData | undefined, headers?: Record<string, string>): Promise<Response>;
  close(): Promise<void>;
}

/** Deletes every key under a prefix (SCAN, never KEYS; on every master of a cluster). */
export async function dropPrefix(redis: TesseraRedis, prefix: string): Promise<void> {
  const cluster = redis as unknown as { nodes?: (role: string) => TesseraRedis[] };
  const nodes = typeof cluster.nodes === 'function' ? cluster.nodes('master') : [redis];
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await Promise.all(keys.map((k) => redis.del(k)));
    } while (cursor !== '0');
  }
}

/**
 * The environment of a Tessera process (ingress, worker, `tessera up`) on the run's Redis under
 * `prefix`, on loopback, with the test argon2 cost; `env` adds to it.
 */
export function serviceEnv(prefix: string, env: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    ...TEST_ARGON2,
    REDIS_URL: inject('redisUrl'),
    TESSERA_REDIS_PREFIX: prefix,
    TESSERA_JWT_SIGNING_KEY: TEST_SIGNING_KEY,
    TESSERA_HOST: '127.0.0.1',
    ...env,
  };
}

/**
 * Starts a real ingress in this process on a free port, on the run's Redis, under a fresh key
 * prefix (or another stack's `prefix`: a second ingress of the same deployment), with the
 * documents' demo users seeded (unless `seed: false`).
 */
export async function startStack(
  env: Record<string, string> = {},
  options: { readonly seed?: boolean; readonly prefix?: string } = {},
): Promise<Stack> {
  const prefix = options.prefix ?? testPrefix();
  const settings = loadSettings({
    REDIS_URL: inject('redisUrl'),
    TESSERA_REDIS_PREFIX: prefix,
    TESSERA_JWT_SIGNING_KEY: TEST_SIGNING_KEY,
    TESSERA_HOST: '127.0.0.1',
    TESSERA_PORT: '0',
    ...TEST_ARGON2,
    ...env,
  });
  const redis = await connectRedis({ url: settings.redisUrl, commandTimeoutMs: settings.redisCommandTimeoutMs });
  const keys = keyLayout(prefix);
  const users = new UserRepository(redis, keys);
  const tokens = new TokenRepository(redis, keys, settings.tokenLimits);
  const clients = new ClientRepository(redis, keys);
  const gate = new LoginGate(redis, keys, settings.lockout);
  const pool = new VerifyPool(settings.verifyPool.size, settings.verifyPool.maxWaitMs);
  const hasher = new PasswordHasher(settings.argon2);
  if (options.seed !== false) await seedDemoUsers(users, hasher);
  const logs: string[] = [];
  const log = createLogger('ingress', 'info', (line) => logs.push(line));
  const cache = await openTokenCache(settings, keys, tokens);
  const jwt = await openJwtKeys(settings, redis, keys, log);
  const upstreams = new Upstreams(settings.upstream, log);
  const server = createServer(settings, {
    upstreams,
    users,
    tokens,
    clients,
    gate,
    pool,
    hasher,
    signer: jwt.signer,
    log,
    redis,
    ...(cache === null ? {} : { tokenCache: cache.cache }),
  });
  const ingress: Ingress = await listen(server, 0, '127.0.0.1');
  const base = `http://127.0.0.1:${ingress.port}`;
  return {
    base,
    settings,
    redis,
    users,
    tokens,
    clients,
    gate,
    pool,
    hasher,
    logs,
    tokenCache: cache,
    post: async (path, body, headers = {}) => {
      const res = await fetch(`${base}${path}`, { method: 'POST', body: body ?? null, headers });
      // Every answer a suite receives must be one the OpenAPI document describes.
      validateResponse('POST', path, res.status, res.headers, await res.clone().text());
      return res;
    },
    close: async () => {
      await ingress.close();
      upstreams.close();
      cache?.close();
      jwt.close();
      await dropPrefix(redis, prefix);
      redis.disconnect();
    },
  };
}
