import { createServer as createHttpServer, type Server } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  createIntrospector,
  hyperExpressBearer,
  IntrospectionError,
  type Introspector,
  nodeHttpBearer,
  type RevocationSource,
  tokenHash,
} from '@tessera/client';
import { redisRevocations } from '@tessera/client/redis';
import { tokenHash as storeTokenHash } from '@tessera/store';
import HyperExpress from 'hyper-express';
import { afterAll, afterEach, aroundAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ministryLogin } from '../lifecycle/support.ts';
import { type Stack, startStack } from '../support/stack.ts';

async function revokeOverHttp(stack: Stack, token: string, auth: { id: string; secret: string }): Promise<void> {
  const basic = `Basic ${Buffer.from(`${auth.id}:${auth.secret}`).toString('base64')}`;
  const res = await stack.post('/oauth/revoke', new URLSearchParams({ token }), { authorization: basic });
  expect(res.status).toBe(200);
}

/** Polls until the introspector reports the token inactive; returns how long that took. */
async function untilInactive(introspector: Introspector, token: string, limitMs: number): Promise<number> {
  const started = performance.now();
  while (performance.now() - started < limitMs) {
    if (!(await introspector.introspect(token)).active) return performance.now() - started;
    await sleep(2);
  }
  return Number.POSITIVE_INFINITY;
}

describe('@tessera/client introspector against a running Tessera', () => {
  let stack: Stack;
  let client: { id: string; secret: string };
  let revocations: RevocationSource;
  const open: Introspector[] = [];
  const make = (extra: Partial<Parameters<typeof createIntrospector>[0]> = {}) => {
    const i = createIntrospector({ baseUrl: stack.base, clientId: client.id, clientSecret: client.secret, ...extra });
    open.push(i);
    return i;
  };

  aroundAll(async (runSuite) => {
    await using started = await startStack();
    stack = started;
    client = { id: 'sdk-tests', secret: await stack.clients.add('sdk-tests') };
    revocations = await redisRevocations({ url: inject('redisUrl'), prefix: stack.settings.redisPrefix });
    try {
      await runSuite();
    } finally {
      await revocations.close();
    }
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((i) => i.close()));
  });

  it('caches answers while revocations are pushed, and never past exp', async () => {
    const introspector = make({ revocations });
    const { access } = await ministryLogin(stack);
    const first = await introspector.introspect(access);
    expect(first).toMatchObject({ active: true, username: 'MOH-90008', client_id: 'moh', token_type: 'access_token' });
    for (let i = 0; i < 5; i++) expect(await introspector.introspect(access)).toStrictEqual(first);
    expect(introspector.stats).toStrictEqual({ hits: 5, calls: 1 });
    expect(await introspector.introspect('garbage')).toStrictEqual({ active: false });
    expect(await introspector.introspect('garbage')).toStrictEqual({ active: false });
    expect(introspector.stats.calls).toBe(2);
  });

  it('stops reporting a revoked token as active within 250 ms of the revocation (pushed, not polled)', async () => {
    const introspector = make({ revocations });
    const { access, refresh } = await ministryLogin(stack);
    expect((await introspector.introspect(access)).active).toBe(true);
    expect((await introspector.introspect(refresh)).active).toBe(true);
    await revokeOverHttp(stack, refresh, client); // the refresh token takes its family, the access token too
    const delay = await untilInactive(introspector, access, 1000);
    expect(delay).toBeLessThanOrEqual(250);
    expect((await introspector.introspect(refresh)).active).toBe(false);
  });

  it('sees a user-wide revocation (tessera tokens revoke --user) at once too', async () => {
    const introspector = make({ revocations });
    const a = await ministryLogin(stack);
    expect((await introspector.introspect(a.access)).active).toBe(true);
    const user = await stack.users.get('MOH-90008');
    await stack.tokens.revokeUser(user?.id as number, 'admin');
    expect(await untilInactive(introspector, a.access, 1000)).toBeLessThanOrEqual(250);
  });

  it('without pushed revocations, asks Tessera every time (maxStaleMs 0) or reuses at most maxStaleMs', async () => {
    const fresh = make();
    const { access } = await ministryLogin(stack);
    for (let i = 0; i < 3; i++) expect((await fresh.introspect(access)).active).toBe(true);
    expect(fresh.stats).toStrictEqual({ hits: 0, calls: 3 });
    const stale = make({ maxStaleMs: 300 });
    await stale.introspect(access);
    await stale.introspect(access);
    expect(stale.stats).toStrictEqual({ hits: 1, calls: 1 });
    await stack.tokens.revoke(access, 'admin');
    // still served from the cache inside the stated bound, then asked again
    const took = await untilInactive(stale, access, 1000);
    expect(took).toBeLessThanOrEqual(350);
  });

  it('stops trusting its cache when the revocation source disconnects', async () => {
    const source = await redisRevocations({ url: inject('redisUrl'), prefix: stack.settings.redisPrefix });
    const introspector = make({ revocations: source });
    const { access } = await ministryLogin(stack);
    await introspector.introspect(access);
    await introspector.introspect(access);
    expect(introspector.stats).toStrictEqual({ hits: 1, calls: 1 });
    await source.close();
    expect(source.connected).toBe(false);
    await introspector.introspect(access);
    expect(introspector.stats).toStrictEqual({ hits: 1, calls: 2 });
  });

  it('throws IntrospectionError when Tessera refuses the client', async () => {
    const introspector = createIntrospector({ baseUrl: stack.base, clientId: client.id, clientSecret: 'wrong' });
    await expect(introspector.introspect('x')).rejects.toThrow(IntrospectionError);
    await expect(introspector.introspect('x')).rejects.toMatchObject({ status: 401 });
  });

  describe('bearer middleware', () => {
    let nodeServer: Server;
    let nodeBase: string;
    let hx: HyperExpress.Server;
    let hxBase: string;

    beforeAll(async () => {
      const introspector = createIntrospector({ baseUrl: stack.base, clientId: client.id, clientSecret: client.secret, revocations });
      nodeServer = createHttpServer(
        nodeHttpBearer(introspector, (_req, res, token) => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ hello: token.username }));
        }),
      );
      await new Promise<void>((r) => nodeServer.listen(0, '127.0.0.1', r));
      nodeBase = `http://127.0.0.1:${(nodeServer.address() as { port: number }).port}`;
      hx = new HyperExpress.Server();
      hx.get('/me', hyperExpressBearer(introspector, { requiredScope: 'read' }), (req, res) => {
        res.json({ hello: (req.locals.token as { username: string }).username });
      });
      hx.get('/admin', hyperExpressBearer(introspector, { requiredScope: 'admin' }), (_req, res) => {
        res.json({ ok: true });
      });
      await hx.listen(0, '127.0.0.1');
      hxBase = `http://127.0.0.1:${hx.port}`;
    });
    afterAll(async () => {
      nodeServer.close();
      hx.close();
    });

    it('node:http: 200 with a live access token, 401 with a challenge otherwise', async () => {
      const { access, refresh } = await ministryLogin(stack);
      const ok = await fetch(nodeBase, { headers: { authorization: `Bearer ${access}` } });
      expect(ok.status).toBe(200);
      expect(await ok.json()).toStrictEqual({ hello: 'MOH-90008' });
      const none = await fetch(nodeBase);
      expect(none.status).toBe(401);
      expect(none.headers.get('www-authenticate')).toBe('Bearer realm="api"');
      for (const bad of [`Bearer ${crypto.randomUUID()}`, `Bearer ${refresh}`]) {
        const r = await fetch(nodeBase, { headers: { authorization: bad } });
        expect(r.status).toBe(401);
        expect(r.headers.get('www-authenticate')).toBe(
          'Bearer realm="api", error="invalid_token", error_description="The token is invalid, expired or revoked."',
        );
      }
    });

    it('hyper-express: the token in req.locals, 403 insufficient_scope for a missing scope', async () => {
      const { access } = await ministryLogin(stack);
      const ok = await fetch(`${hxBase}/me`, { headers: { authorization: `Bearer ${access}` } });
      expect(await ok.json()).toStrictEqual({ hello: 'MOH-90008' });
      const admin = await fetch(`${hxBase}/admin`, { headers: { authorization: `Bearer ${access}` } });
      expect(admin.status).toBe(403);
      expect(((await admin.json()) as { error: string }).error).toBe('insufficient_scope');
      await stack.tokens.revoke(access, 'admin');
      await sleep(50);
      expect((await fetch(`${hxBase}/me`, { headers: { authorization: `Bearer ${access}` } })).status).toBe(401);
    });
  });
});

describe('@tessera/client tokenHash', () => {
  it('names a token exactly as the store does (revocation messages carry these names)', async () => {
    const samples = [
      '',
      'abc',
      crypto.randomUUID(),
      'f'.repeat(128),
      'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl',
      'ünïcødé ✓',
      ...Array.from({ length: 50 }, () => Math.random().toString(36).repeat(3)),
    ];
    for (const t of samples) expect(await tokenHash(t)).toBe(storeTokenHash(t));
    expect(await tokenHash('abc')).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });
});
