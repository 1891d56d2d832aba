import { aroundAll, describe, expect, it } from 'vitest';
import { speakerOf, UNAVAILABLE as UNAVAILABLE_OF } from '../support/answers.ts';
import { ROUTES } from '../support/demo.ts';
import { expectAnswer, jsonOf, postJson, type Reply, send } from '../support/http.ts';
import { startRedisServer } from '../support/redis-source.ts';
import { RUNTIMES, type Stack, startStack } from '../support/stack.ts';

/** Each login route's documented "unavailable" answer (test/support/answers.ts). */
const UNAVAILABLE = ['/getUserToken', '/nehrapi/login/getToken', '/api/token', '/api/token/', '/v1/login'].map((path) => ({
  path,
  ...UNAVAILABLE_OF[speakerOf(path)],
}));

const CREDS: Record<string, Record<string, string>> = {
  '/getUserToken': ROUTES.moh.creds,
  '/nehrapi/login/getToken': ROUTES.nehr.creds,
  '/api/token': ROUTES.simplejwt.creds,
  '/api/token/': ROUTES.simplejwt.creds,
  '/v1/login': ROUTES.peb.creds,
};

async function timed(run: () => Promise<Reply>): Promise<{ reply: Reply; ms: number }> {
  const start = performance.now();
  const reply = await run();
  return { reply, ms: performance.now() - start };
}

describe.each(RUNTIMES)('Redis stopped under a running ingress on %s', (runtime) => {
  let stack: Stack;
  aroundAll(async (runSuite) => {
    await using redis = await startRedisServer();
    stack = await startStack({ REDIS_URL: redis.url }, { runtime });
    try {
      // Healthy first: every route logs in and /readyz is ready.
      for (const u of UNAVAILABLE) expect((await postJson(stack.base, u.path, CREDS[u.path])).status).toBe(200);
      const ready = await send(stack.base, '/readyz', { method: 'GET' });
      expect({ status: ready.status, body: ready.text }).toStrictEqual({ status: 200, body: '{"status":"ready","redis":"ok"}' });
      await redis.stop();
      expect(redis.child.exitCode !== null || redis.child.signalCode !== null).toBe(true);
      await runSuite();
    } finally {
      // the key cleanup cannot run without Redis; the ingress and the connections still end
      await stack.close().catch(() => {});
    }
  });

  it.each(UNAVAILABLE)('$path answers its "unavailable" outcome within 3 s (known user, right password)', async (u) => {
    const { reply, ms } = await timed(() => postJson(stack.base, u.path, CREDS[u.path]));
    expectAnswer(reply, u.status, u.body);
    expect(ms).toBeLessThan(3000);
  });

  it.each(UNAVAILABLE)('$path answers "unavailable" within 3 s for an unknown user too', async (u) => {
    const id = u.path === '/v1/login' ? { email: 'nobody@example.com' } : { username: 'nobody' };
    const { reply, ms } = await timed(() => postJson(stack.base, u.path, { ...id, password: 'whatever' }));
    expectAnswer(reply, u.status, u.body);
    expect(ms).toBeLessThan(3000);
  });

  it('many concurrent logins all get the "unavailable" answer within 3 s', async () => {
    const start = performance.now();
    const replies = await Promise.all(
      Array.from({ length: 20 }, (_, i) => UNAVAILABLE[i % UNAVAILABLE.length] as (typeof UNAVAILABLE)[number]).map(async (u) => ({
        u,
        reply: await postJson(stack.base, u.path, CREDS[u.path]),
      })),
    );
    expect(performance.now() - start).toBeLessThan(3000);
    for (const { u, reply } of replies) expectAnswer(reply, u.status, u.body);
  });

  it('requests that need no Redis still get their own answers (malformed, wrong method)', async () => {
    expectAnswer(
      await postJson(stack.base, '/getUserToken', { username: 'x' }),
      200,
      '{"version":"v2","code":1,"message":"Invalid Request","result":null}',
    );
    expectAnswer(
      await postJson(stack.base, '/api/token', {}),
      400,
      '{"username":["This field is required."],"password":["This field is required."]}',
    );
    const get = await send(stack.base, '/v1/login', { method: 'GET' });
    expectAnswer(get, 200, '{"status":405,"message":"Only POST method is allowed.","error_id":5}');
  });

  it('/readyz answers 503 and /healthz 200, both JSON, within 3 s', async () => {
    const ready = await timed(() => send(stack.base, '/readyz', { method: 'GET' }));
    expect({ status: ready.reply.status, body: ready.reply.text }).toStrictEqual({
      status: 503,
      body: '{"status":"unavailable","redis":"unreachable"}',
    });
    expect(ready.ms).toBeLessThan(3000);
    const health = await timed(() => send(stack.base, '/healthz', { method: 'GET' }));
    expect({ status: health.reply.status, body: health.reply.text }).toStrictEqual({ status: 200, body: '{"status":"ok"}' });
    expect(jsonOf(health.reply)).toStrictEqual({ status: 'ok' });
    expect(health.ms).toBeLessThan(3000);
  });

  it('logs no stack trace for an expected outage, and never a password', async () => {
    await stack.settleLogs();
    const text = stack.logs.join('');
    for (const pw of Object.values(CREDS).map((c) => c.password)) expect(text.includes(pw as string)).toBe(false);
    expect(text.includes('    at ')).toBe(false);
    // An outage is an expected outcome, not an "unexpected error".
    expect(stack.logs.filter((l) => l.includes('"unexpected error"') || l.includes('"request failed"'))).toStrictEqual([]);
  });
});

describe.each(RUNTIMES)('Redis frozen (SIGSTOP) under a running ingress on %s', (runtime) => {
  let stack: Stack;
  aroundAll(async (runSuite) => {
    await using redis = await startRedisServer();
    await using started = await startStack({ REDIS_URL: redis.url, TESSERA_REDIS_TIMEOUT_MS: '500' }, { runtime });
    stack = started;
    expect((await postJson(stack.base, '/api/token', ROUTES.simplejwt.creds)).status).toBe(200);
    redis.child.kill('SIGSTOP');
    try {
      await runSuite();
    } finally {
      redis.child.kill('SIGCONT');
    }
  });

  it.each(UNAVAILABLE)('$path answers "unavailable" once the command timeout (500 ms) passes, within 3 s', async (u) => {
    const { reply, ms } = await timed(() => postJson(stack.base, u.path, CREDS[u.path]));
    expectAnswer(reply, u.status, u.body);
    expect(ms).toBeGreaterThanOrEqual(400);
    expect(ms).toBeLessThan(3000);
  });

  it('/readyz answers 503 within 3 s', async () => {
    const ready = await timed(() => send(stack.base, '/readyz', { method: 'GET' }));
    expect({ status: ready.reply.status, body: ready.reply.text }).toStrictEqual({
      status: 503,
      body: '{"status":"unavailable","redis":"unreachable"}',
    });
    expect(ready.ms).toBeLessThan(3000);
  });
});
