import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { request } from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PasswordHasher } from '@tessera/passwords';
import { ClientRepository, connectRedis, keyLayout, type TesseraRedis, UserRepository } from '@tessera/store';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../support/redis-source.ts';
import { dropPrefix, TEST_ARGON2, TEST_SIGNING_KEY, testPrefix } from '../support/stack.ts';

const ROOT = new URL('../../', import.meta.url).pathname;

interface Answer {
  readonly status: number;
  readonly requestId: string;
  readonly body: string;
}

/** One request on a connection of its own, so the kernel picks a process for each. */
function send(port: number, path: string, body: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        agent: false,
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          text += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, requestId: String(res.headers['x-request-id']), body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Which process answered: the request id is `<process id>-<counter>`. */
const processOf = (a: Answer): string => a.requestId.split('-')[0] ?? '';

// TESSERA_INGRESS_PROCESSES=2: two processes share the port, each with its own token memory; a
// revocation through one is seen by the other on the very next request.
describe('several ingress processes on one port', () => {
  let ingress: ChildProcess;
  let redis: TesseraRedis;
  let port: number;
  let prefix: string;
  let auth: string;
  const output: string[] = [];

  beforeAll(async () => {
    prefix = testPrefix();
    redis = await connectRedis({ url: inject('redisUrl') });
    const keys = keyLayout(prefix);
    const hasher = new PasswordHasher({ memoryCost: 1024, timeCost: 1, parallelism: 1 });
    await new UserRepository(redis, keys).create({
      username: 'multi',
      email: 'multi@example.com',
      passwordHash: await hasher.hash('Multi-Pass-123'),
    });
    auth = `Basic ${Buffer.from(`svc:${await new ClientRepository(redis, keys).add('svc')}`).toString('base64')}`;
    port = await freePort();
    ingress = spawnIngress();
    ingress.stdout?.on('data', (d: Buffer) => output.push(d.toString()));
    ingress.stderr?.on('data', (d: Buffer) => output.push(d.toString()));
    // both processes are up once both have said so
    for (let i = 0; i < 300 && output.join('').split('"ingress listening"').length < 3; i++) await sleep(50);
    expect(output.join('').split('"ingress listening"').length, output.join('')).toBe(3);
  }, 30_000);

  afterAll(async () => {
    if (ingress.exitCode === null) {
      ingress.kill('SIGKILL');
      await once(ingress, 'exit');
    }
    await dropPrefix(redis, prefix);
    redis.disconnect();
  });

  /** `TESSERA_INGRESS_PROCESSES=2` on the test's port, Redis and prefix. */
  const spawnIngress = () =>
    spawn(process.execPath, [join(ROOT, 'services/ingress/dist/main.js')], {
      env: {
        ...process.env,
        ...TEST_ARGON2,
        REDIS_URL: inject('redisUrl'),
        TESSERA_REDIS_PREFIX: prefix,
        TESSERA_JWT_SIGNING_KEY: TEST_SIGNING_KEY,
        TESSERA_HOST: '127.0.0.1',
        TESSERA_PORT: String(port),
        TESSERA_INGRESS_PROCESSES: '2',
        TESSERA_LOGIN_RATE_LIMIT: '0',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });

  // Connections come in 10 at a time: the processes share one listening socket and the kernel
  // wakes whichever waits, so one after another a loaded machine may hand all to one of them.
  const processesSeen = async (n: number) => {
    const seen = new Set<string>();
    for (let i = 0; i < n; i += 10)
      for (const a of await Promise.all(Array.from({ length: 10 }, () => send(port, '/healthz', '')))) seen.add(processOf(a));
    return seen;
  };

  it('answers from two processes', async () => {
    expect((await processesSeen(60)).size).toBe(2);
  });

  it('a revocation through one process is seen by the other at once', async () => {
    for (let round = 0; round < 10; round++) {
      const login = await send(port, '/v1/login', 'email=multi@example.com&password=Multi-Pass-123');
      const token = (JSON.parse(login.body) as { token: string }).token;
      // warm both processes' memories
      const warm = new Set<string>();
      for (let i = 0; i < 10 && warm.size < 2; i++) {
        for (const a of await Promise.all(
          Array.from({ length: 4 }, () => send(port, '/oauth/introspect', `token=${token}`, { authorization: auth })),
        )) {
          expect(JSON.parse(a.body)).toMatchObject({ active: true });
          warm.add(processOf(a));
        }
      }
      expect(warm.size).toBe(2);
      expect((await send(port, '/oauth/revoke', `token=${token}`, { authorization: auth })).status).toBe(200);
      for (let i = 0; i < 10; i++) {
        const a = await send(port, '/oauth/introspect', `token=${token}`, { authorization: auth });
        expect(a.body, `round ${round}, request ${i}`).toBe('{"active":false}');
      }
    }
  });

  it('starts a process that died again, and stops them all on SIGTERM', async () => {
    const pids = output
      .join('')
      .split('\n')
      .filter((l) => l.includes('"ingress listening"'))
      .map((l) => (JSON.parse(l) as { pid: number }).pid);
    const sibling = pids.find((p) => p !== ingress.pid) as number;
    process.kill(sibling, 'SIGKILL');
    for (let i = 0; i < 100 && output.join('').split('"ingress listening"').length < 4; i++) await sleep(50);
    expect(output.join('')).toContain('"ingress process died"');
    expect((await processesSeen(60)).size).toBe(2);
    ingress.kill('SIGTERM');
    const [code] = await once(ingress, 'exit');
    expect(code).toBe(0);
    await sleep(200);
    await expect(send(port, '/healthz', '')).rejects.toThrow();
  }, 20_000);

  it('leaves no process behind when the first one is killed outright', async () => {
    const again = spawnIngress();
    let text = '';
    again.stdout?.on('data', (d: Buffer) => {
      text += d.toString();
    });
    for (let i = 0; i < 300 && text.split('"ingress listening"').length < 3; i++) await sleep(50);
    expect((await processesSeen(60)).size).toBe(2);
    again.kill('SIGKILL');
    await once(again, 'exit');
    // the sibling notices its parent is gone and stops; then nothing answers on the port
    let open = true;
    for (let i = 0; i < 100 && open; i++) {
      await sleep(50);
      open = await send(port, '/healthz', '').then(
        () => true,
        () => false,
      );
    }
    expect(open).toBe(false);
  }, 30_000);
});
