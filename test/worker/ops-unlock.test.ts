import { aroundAll, describe, expect, it } from 'vitest';
import { lockOut, type Ops, startOps } from '../support/ops.ts';
import { type Stack, startStack } from '../support/stack.ts';

const OPS_PASSWORD = 'unlock-test-password';
const BASIC = `Basic ${Buffer.from(`ops:${OPS_PASSWORD}`).toString('base64')}`;
const USER = 'someone.example';
// the operator may name the lock by username; what is cleared is the account's lock
const JSON_BODY = JSON.stringify({ identifier: `u:${USER}` });

// POST /api/unlock is a state change behind HTTP Basic, which a browser sends on its own: a page
// on another site must not be able to make a logged-in operator's browser unlock an account.
describe('ops POST /api/unlock: JSON only, same origin only, HTTP Basic', () => {
  let stack: Stack;
  let ops: Ops;
  const unlock = (headers: Record<string, string>, body: string | URLSearchParams | FormData = JSON_BODY) =>
    fetch(`${ops.base}/api/unlock`, { method: 'POST', headers: { authorization: BASIC, ...headers }, body });
  let KEY = '';
  const locked = async () => (await stack.gate.locked()).some((l) => l.identifier === KEY);
  const lock = async () => {
    if (!(await locked())) await lockOut(stack, USER);
    expect(await locked()).toBe(true);
  };

  aroundAll(async (runSuite) => {
    await using started = await startStack({ TESSERA_OPS_PASSWORD: OPS_PASSWORD, TESSERA_LOGIN_RATE_LIMIT: '0' });
    stack = started;
    await using opsServer = await startOps(stack, 'unlock-test');
    ops = opsServer;
    KEY = `a:${(await stack.users.get(USER))?.id}`;
    await runSuite();
  });

  it.each<[string, Record<string, string>, string | URLSearchParams | FormData]>([
    ['text/plain holding JSON', { 'content-type': 'text/plain' }, JSON_BODY],
    ['text/plain;charset=UTF-8', { 'content-type': 'text/plain;charset=UTF-8' }, JSON_BODY],
    ['a urlencoded form', {}, new URLSearchParams({ identifier: KEY })],
    [
      'a multipart form',
      {},
      (() => {
        const f = new FormData();
        f.set('identifier', KEY);
        return f;
      })(),
    ],
    ['no content type', {}, JSON_BODY],
  ])('refuses %s with 415 and a JSON error, and unlocks nothing', async (_, headers, body) => {
    await lock();
    const init: RequestInit = { method: 'POST', headers: { authorization: BASIC, ...headers }, body };
    if (typeof body === 'string' && headers['content-type'] === undefined) {
      // fetch adds text/plain to a string body; bytes go without a content type
      init.body = new TextEncoder().encode(body);
    }
    const res = await fetch(`${ops.base}/api/unlock`, init);
    expect(res.status).toBe(415);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.json()).toStrictEqual({ error: 'unsupported media type: send application/json' });
    expect(await locked()).toBe(true);
  });

  it.each<[string, Record<string, string>]>([
    ['Origin of another site', { origin: 'https://evil.example' }],
    ['Origin of another port of the same host', { origin: 'http://127.0.0.1:1' }],
    ['Origin null (a sandboxed or opaque page)', { origin: 'null' }],
    ['Sec-Fetch-Site cross-site', { 'sec-fetch-site': 'cross-site' }],
    ['Sec-Fetch-Site same-site', { 'sec-fetch-site': 'same-site' }],
    ['Sec-Fetch-Site cross-site with a matching Origin', { 'sec-fetch-site': 'cross-site', origin: 'self' }],
  ])('refuses %s with 403 and a JSON error, and unlocks nothing', async (_, headers) => {
    await lock();
    const h = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, v === 'self' ? ops.base : v]));
    const res = await unlock({ 'content-type': 'application/json', ...h });
    expect(res.status).toBe(403);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.json()).toStrictEqual({ error: 'cross-origin request refused: use the dashboard on this server' });
    expect(await locked()).toBe(true);
  });

  it('asks for the credential before anything else', async () => {
    await lock();
    const res = await fetch(`${ops.base}/api/unlock`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', origin: 'https://evil.example' },
      body: JSON_BODY,
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('Basic');
    expect(await locked()).toBe(true);
  });

  it('unlocks from the dashboard itself: JSON, its own Origin, Sec-Fetch-Site same-origin', async () => {
    await lock();
    const res = await unlock({ 'content-type': 'application/json; charset=utf-8', origin: ops.base, 'sec-fetch-site': 'same-origin' });
    expect(res.status).toBe(200);
    expect(await res.json()).toStrictEqual({ cleared: KEY });
    expect(await locked()).toBe(false);
  });

  it('unlocks for curl with Basic and JSON (no Origin, no Sec-Fetch-Site), and for a typed-in request (Sec-Fetch-Site none)', async () => {
    await lock();
    const res = await unlock({ 'content-type': 'application/json' });
    expect({ status: res.status, body: await res.json() }).toStrictEqual({ status: 200, body: { cleared: KEY } });
    await lock();
    const typed = await unlock({ 'content-type': 'application/json', 'sec-fetch-site': 'none' });
    expect(typed.status).toBe(200);
    expect(await locked()).toBe(false);
  });

  it('behind a TLS proxy: an https Origin matches when the proxy says X-Forwarded-Proto https', async () => {
    await lock();
    const https = ops.base.replace('http:', 'https:');
    const plain = await unlock({ 'content-type': 'application/json', origin: https });
    expect(plain.status).toBe(403);
    const proxied = await unlock({ 'content-type': 'application/json', origin: https, 'x-forwarded-proto': 'https' });
    expect(proxied.status).toBe(200);
    expect(await locked()).toBe(false);
  });
});
