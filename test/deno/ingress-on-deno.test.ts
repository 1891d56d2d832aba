import { aroundAll, describe, expect, it } from 'vitest';
import { DEMO } from '../support/demo.ts';
import { loginAddresses, loginFrom } from '../support/proxied.ts';
import { exchange } from '../support/raw-http.ts';
import { freePort } from '../support/redis-source.ts';
import { type Stack, startStack, testKeys } from '../support/stack.ts';

// The same handler behind Deno.serve: ioredis and @node-rs/argon2 from node_modules, core from source.
// The conformance and e2e suites run on Deno as on Node; here what is Deno's alone: its fetch to an
// old system, its body stream, how it joins header lines, and its HTTP/1.1 parser.
describe('ingress on Deno', () => {
  let stack: Stack;
  let base: string;
  let prefix: string;

  aroundAll(async (runSuite) => {
    const closedPort = await freePort();
    await using started = await startStack(
      {
        // lazy migration to an old system that is not there: Deno's fetch must tell it from one that failed
        TESSERA_UPSTREAM_NEHR_URL: `http://127.0.0.1:${closedPort}/nehrapi/login/getToken`,
        // this test is the proxy (from 127.0.0.1); 127.0.0.2 is a client reaching the ingress directly
        TESSERA_TRUSTED_PROXIES: '127.0.0.1/32',
        TESSERA_PROXY_HEADER: 'forwarded',
      },
      { runtime: 'deno' },
    );
    stack = started;
    base = stack.base;
    prefix = stack.settings.redisPrefix;
    await runSuite();
  });

  it('an old system that cannot be reached is "unavailable" and not counted against the user, as on Node', async () => {
    for (let i = 0; i < 7; i++) {
      const res = await fetch(`${base}/nehrapi/login/getToken`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'not.here.yet', password: 'whatever' }),
      });
      expect(res.status).toBe(503);
      await res.body?.cancel();
    }
    expect(
      await stack.redis.hget(testKeys(prefix).lockout('u:not.here.yet', testKeys(prefix).shardOf('not.here.yet')), 'fails'),
    ).toBeNull();
  });

  it('refuses a chunked body past the limit without reading it all, in dialect', async () => {
    let sent = 0;
    const chunk = new Uint8Array(64 * 1024).fill(97);
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        // 64 MiB at most, 64 KiB every 2 ms: the ingress must answer long before the end
        if (sent >= 64 * 1024 * 1024) return controller.close();
        await new Promise((r) => setTimeout(r, 2));
        sent += chunk.byteLength;
        controller.enqueue(chunk);
      },
    });
    const res = await fetch(`${base}/nehrapi/login/getToken`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      duplex: 'half',
    } as RequestInit);
    const sentAtAnswer = sent;
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ code: 400, message: 'Bad Request: The request body is too large.' });
    expect(sentAtAnswer).toBeLessThan(16 * 1024 * 1024);
  });

  it("takes the client from a trusted proxy's Forwarded header as on Node, and nothing from another peer", async () => {
    const login = (username: string, headers: Record<string, string | string[]>, from?: string) =>
      loginFrom(base, username, { headers, from, path: '/api/token/' });
    expect(
      await login('p1', { forwarded: 'for=6.6.6.6, for="[2001:db8:cafe::17]:4711";proto=https', 'x-forwarded-for': '203.0.113.1' }),
    ).toBe(401);
    // two field lines: Deno joins them, the last is nearest
    expect(await login('p2', { forwarded: ['for=6.6.6.6', 'for="[2001:DB8:CAFE::18]"'] })).toBe(401);
    expect(await login('p3', { forwarded: 'for=203.0.113.2' }, '127.0.0.2')).toBe(401);
    expect(await login('p4', { forwarded: 'for=unknown' })).toBe(401);
    const seen = await loginAddresses(stack.redis, prefix);
    expect([seen['u:p1'], seen['u:p2'], seen['u:p3'], seen['u:p4']]).toStrictEqual([
      ['2001:db8:cafe::17'],
      ['2001:db8:cafe::18'],
      ['127.0.0.2'],
      ['127.0.0.1'],
    ]);
    // the rate limit: one bucket for the /64, the untrusted peer's own, none for what it claimed
    const bucket = (group: string) => stack.redis.get(testKeys(prefix).rate(group));
    expect(await bucket('2001:db8:cafe::/64')).toBe('2');
    expect(await bucket('127.0.0.2')).toBe('1');
    expect(await bucket('203.0.113.2')).toBeNull();
  });

  // docs/security.md, "HTTP parsing": Deno's parser refuses duplicate Content-Length, unknown
  // codings, obs-fold and NUL itself; the adapter adds these. Deno keeps the connection open after
  // them (it does not honour the answer's Connection: close) and accepts bare LF line ends.
  describe('raw HTTP/1.1', () => {
    const health = 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n';
    it('pipelined requests are answered in order, the Redis-bound one first', async () => {
      const login = JSON.stringify(DEMO.ministry);
      const first = `POST /getUserToken HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${login.length}\r\n\r\n${login}`;
      const r = await exchange(stack.port, [first + health], { expect: 2 });
      expect(r.answers.map((a) => a.status)).toEqual([200, 200]);
      expect(JSON.parse(r.answers[0]?.text ?? '').code).toBe(0);
      expect(r.answers[1]?.text).toBe('{"status":"ok"}');
    });
    const many = Array.from({ length: 120 }, (_, i) => `X-Filler-${i}: v\r\n`).join('');
    for (const [name, head, status] of [
      [
        'Transfer-Encoding: CHUNKED',
        'POST /api/token/verify/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: CHUNKED\r\n\r\n2\r\n{}\r\n0\r\n\r\n',
        400,
      ],
      ['more than 100 header lines', `GET /healthz HTTP/1.1\r\nHost: x\r\n${many}\r\n`, 431],
      ['a header block over 16 KiB', `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431],
    ] as const) {
      it(`${name} → ${status} at once`, async () => {
        const r = await exchange(stack.port, [head], { expect: 1 });
        expect(r.answers.map((a) => a.status)).toEqual([status]);
        expect(r.ms).toBeLessThan(2000);
      });
    }
  });
});
