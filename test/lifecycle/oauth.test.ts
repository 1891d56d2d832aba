import { spawnSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { aroundAll, describe, expect, inject, it } from 'vitest';
import { type Stack, startStack } from '../support/stack.ts';
import { call, claims, jwtLogin, ministryLogin, pebLogin, slidingLogin } from './support.ts';

const ROOT = new URL('../../', import.meta.url).pathname;

function basic(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}

async function introspect(stack: Stack, token: string, auth: string, extra: Record<string, string> = {}) {
  const res = await stack.post('/oauth/introspect', new URLSearchParams({ token, ...extra }), { authorization: auth });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}

async function revoke(stack: Stack, token: string, auth: string, hint?: string) {
  const params = new URLSearchParams({ token });
  if (hint !== undefined) params.set('token_type_hint', hint);
  const res = await stack.post('/oauth/revoke', params, { authorization: auth });
  return { status: res.status, text: await res.text() };
}

describe('RFC 7662 introspection and RFC 7009 revocation', () => {
  let stack: Stack;
  let auth: string;
  aroundAll(async (runSuite) => {
    await using started = await startStack();
    stack = started;
    auth = basic('orders-service', await stack.clients.add('orders-service'));
    await runSuite();
  });

  it('answers every live token kind with its claims and no-store', async () => {
    const moh = await ministryLogin(stack);
    const jwt = await jwtLogin(stack);
    const peb = await pebLogin(stack);
    const moh1 = await stack.users.get('MOH-90008');
    const sample = await stack.users.get('sampleUser');
    const someone = await stack.users.get('someone');
    const cases: [string, Record<string, unknown>][] = [
      [moh.access, { client_id: 'moh', username: 'MOH-90008', token_type: 'access_token', sub: String(moh1?.id) }],
      [moh.refresh, { client_id: 'moh', username: 'MOH-90008', token_type: 'refresh_token', sub: String(moh1?.id) }],
      [
        jwt.access,
        {
          client_id: 'simplejwt',
          username: 'sampleUser',
          token_type: 'access_token',
          sub: String(sample?.id),
          jti: claims(jwt.access).jti,
        },
      ],
      [
        jwt.refresh,
        {
          client_id: 'simplejwt',
          username: 'sampleUser',
          token_type: 'refresh_token',
          sub: String(sample?.id),
          jti: claims(jwt.refresh).jti,
        },
      ],
      [peb, { client_id: 'peb', username: 'someone', token_type: 'access_token', sub: String(someone?.id) }],
    ];
    for (const [token, expected] of cases) {
      const r = await introspect(stack, token, auth);
      expect(r.status).toBe(200);
      expect(r.headers.get('cache-control')).toBe('no-store');
      expect(r.body).toMatchObject({ active: true, scope: 'read write', ...expected });
      const keys = ['active', 'scope', 'client_id', 'username', 'token_type', 'exp', 'iat', 'sub'];
      expect(Object.keys(r.body)).toStrictEqual(expected.jti === undefined ? keys : [...keys, 'jti']);
      expect(r.body.exp as number).toBeGreaterThan(Date.now() / 1000);
    }
  });

  it('answers exactly {"active":false} for anything that is not a live token', async () => {
    const moh = await ministryLogin(stack);
    await call(stack, '/refreshUserToken', { refresh_token: moh.refresh }); // now used
    const tampered = (await jwtLogin(stack)).access.slice(0, -3);
    for (const token of ['garbage', crypto.randomUUID(), 'a'.repeat(128), moh.refresh, `${tampered}abc`, '']) {
      if (token === '') continue;
      const res = await stack.post('/oauth/introspect', new URLSearchParams({ token }), { authorization: auth });
      expect(res.status).toBe(200);
      expect(await res.text()).toBe('{"active":false}');
    }
  });

  it('refuses callers that do not authenticate with 401 and a Basic challenge', async () => {
    const { access } = await ministryLogin(stack);
    for (const bad of [basic('orders-service', 'wrong'), basic('nobody', 'x'.repeat(40)), 'Basic !!!', 'Bearer abc', '']) {
      const r = await introspect(stack, access, bad);
      expect(r.status).toBe(401);
      expect(r.headers.get('www-authenticate')).toBe('Basic realm="tessera"');
      expect(r.body.error).toBe('invalid_client');
    }
    // client_secret_post works too
    const secret = await stack.clients.add('billing');
    const res = await stack.post('/oauth/introspect', new URLSearchParams({ token: access, client_id: 'billing', client_secret: secret }));
    expect(((await res.json()) as { active: boolean }).active).toBe(true);
  });

  it('answers a missing token with 400 invalid_request and GET with 405', async () => {
    const r = await stack.post('/oauth/introspect', new URLSearchParams({}), { authorization: auth });
    expect(r.status).toBe(400);
    expect(((await r.json()) as { error: string }).error).toBe('invalid_request');
    const get = await fetch(`${stack.base}/oauth/introspect`);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
  });

  it('revokes: 200 for valid and invalid tokens alike; an access token alone, a refresh token with its family', async () => {
    const a = await ministryLogin(stack);
    expect(await revoke(stack, a.access, auth)).toStrictEqual({ status: 200, text: '' });
    expect((await introspect(stack, a.access, auth)).body).toStrictEqual({ active: false });
    expect((await introspect(stack, a.refresh, auth)).body.active).toBe(true);
    const b = await ministryLogin(stack);
    // a wrong hint is not trusted
    expect((await revoke(stack, b.refresh, auth, 'access_token')).status).toBe(200);
    expect((await introspect(stack, b.refresh, auth)).body).toStrictEqual({ active: false });
    expect((await introspect(stack, b.access, auth)).body).toStrictEqual({ active: false });
    expect((await call(stack, '/refreshUserToken', { refresh_token: b.refresh })).body.code).toBe(9);
    expect(await revoke(stack, 'not-a-token', auth)).toStrictEqual({ status: 200, text: '' });
    expect((await revoke(stack, a.refresh, basic('orders-service', 'wrong'))).status).toBe(401);
  });

  it('a SimpleJWT sliding token introspects as an access token; revoking one revokes every token slid from its login', async () => {
    const first = await slidingLogin(stack);
    const sample = await stack.users.get('sampleUser');
    const r = await introspect(stack, first, auth);
    expect(r.body).toStrictEqual({
      active: true,
      scope: 'read write',
      client_id: 'simplejwt',
      username: 'sampleUser',
      token_type: 'access_token',
      exp: claims(first).exp,
      iat: claims(first).iat,
      sub: String(sample?.id),
      jti: claims(first).jti,
    });
    await sleep(1000 - (Date.now() % 1000) + 20);
    const second = (await call(stack, '/api/token/sliding/refresh/', { token: first })).body.token as string;
    expect(second).not.toBe(first);
    const other = await slidingLogin(stack);
    expect((await revoke(stack, second, auth)).status).toBe(200);
    for (const token of [first, second]) {
      expect((await introspect(stack, token, auth)).body).toStrictEqual({ active: false });
      expect((await call(stack, '/api/token/sliding/refresh/', { token })).body).toStrictEqual({
        detail: 'Token is invalid or expired',
        code: 'token_not_valid',
      });
    }
    // another login's token lives on
    expect((await introspect(stack, other, auth)).body.active).toBe(true);
  });

  it('a revoked SimpleJWT refresh token is blacklisted and its access token inactive', async () => {
    const pair = await jwtLogin(stack);
    expect((await revoke(stack, pair.refresh, auth)).status).toBe(200);
    expect((await call(stack, '/api/token/refresh/', { refresh: pair.refresh })).body).toStrictEqual({
      detail: 'Token is blacklisted',
      code: 'token_not_valid',
    });
    expect((await introspect(stack, pair.access, auth)).body).toStrictEqual({ active: false });
  });

  it('tessera tokens revoke --user, users passwd and users disable revoke every token of the user', async () => {
    const env = {
      ...process.env,
      REDIS_URL: inject('redisUrl'),
      TESSERA_REDIS_PREFIX: stack.settings.redisPrefix,
      TESSERA_ARGON2_MEMORY_KIB: '1024',
      TESSERA_ARGON2_TIME_COST: '1',
    };
    const cli = (args: string[], input = '') =>
      spawnSync(process.execPath, [`${ROOT}packages/cli/bin/tessera.js`, ...args], { env, input, encoding: 'utf8' });
    const t1 = [await ministryLogin(stack), await ministryLogin(stack)];
    const revoked = cli(['tokens', 'revoke', '--user', 'MOH-90008']);
    expect(revoked.status).toBe(0);
    expect(revoked.stdout).toMatch(/^revoked ([4-9]|\d\d+) live tokens of MOH-90008\n$/);
    for (const t of t1)
      for (const v of [t.access, t.refresh]) expect((await introspect(stack, v, auth)).body).toStrictEqual({ active: false });

    const t2 = await jwtLogin(stack);
    expect(cli(['users', 'passwd', 'sampleUser', '--password-stdin'], 'N3w-password-123\n').stdout).toMatch(
      /^changed password of sampleUser; revoked \d+ live tokens\n$/,
    );
    expect((await introspect(stack, t2.access, auth)).body).toStrictEqual({ active: false });
    expect((await call(stack, '/api/token/', { username: 'sampleUser', password: 'N3w-password-123' })).status).toBe(200);

    const t3 = await pebLogin(stack);
    expect(cli(['users', 'disable', 'someone']).stdout).toMatch(/^disabled user someone; revoked \d+ live tokens\n$/);
    expect((await introspect(stack, t3, auth)).body).toStrictEqual({ active: false });
    expect(cli(['tokens', 'revoke', '--user', 'ghost']).stderr).toBe('tessera: no user ghost\n');
  });

  it('tessera clients add, list and remove', async () => {
    const env = { ...process.env, REDIS_URL: inject('redisUrl'), TESSERA_REDIS_PREFIX: stack.settings.redisPrefix };
    const cli = (args: string[], input = '') =>
      spawnSync(process.execPath, [`${ROOT}packages/cli/bin/tessera.js`, ...args], { env, input, encoding: 'utf8' });
    const added = cli(['clients', 'add', 'reports']);
    expect(added.status).toBe(0);
    const secret = /secret: (\S+)/.exec(added.stdout)?.[1] as string;
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(cli(['clients', 'list']).stdout).toMatch(/^billing\t.+\norders-service\t.+\nreports\t.+\n$/);
    const { access } = await ministryLogin(stack);
    expect((await introspect(stack, access, basic('reports', secret))).body.active).toBe(true);
    expect(cli(['clients', 'add', 'reports']).stderr).toBe('tessera: client reports already exists\n');
    expect(cli(['clients', 'add', 'short', '--secret-stdin'], 'tooshort\n').stderr).toBe(
      'tessera: a client secret must be at least 32 characters\n',
    );
    expect(cli(['clients', 'remove', 'reports']).stdout).toBe('removed client reports\n');
    expect(cli(['clients', 'remove', 'reports']).stderr).toBe('tessera: no client reports\n');
  });
});

describe('expiry', () => {
  let stack: Stack;
  let auth: string;
  aroundAll(async (runSuite) => {
    await using started = await startStack({ TESSERA_MINISTRY_ACCESS_LIFETIME: '2' });
    stack = started;
    auth = basic('svc', await stack.clients.add('svc'));
    await runSuite();
  });

  it('a token is active until the second its TTL ends, and inactive from then on', async () => {
    const { access } = await ministryLogin(stack);
    const first = await introspect(stack, access, auth);
    const exp = (first.body.exp as number) * 1000;
    await sleep(Math.max(0, exp - Date.now() - 300));
    expect((await introspect(stack, access, auth)).body.active).toBe(true);
    await sleep(Math.max(0, exp - Date.now() + 20));
    expect((await introspect(stack, access, auth)).body).toStrictEqual({ active: false });
  });
});
