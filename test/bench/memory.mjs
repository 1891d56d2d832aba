// Redis memory per live opaque token, in the shape moh logins leave behind: every login is one
// family of one UUID access token and one UUID refresh token (the default lifetimes, 1 day and 30
// days), saved through TokenRepository.save as the ingress saves them; 100 000 tokens spread over
// 10 000 users (5 logins each). Bytes per token = Δ INFO used_memory / tokens, measured in a
// database of its own (empty before: its key tables grow from nothing, as on a fresh server). The
// users' own records are not written: they exist whether or not a user holds tokens.
//   node test/bench/memory.mjs [--tokens 100000] [--users 10000]
// Needs redis-server (it starts a private one) and a build (npm run build). Prints the figure.
// run.mjs imports measureTokenMemory and runs it in database 1 of its own server.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadSettings } from '@tessera/config';
import { DEFAULT_LIFETIMES, hmacJwtKey, JwtSigner, mintToken, newUuid, tokenRecord } from '@tessera/core';
import { connectRedis, DEFAULT_SCOPES, keyLayout, TokenRepository } from '@tessera/store';

const usedMemory = async (redis) => Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1]);

/**
 * Mints `tokens` moh tokens (tokens / 2 logins, round-robin over `users` users) into the
 * (empty) database of `redisUrl`; returns the bytes of Redis memory per token. Empties the
 * database again afterwards.
 */
export async function measureTokenMemory({ redisUrl, tokens: count = 100_000, users = 10_000, prefix = 'tessera:' }) {
  const redis = await connectRedis({ url: redisUrl, commandTimeoutMs: 60_000, connectionName: 'tessera-bench-memory' });
  try {
    if ((await redis.dbsize()) !== 0) throw new Error(`measureTokenMemory needs an empty database, ${redisUrl} is not`);
    const settings = loadSettings({ REDIS_URL: redisUrl }, { role: 'cli' });
    const repo = new TokenRepository(redis, keyLayout(prefix, settings.accountShards), settings.tokenLimits);
    const key = await hmacJwtKey('bench-memory-signing-key-0123456789abcdef', 'HS256');
    const signer = new JwtSigner({ active: key, keys: [key] });
    const owners = Array.from({ length: users }, (_, i) => ({ id: i + 1, username: `MOH-${90_000 + i}`, scopes: DEFAULT_SCOPES }));
    const logins = Math.ceil(count / 2);
    // load the scripts and let the allocator settle before the first reading
    await repo.save([], () => undefined);
    await sleep(200);
    const before = await usedMemory(redis);
    for (let start = 0; start < logins; start += 1000) {
      await Promise.all(
        Array.from({ length: Math.min(1000, logins - start) }, async (_, j) => {
          const owner = owners[(start + j) % users];
          const ctx = { now: Date.now(), userId: owner.id, lifetimes: DEFAULT_LIFETIMES, signer };
          const grants = [await mintToken('uuid', 'access', ctx), await mintToken('uuid', 'refresh', ctx)];
          const family = newUuid();
          await repo.save(grants, (g) => tokenRecord(g, 'moh', owner, family));
        }),
      );
    }
    // incremental rehashing of the key tables finishes within a few server cron ticks
    await sleep(500);
    const bytes = ((await usedMemory(redis)) - before) / (logins * 2);
    await redis.flushdb();
    return bytes;
  } finally {
    redis.disconnect();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { tokens: { type: 'string' }, users: { type: 'string' } } });
  const tokens = Number(values.tokens ?? '100000');
  const users = Number(values.users ?? '10000');
  const port = 21000 + Math.floor(Math.random() * 20000);
  const server = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      mkdtempSync(join(tmpdir(), 'tessera-mem-')),
    ],
    { stdio: 'ignore' },
  );
  process.on('exit', () => server.kill('SIGTERM'));
  await sleep(300);
  const bytes = await measureTokenMemory({ redisUrl: `redis://127.0.0.1:${port}`, tokens, users });
  const version = /v=(\S+)/.exec(spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).stdout)?.[1] ?? '?';
  console.log(
    `Redis ${version}: ${bytes.toFixed(0)} bytes per live opaque token (${tokens} moh UUID tokens, ${users} users, access + refresh per login; target <= 300) ${bytes <= 300 ? 'met' : 'MISSED'}`,
  );
  process.exit(0);
}
