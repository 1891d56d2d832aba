import { aroundAll, describe, expect, it } from 'vitest';
import { exchange } from '../support/raw-http.ts';
import { keysMatching, type Stack, startStack } from '../support/stack.ts';

// Raw bytes against a real ingress (real Redis): pipelining must be answered in order (RFC 9112
// §9.3.2), and anything two HTTP parsers could read differently (request smuggling behind a
// proxy) or that is not HTTP/1.1 at all is refused at once with a 4xx and a closed connection,
// never with a second answer.

/** Far below the 12 s a stuck parser used to hold a connection; generous for a loaded machine. */
const PROMPT_MS = 2000;

const HOST = 'Host: tessera.test\r\n';

function request(method: string, path: string, body?: string, headers = ''): string {
  if (body === undefined) return `${method} ${path} HTTP/1.1\r\n${HOST}${headers}\r\n`;
  return `${method} ${path} HTTP/1.1\r\n${HOST}Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${headers}\r\n${body}`;
}

const LOGIN = request('POST', '/api/token/', JSON.stringify({ username: 'sampleUser', password: 'userpassword123' }));
const WRONG_LOGIN = request('POST', '/api/token/', JSON.stringify({ username: 'sampleUser', password: 'wrongpassword123' }));
const HEALTH = request('GET', '/healthz');
const VERIFY_JUNK = request('POST', '/api/token/verify/', JSON.stringify({ token: 'junk' }));

describe('HTTP parsing: pipelining and request smuggling', () => {
  let stack: Stack;
  let port: number;
  aroundAll(async (runSuite) => {
    await using started = await startStack({ TESSERA_LOGIN_RATE_LIMIT: '0' });
    stack = started;
    port = Number(new URL(stack.base).port);
    await runSuite();
  });

  describe('pipelined requests are answered in order, on an open connection', () => {
    it('the issue reproduction: a Redis-bound login then /healthz in one write', async () => {
      const body = '{"username":"a","password":"b"}';
      const r = await exchange(port, [`${request('POST', '/api/token/', body)}${HEALTH}`], { expect: 2 });
      expect(r.answers.map((a) => a.status)).toEqual([401, 200]);
      expect(JSON.parse(r.answers[0]?.text ?? '')).toEqual({ detail: 'No active account found with the given credentials' });
      expect(JSON.parse(r.answers[1]?.text ?? '')).toEqual({ status: 'ok' });
      expect(r.closed).toBe(false);
    });

    it('a successful login (argon2 and Redis) then /healthz: tokens first, health second', async () => {
      const r = await exchange(port, [LOGIN + HEALTH], { expect: 2 });
      expect(r.answers.map((a) => a.status)).toEqual([200, 200]);
      expect(Object.keys(JSON.parse(r.answers[0]?.text ?? '')).sort()).toEqual(['access', 'refresh']);
      expect(JSON.parse(r.answers[1]?.text ?? '')).toEqual({ status: 'ok' });
    });

    it('an Expect the server does not know is ignored: the route answers in its dialect, not 417', async () => {
      const r = await exchange(port, [request('POST', '/api/token/', '{"username":"a","password":"b"}', 'Expect: \r\n') + HEALTH], {
        expect: 2,
      });
      expect(r.answers.map((a) => a.status)).toEqual([401, 200]);
      expect(JSON.parse(r.answers[0]?.text ?? '')).toEqual({ detail: 'No active account found with the given credentials' });
    });

    it('a slow request first: later quick ones wait for it, each answer its own', async () => {
      const r = await exchange(port, [WRONG_LOGIN + HEALTH + VERIFY_JUNK + LOGIN + HEALTH], { expect: 5 });
      expect(r.answers.map((a) => a.status)).toEqual([401, 200, 401, 200, 200]);
      expect(JSON.parse(r.answers[0]?.text ?? '').detail).toBe('No active account found with the given credentials');
      expect(JSON.parse(r.answers[2]?.text ?? '').code).toBe('token_not_valid');
      expect(Object.keys(JSON.parse(r.answers[3]?.text ?? ''))).toContain('access');
      expect(r.answers[4]?.text).toBe('{"status":"ok"}');
      expect(r.closed).toBe(false);
    });

    it('the second request arriving while the first is still being answered', async () => {
      const r = await exchange(port, [LOGIN, HEALTH, VERIFY_JUNK], { expect: 3, gapMs: 1 });
      expect(r.answers.map((a) => a.status)).toEqual([200, 200, 401]);
      expect(r.closed).toBe(false);
    });

    it('a pipelined request split across writes, its body in the next write', async () => {
      const both = LOGIN + WRONG_LOGIN;
      const cut = LOGIN.length + 40;
      const r = await exchange(port, [both.slice(0, cut), both.slice(cut)], { expect: 2, gapMs: 20 });
      expect(r.answers.map((a) => a.status)).toEqual([200, 401]);
    });
  });

  describe('what two parsers could read differently: 400, closed, never a second answer', () => {
    const smuggled = (head: string, body: string) =>
      `POST /api/token/verify/ HTTP/1.1\r\n${HOST}Content-Type: application/json\r\n${head}\r\n${body}${HEALTH}`;
    const cases: [string, string][] = [
      ['two different Content-Length values', smuggled('Content-Length: 5\r\nContent-Length: 40\r\n', '{"a":')],
      ['Content-Length as a list', smuggled('Content-Length: 5, 40\r\n', '{"a":')],
      ['Transfer-Encoding: xchunked', smuggled('Transfer-Encoding: xchunked\r\n', '2\r\n{}\r\n0\r\n\r\n')],
      ['Transfer-Encoding: chunked, identity', smuggled('Transfer-Encoding: chunked, identity\r\n', '2\r\n{}\r\n0\r\n\r\n')],
      ['Transfer-Encoding: CHUNKED', smuggled('Transfer-Encoding: CHUNKED\r\n', '2\r\n{}\r\n0\r\n\r\n')],
      ['Transfer-Encoding: gzip, chunked', smuggled('Transfer-Encoding: gzip, chunked\r\n', '2\r\n{}\r\n0\r\n\r\n')],
      ['Transfer-Encoding twice', smuggled('Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n', '2\r\n{}\r\n0\r\n\r\n')],
      ['Transfer-Encoding and Content-Length', smuggled('Transfer-Encoding: chunked\r\nContent-Length: 5\r\n', '2\r\n{}\r\n0\r\n\r\n')],
    ];
    for (const [name, bytes] of cases) {
      it(name, async () => {
        const r = await exchange(port, [bytes]);
        expect(r.answers.map((a) => a.status)).toEqual([400]);
        expect(r.closed).toBe(true);
        expect(r.ms).toBeLessThan(PROMPT_MS);
      });
    }
  });

  it('a request pipelined behind a refused one is never run: the login behind it stores no token', async () => {
    const tokens = async () => (await keysMatching(stack.redis, `${stack.settings.redisPrefix}t:*`)).length;
    const mohLogin = (password: string) =>
      request('POST', `${stack.settings.mohBase}/getUserToken`, JSON.stringify({ username: 'MOH-90008', password }));
    // first, that a moh login does store a token (else the check below proves nothing)
    const before = await tokens();
    expect((await exchange(port, [mohLogin('Moh@-90008')], { expect: 1 })).answers.map((a) => a.status)).toEqual([200]);
    expect(await tokens()).toBeGreaterThan(before);
    for (const te of ['CHUNKED', 'gzip, chunked']) {
      const stored = await tokens();
      const refused = `POST /api/token/verify/ HTTP/1.1\r\n${HOST}Content-Type: application/json\r\nTransfer-Encoding: ${te}\r\n\r\n2\r\n{}\r\n0\r\n\r\n`;
      const r = await exchange(port, [refused + mohLogin('Moh@-90008')]);
      expect(r.answers.map((a) => a.status)).toEqual([400]);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await tokens(), te).toBe(stored);
    }
  });

  describe('not HTTP/1.1 as RFC 9112 writes it: a 4xx at once, closed', () => {
    const many = Array.from({ length: 120 }, (_, i) => `X-Filler-${i}: v\r\n`).join('');
    const cases: [string, string | Buffer, number][] = [
      ['more than 100 header lines', request('GET', '/healthz', undefined, many), 431],
      ['a header block over 16 KiB', request('GET', '/healthz', undefined, `X-Big: ${'a'.repeat(20_000)}\r\n`), 431],
      ['a bare LF ending the request line', `GET /healthz HTTP/1.1\n${HOST}\r\n`, 400],
      ['a bare LF ending a header line', `GET /healthz HTTP/1.1\r\nHost: tessera.test\nX-A: b\r\n\r\n`, 400],
      ['obs-fold (a header continued on the next line)', `GET /healthz HTTP/1.1\r\n${HOST}X-A: b\r\n  c\r\n\r\n`, 400],
      ['NUL in a header value', `GET /healthz HTTP/1.1\r\n${HOST}X-A: b\0c\r\n\r\n`, 400],
      ['NUL in the path', `GET /heal\0thz HTTP/1.1\r\n${HOST}\r\n`, 400],
    ];
    for (const [name, bytes, status] of cases) {
      it(`${name} → ${status}`, async () => {
        // a well-formed request behind it must not be answered either
        const r = await exchange(port, [typeof bytes === 'string' ? bytes + HEALTH : bytes]);
        expect(r.answers.map((a) => a.status)).toEqual([status]);
        expect(r.closed).toBe(true);
        expect(r.ms).toBeLessThan(PROMPT_MS);
      });
    }

    it('100 header lines are still fine', async () => {
      const filler = Array.from({ length: 99 }, (_, i) => `X-Filler-${i}: v\r\n`).join('');
      const r = await exchange(port, [request('GET', '/healthz', undefined, filler)], { expect: 1 });
      expect(r.answers.map((a) => a.status)).toEqual([200]);
    });
  });
});
