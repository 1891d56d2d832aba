import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AuditEvent } from '@tessera/events';
import { PasswordHasher } from '@tessera/passwords';
import { connectRedis, keyLayout, type TesseraRedis, UserRepository } from '@tessera/store';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../support/redis-source.ts';
import { dropPrefix, TEST_ARGON2, TEST_SIGNING_KEY, testPrefix } from '../support/stack.ts';

const ROOT = new URL('../../', import.meta.url).pathname;

/** Starts a service process and resolves once it logs `ready`. */
async function startService(entry: string, env: NodeJS.ProcessEnv, ready: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [join(ROOT, entry)], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  await Promise.race([
    (async () => {
      for await (const line of lines) if (line.includes(ready)) return;
      throw new Error(`${entry} ended before it was ready`);
    })(),
    once(child, 'exit').then(([code]) => {
      throw new Error(`${entry} exited with ${code}`);
    }),
  ]);
  lines.on('line', (line) => {
    if (line.includes('failed')) process.stdout.write(`${entry}: ${line}\n`);
  });
  return child;
}

async function kill9(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}

describe('crash safety of the audit trail', () => {
  let redis: TesseraRedis;
  let dir: string;
  const prefix = testPrefix();
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    redis = await connectRedis({ url: inject('redisUrl') });
    const users = new UserRepository(redis, keyLayout(prefix));
    const hasher = new PasswordHasher({ memoryCost: 1024, timeCost: 1, parallelism: 1 });
    for (let i = 0; i < 8; i++) await users.create({ username: `load${i}`, passwordHash: await hasher.hash(`Load-pass-${i}`) });
    dir = mkdtempSync(join(tmpdir(), 'tessera-crash-'));
  });
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await dropPrefix(redis, prefix);
    redis.disconnect();
    rmSync(dir, { recursive: true, force: true });
  });

  it('SIGKILL of ingress and of worker under load: one audit record per answered attempt, none doubled', async () => {
    const port = await freePort();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...TEST_ARGON2,
      REDIS_URL: inject('redisUrl'),
      TESSERA_REDIS_PREFIX: prefix,
      TESSERA_JWT_SIGNING_KEY: TEST_SIGNING_KEY,
      TESSERA_HOST: '127.0.0.1',
      TESSERA_PORT: String(port),
      TESSERA_OPS_PORT: String(await freePort()),
      TESSERA_AUDIT_DIR: dir,
      TESSERA_LOGIN_RATE_LIMIT: '0',
      TESSERA_LOCKOUT_FAILURES: '1000',
    };
    const startIngress = () => startService('services/ingress/dist/main.js', env, '"ingress listening"');
    const startWorker = () => startService('services/worker/dist/main.js', env, '"worker running"');
    let ingress = await startIngress();
    let worker = await startWorker();
    children.push(ingress, worker);

    // Bounded load: 8 loops, each attempt marked by its user agent; about 3 s in all.
    const answered = new Set<string>();
    const sent = new Set<string>();
    let stop = false;
    let n = 0;
    const loops = Array.from({ length: 8 }, async (_, loop) => {
      while (!stop && n < 3000) {
        const id = `attempt-${n++}`;
        sent.add(id);
        const good = n % 3 !== 0;
        try {
          const res = await fetch(`http://127.0.0.1:${port}/nehrapi/login/getToken`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'user-agent': id },
            body: JSON.stringify({ username: `load${loop}`, password: good ? `Load-pass-${loop}` : 'wrong' }),
            signal: AbortSignal.timeout(5000),
          });
          await res.arrayBuffer();
          if (res.status === 200 || res.status === 401) answered.add(id);
        } catch {
          await sleep(20); // the ingress is down: no answer, not counted
        }
      }
    });
    await sleep(700);
    await kill9(ingress);
    await sleep(200);
    ingress = await startIngress();
    children.push(ingress);
    await sleep(700);
    await kill9(worker);
    await sleep(300);
    worker = await startWorker();
    children.push(worker);
    await sleep(700);
    stop = true;
    await Promise.all(loops);

    // Wait for the worker to drain everything into the audit stream (a job cut by the SIGKILL is
    // taken up again once its lock lapses, within about 10 s).
    const stream = `${prefix}{audit}:stream`;
    const outbox = `${prefix}{users}:outbox`;
    const recorded = async () => {
      const counts = new Map<string, number>();
      for (const [, fields] of await redis.xrange(stream, '-', '+')) {
        const e = JSON.parse(fields[fields.indexOf('e') + 1] as string) as AuditEvent;
        if (e.type === 'login.succeeded' || e.type === 'login.failed')
          counts.set(e.userAgent ?? '', (counts.get(e.userAgent ?? '') ?? 0) + 1);
      }
      return counts;
    };
    const deadline = Date.now() + 30_000;
    let attempts = await recorded();
    while (Date.now() < deadline && ((await redis.xlen(outbox)) > 0 || [...answered].some((id) => !attempts.has(id)))) {
      await sleep(200);
      attempts = await recorded();
    }
    process.stdout.write(`crash test: ${sent.size} sent, ${answered.size} answered, ${attempts.size} login records\n`);
    expect(answered.size).toBeGreaterThan(50);
    if ((await redis.xlen(outbox)) > 0) {
      process.stdout.write(
        `outbox left: ${JSON.stringify(await redis.xpending(outbox, 'drain'))} ${JSON.stringify(await redis.xinfo('CONSUMERS', outbox, 'drain'))} ${JSON.stringify(await redis.xinfo('GROUPS', outbox))} ${JSON.stringify((await redis.xrange(outbox, '-', '+')).map(([id]) => id))}\n`,
      );
    }
    expect(await redis.xlen(outbox)).toBe(0);
    // none lost: every answered attempt has its record
    const missing = [...answered].filter((id) => attempts.get(id) !== 1);
    expect(missing).toStrictEqual([]);
    // none doubled, none invented: at most one per attempt, only for attempts that were sent
    expect([...attempts.values()].every((c) => c === 1)).toBe(true);
    expect([...attempts.keys()].every((id) => sent.has(id))).toBe(true);
    // unanswered attempts with a record are those cut by the crash after their commit: a handful at most
    expect(attempts.size - answered.size).toBeLessThanOrEqual(16);
    for (const c of [ingress, worker]) {
      c.kill('SIGTERM');
      await once(c, 'exit');
    }
  }, 60_000);
});
