import { setTimeout as sleep } from 'node:timers/promises';
import { aroundAll, describe, expect, it } from 'vitest';
import { DEMO } from '../support/demo.ts';
import { type Stack, startStack } from '../support/stack.ts';
import { call, claims, jwtLogin, slidingLogin } from './support.ts';

const INVALID = { detail: 'Token is invalid or expired', code: 'token_not_valid' };
const WRONG_TYPE = { detail: 'Token has wrong type', code: 'token_not_valid' };
const BLACKLISTED = { detail: 'Token is blacklisted', code: 'token_not_valid' };

describe('SimpleJWT refresh, verify and blacklist (default settings)', () => {
  let stack: Stack;
  aroundAll(async (runSuite) => {
    await using started = await startStack();
    stack = started;
    await runSuite();
  });

  for (const slash of ['', '/']) {
    it(`refresh${slash} returns only a new access token whose iat is the refresh token's`, async () => {
      const pair = await jwtLogin(stack);
      const r = await call(stack, `/api/token/refresh${slash}`, { refresh: pair.refresh });
      expect(r.status).toBe(200);
      expect(Object.keys(r.body)).toStrictEqual(['access']);
      const access = r.body.access as string;
      const c = claims(access);
      const rc = claims(pair.refresh);
      expect(Object.keys(c)).toStrictEqual(['token_type', 'exp', 'iat', 'jti', 'user_id']);
      expect(c.token_type).toBe('access');
      expect(c.iat).toBe(rc.iat);
      expect(c.user_id).toBe(rc.user_id);
      expect(c.jti).toMatch(/^[0-9a-f]{32}$/);
      expect(Math.abs((c.exp as number) - (Math.floor(Date.now() / 1000) + 300))).toBeLessThanOrEqual(2);
      // stored under its hash with the access lifetime
      const ttl = await stack.redis.pttl(stack.tokens.keyOf(access));
      expect(Math.abs(ttl - 300_000)).toBeLessThanOrEqual(2000);
      // the refresh token stays usable (ROTATE_REFRESH_TOKENS off)
      expect((await call(stack, `/api/token/refresh${slash}`, { refresh: pair.refresh })).status).toBe(200);
    });
  }

  it('verify answers {} for live tokens of both types and 401 for anything else', async () => {
    const pair = await jwtLogin(stack);
    for (const token of [pair.access, pair.refresh]) {
      const r = await call(stack, '/api/token/verify/', { token });
      expect(r.status).toBe(200);
      expect(r.body).toStrictEqual({});
    }
    const tampered = `${pair.access.slice(0, -2)}xx`;
    for (const token of ['garbage', tampered, `${pair.access}.x`]) {
      const r = await call(stack, '/api/token/verify', { token });
      expect(r.status).toBe(401);
      expect(r.headers.get('www-authenticate')).toBe('Bearer realm="api"');
      expect(r.body).toStrictEqual(INVALID);
    }
  });

  it('refresh refuses an access token as the wrong type, and field errors as DRF does', async () => {
    const pair = await jwtLogin(stack);
    const wrong = await call(stack, '/api/token/refresh/', { refresh: pair.access });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toStrictEqual(WRONG_TYPE);
    const missing = await call(stack, '/api/token/refresh/', {});
    expect(missing.status).toBe(400);
    expect(missing.body).toStrictEqual({ refresh: ['This field is required.'] });
    const blank = await call(stack, '/api/token/verify/', { token: '' });
    expect(blank.body).toStrictEqual({ token: ['This field may not be blank.'] });
  });

  it('blacklist: {} once, then the token is refused everywhere with the library messages', async () => {
    const pair = await jwtLogin(stack);
    const b = await call(stack, '/api/token/blacklist/', { refresh: pair.refresh });
    expect(b.status).toBe(200);
    expect(b.body).toStrictEqual({});
    const again = await call(stack, '/api/token/blacklist/', { refresh: pair.refresh });
    expect(again.status).toBe(401);
    expect(again.body).toStrictEqual(BLACKLISTED);
    const refresh = await call(stack, '/api/token/refresh/', { refresh: pair.refresh });
    expect(refresh.status).toBe(401);
    expect(refresh.body).toStrictEqual(BLACKLISTED);
    // 5.2's verify consults the blacklist only with BLACKLIST_AFTER_ROTATION (off by default)
    const verify = await call(stack, '/api/token/verify/', { token: pair.refresh });
    expect(verify.status).toBe(200);
    expect(verify.body).toStrictEqual({});
    const accessToBlacklist = await call(stack, '/api/token/blacklist/', { refresh: pair.access });
    expect(accessToBlacklist.body).toStrictEqual(WRONG_TYPE);
  });

  it('a token signed with another key or expired is invalid', async () => {
    const { SignJWT } = await import('jose');
    const now = Math.floor(Date.now() / 1000);
    const forged = await new SignJWT({ token_type: 'refresh', exp: now + 100, iat: now, jti: 'a'.repeat(32), user_id: 1 })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .sign(new TextEncoder().encode('another-key-another-key-another-key'));
    expect((await call(stack, '/api/token/refresh/', { refresh: forged })).body).toStrictEqual(INVALID);
    const key = new TextEncoder().encode(stack.settings.jwtKey.signingKey);
    const expired = await new SignJWT({ token_type: 'refresh', exp: now - 1, iat: now - 100, jti: 'b'.repeat(32), user_id: 1 })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .sign(key);
    expect((await call(stack, '/api/token/refresh/', { refresh: expired })).body).toStrictEqual(INVALID);
    // correctly signed and unexpired but never issued by Tessera (or revoked): not vouched for
    const unknown = await new SignJWT({ token_type: 'refresh', exp: now + 100, iat: now, jti: 'c'.repeat(32), user_id: 1 })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .sign(key);
    expect((await call(stack, '/api/token/refresh/', { refresh: unknown })).body).toStrictEqual(INVALID);
  });

  it('answers OPTIONS with each view name and GET with 405', async () => {
    const res = await fetch(`${stack.base}/api/token/refresh/`, { method: 'OPTIONS' });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { name: string }).name).toBe('Token Refresh');
    const get = await fetch(`${stack.base}/api/token/verify/`);
    expect(get.status).toBe(405);
    expect(await get.json()).toStrictEqual({ detail: 'Method "GET" not allowed.' });
  });
});

describe('SimpleJWT sliding tokens: stored like every token, in their login family', () => {
  let stack: Stack;
  aroundAll(async (runSuite) => {
    await using started = await startStack();
    stack = started;
    await runSuite();
  });

  /** Waits for the next second, so that a token slid now differs from one signed before. */
  const nextSecond = () => sleep(1000 - (Date.now() % 1000) + 20);

  it('a sliding token is stored under its hash for its lifetime; each slide joins the login family and leaves the old token valid', async () => {
    const first = await slidingLogin(stack);
    expect(Object.keys(claims(first))).toStrictEqual(['token_type', 'exp', 'iat', 'jti', 'refresh_exp', 'user_id']);
    const stored = await stack.tokens.get(first);
    expect(stored).toMatchObject({ kind: 'sliding', format: 'jwt', dialect: 'simplejwt', username: 'sampleUser', jti: claims(first).jti });
    expect(Math.abs((await stack.redis.pttl(stack.tokens.keyOf(first))) - 300_000)).toBeLessThanOrEqual(2000);
    await nextSecond();
    const slid = await call(stack, '/api/token/sliding/refresh/', { token: first });
    expect(slid.status).toBe(200);
    const second = slid.body.token as string;
    expect(second).not.toBe(first);
    expect(await stack.tokens.get(second)).toMatchObject({ kind: 'sliding', family: stored?.family, jti: claims(first).jti });
    expect(Math.abs((await stack.redis.pttl(stack.tokens.keyOf(second))) - 300_000)).toBeLessThanOrEqual(2000);
    // both slide and verify, as SimpleJWT leaves them
    for (const token of [first, second]) {
      expect((await call(stack, '/api/token/sliding/refresh', { token })).status).toBe(200);
      expect((await call(stack, '/api/token/verify', { token })).body).toStrictEqual({});
    }
  });

  it('a token Tessera no longer holds does not slide, whatever its claims say', async () => {
    const token = await slidingLogin(stack);
    await stack.redis.del(stack.tokens.keyOf(token));
    expect((await call(stack, '/api/token/sliding/refresh/', { token })).body).toStrictEqual(INVALID);
    expect((await call(stack, '/api/token/verify/', { token })).body).toStrictEqual(INVALID);
  });

  it('the blacklist view refuses a sliding token as the wrong type and blacklists nothing', async () => {
    const token = await slidingLogin(stack);
    expect((await call(stack, '/api/token/blacklist/', { refresh: token })).body).toStrictEqual(WRONG_TYPE);
    expect(await stack.redis.exists(`${stack.settings.redisPrefix}jb:{${claims(token).jti}}`)).toBe(0);
    expect((await call(stack, '/api/token/sliding/refresh/', { token })).status).toBe(200);
  });
});

describe('SimpleJWT UPDATE_LAST_LOGIN', () => {
  const lastLogin = async (stack: Stack, username: string) => (await stack.users.get(username))?.lastLogin;

  it('off (the default): a SimpleJWT login records no last login', async () => {
    await using stack = await startStack();
    await jwtLogin(stack);
    await slidingLogin(stack);
    expect(await lastLogin(stack, DEMO.simplejwt.username)).toBeUndefined();
  });

  it("on: each SimpleJWT login, pair or sliding, records the user's last login; a failed one and other dialects' do not", async () => {
    await using stack = await startStack({ TESSERA_JWT_UPDATE_LAST_LOGIN: '1' });
    const { username } = DEMO.simplejwt;
    expect(await lastLogin(stack, username)).toBeUndefined();
    const before = Date.now();
    await jwtLogin(stack);
    const first = await lastLogin(stack, username);
    expect(first).toBeGreaterThanOrEqual(before);
    expect(first).toBeLessThanOrEqual(Date.now());
    await sleep(5);
    await slidingLogin(stack);
    const second = (await lastLogin(stack, username)) as number;
    expect(second).toBeGreaterThan(first as number);
    expect((await call(stack, '/api/token/', { username, password: 'wrong-password' })).status).toBe(401);
    expect(await lastLogin(stack, username)).toBe(second);
    expect((await call(stack, '/getUserToken', DEMO.ministry)).body.code).toBe(0);
    expect(await lastLogin(stack, DEMO.ministry.username)).toBeUndefined();
  });
});

describe('SimpleJWT with ROTATE_REFRESH_TOKENS and BLACKLIST_AFTER_ROTATION', () => {
  let stack: Stack;
  aroundAll(async (runSuite) => {
    await using started = await startStack({ TESSERA_JWT_ROTATE_REFRESH_TOKENS: '1', TESSERA_JWT_BLACKLIST_AFTER_ROTATION: '1' });
    stack = started;
    await runSuite();
  });

  it('refresh returns access then a new refresh, and the old refresh is blacklisted', async () => {
    const pair = await jwtLogin(stack);
    const r = await call(stack, '/api/token/refresh/', { refresh: pair.refresh });
    expect(r.status).toBe(200);
    expect(Object.keys(r.body)).toStrictEqual(['access', 'refresh']);
    const next = r.body.refresh as string;
    expect(claims(next).token_type).toBe('refresh');
    expect(claims(next).jti).not.toBe(claims(pair.refresh).jti);
    expect((await call(stack, '/api/token/refresh/', { refresh: pair.refresh })).body).toStrictEqual(BLACKLISTED);
    expect((await call(stack, '/api/token/refresh/', { refresh: next })).status).toBe(200);
    const verify = await call(stack, '/api/token/verify/', { token: pair.refresh });
    expect(verify.status).toBe(400);
    expect(verify.body).toStrictEqual({ non_field_errors: ['Token is blacklisted'] });
  });
});
