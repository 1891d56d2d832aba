import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { aroundAll, describe, expect, it } from 'vitest';
import { type Reply, rawRequest } from '../support/http.ts';
import { type IngressProcess, spawnIngress } from '../support/processes.ts';
import { freePort } from '../support/redis-source.ts';
import { type Stack, serviceEnv, startStack } from '../support/stack.ts';

/** One request on a connection of its own, so the kernel picks a process for each. */
const send = (port: number, path: string, body: string, headers: Record<string, string> = {}): Promise<Reply> =>
  rawRequest(`http://127.0.0.1:${port}`, 'POST', path, body, { 'content-type': 'application/x-www-form-urlencoded', ...headers });

/** Which process answered: the request id is `<process id>-<counter>`. */
const processOf = (a: Reply): string => (a.headers.get('x-request-id') ?? '').split('-')[0] ?? '';

/** The lines of `lines` saying an ingress process listens. */
const listening = (lines: readonly string[]) => lines.filter((l) => l.includes('"ingress listening"'));

// Node only: sibling processes sharing one listening socket are the Node ingress's
// (services/ingress/src/main.ts); the Deno ingress is one process.
// TESSERA_INGRESS_PROCESSES=2: two processes share the port, each with its own token memory; a
// revocation through one is seen by the other on the very next request.
describe('several ingress processes on one port', () => {
  let stack: Stack;
  let ingress: IngressProcess;
  let port: number;
  let auth: string;

  /** `TESSERA_INGRESS_PROCESSES=2` on the test's port, Redis and prefix; resolved once both processes listen. */
  const startIngress = () =>
    spawnIngress(
      serviceEnv(stack.settings.redisPrefix, { TESSERA_PORT: String(port), TESSERA_INGRESS_PROCESSES: '2', TESSERA_LOGIN_RATE_LIMIT: '0' }),
    );

  aroundAll(async (runSuite) => {
    // the Redis prefix and its repositories (the stack's own in-process ingress is not asked)
    await using started = await startStack({}, { seed: false });
    stack = started;
    await stack.users.create({ username: 'multi', email: 'multi@example.com', passwordHash: await stack.hasher.hash('Multi-Pass-123') });
    auth = `Basic ${Buffer.from(`svc:${await stack.clients.add('svc')}`).toString('base64')}`;
    port = await freePort();
    await using first = await startIngress();
    ingress = first;
    expect(listening(ingress.lines)).toHaveLength(2);
    await runSuite();
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
      const token = (JSON.parse(login.text) as { token: string }).token;
      // warm both processes' memories
      const warm = new Set<string>();
      for (let i = 0; i < 10 && warm.size < 2; i++) {
        for (const a of await Promise.all(
          Array.from({ length: 4 }, () => send(port, '/oauth/introspect', `token=${token}`, { authorization: auth })),
        )) {
          expect(JSON.parse(a.text)).toMatchObject({ active: true });
          warm.add(processOf(a));
        }
      }
      expect(warm.size).toBe(2);
      expect((await send(port, '/oauth/revoke', `token=${token}`, { authorization: auth })).status).toBe(200);
      for (let i = 0; i < 10; i++) {
        const a = await send(port, '/oauth/introspect', `token=${token}`, { authorization: auth });
        expect(a.text, `round ${round}, request ${i}`).toBe('{"active":false}');
      }
    }
  });

  it('starts a process that died again, and stops them all on SIGTERM', async () => {
    const pids = listening(ingress.lines).map((l) => (JSON.parse(l) as { pid: number }).pid);
    const sibling = pids.find((p) => p !== ingress.child.pid) as number;
    process.kill(sibling, 'SIGKILL');
    for (let i = 0; i < 100 && listening(ingress.lines).length < 3; i++) await sleep(50);
    expect(ingress.lines.join('\n')).toContain('"ingress process died"');
    expect((await processesSeen(60)).size).toBe(2);
    ingress.child.kill('SIGTERM');
    const [code] = await once(ingress.child, 'exit');
    expect(code).toBe(0);
    await sleep(200);
    await expect(send(port, '/healthz', '')).rejects.toThrow();
  }, 20_000);

  it('leaves no process behind when the first one is killed outright', async () => {
    await using again = await startIngress();
    expect((await processesSeen(60)).size).toBe(2);
    again.child.kill('SIGKILL');
    await once(again.child, 'exit');
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
