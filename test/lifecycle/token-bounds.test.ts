import { aroundAll, describe, expect, it } from 'vitest';
import { tessera } from '../support/cli.ts';
import { keysMatching, outboxEvents, type Stack, startStack } from '../support/stack.ts';
import { call, claims, jwtLogin, ministryLogin } from './support.ts';

// Issue 11: the live tokens of a login family and the families of a user are bounded; past the
// bounds the oldest die like any revoked token (everywhere: Redis, this process's token memory,
// the other processes' through the revocation feed, the audit trail), and revoking every token of
// a user still reaches them all.

const BOUNDS = { TESSERA_MAX_TOKENS_PER_FAMILY: '4', TESSERA_MAX_SESSIONS_PER_USER: '2' };
/** No entry of the token memory expires during a test: only a revocation can take it out. */
const REMEMBER = { TESSERA_TOKEN_CACHE_MAX_AGE_MS: '60000' };

describe('bounded token index, seen from two ingress processes', () => {
  let a: Stack;
  /** A second ingress of the same deployment (same Redis, same prefix), with its own token memory. */
  let b: Stack;
  let auth: string;

  aroundAll(async (runSuite) => {
    await using first = await startStack({ ...BOUNDS, ...REMEMBER });
    a = first;
    await using second = await startStack({ ...BOUNDS, ...REMEMBER }, { seed: false, prefix: a.settings.redisPrefix });
    b = second;
    auth = `Basic ${Buffer.from(`svc:${await a.clients.add('svc')}`).toString('base64')}`;
    await runSuite();
  });

  const introspect = async (stack: Stack, token: string) => {
    const res = await stack.post('/oauth/introspect', new URLSearchParams({ token }), { authorization: auth });
    expect(res.status).toBe(200);
    return ((await res.json()) as { active: boolean }).active;
  };
  /** Whether `stack` stops answering `token` active within a second (the feed is a push, not a request). */
  const dies = async (stack: Stack, token: string) => {
    for (let i = 0; i < 100; i++) {
      if (!(await introspect(stack, token))) return true;
      await new Promise((r) => setTimeout(r, 10));
    }
    return false;
  };
  const revokedEvents = async (family: string) =>
    (await outboxEvents(a.redis, a.settings.redisPrefix)).filter((e) => e.type === 'token.revoked' && e.family === family);

  it('a SimpleJWT refresh token refreshed past the bound: the oldest access tokens die everywhere, the session lives on', async () => {
    const login = await jwtLogin(a);
    const refresh = async () => {
      const r = await call(a, '/api/token/refresh/', { refresh: login.refresh });
      expect(r.status).toBe(200);
      return r.body.access as string;
    };
    const first = await refresh();
    // both processes remember the two oldest access tokens
    for (const s of [a, b]) for (const t of [login.access, first]) expect(await introspect(s, t)).toBe(true);
    const later = [await refresh(), await refresh(), await refresh()];
    // login access, refresh, then four access tokens: the two oldest access tokens went
    for (const t of [login.access, first]) {
      expect(await introspect(a, t)).toBe(false);
      expect(await dies(b, t)).toBe(true);
      expect((await call(a, '/api/token/verify/', { token: t })).status).toBe(401);
    }
    for (const t of later) {
      expect(await introspect(b, t)).toBe(true);
      expect((await call(b, '/api/token/verify/', { token: t })).status).toBe(200);
    }
    // the refresh token was spared: the session goes on, and stays at the bound
    expect(await introspect(a, login.refresh)).toBe(true);
    const next = await refresh();
    expect(await introspect(b, next)).toBe(true);
    expect(await dies(b, later[0] as string)).toBe(true);
    const user = await a.users.get('sampleUser');
    // the user's index: one family (score end * 2^20 + alias), its 4 tokens (score the alias)
    const index = `${a.settings.redisPrefix}ti:{u${user?.id}}`;
    const [, score] = await a.redis.zrange(index, 2 ** 20, '+inf', 'BYSCORE', 'WITHSCORES');
    const alias = Number(score) % 2 ** 20;
    expect(await a.redis.zcount(index, alias, alias)).toBe(4);
    // one token.revoked event per eviction, with its reason
    const familyId = (await a.tokens.get(login.refresh))?.family as string;
    expect(await revokedEvents(familyId)).toStrictEqual(
      Array.from({ length: 3 }, () => expect.objectContaining({ userId: user?.id, reason: 'evicted', count: 1, outcome: 'revoked' })),
    );
  });

  it("a user's login past the bound: the session that ends first dies whole", async () => {
    const first = await ministryLogin(a);
    for (const s of [a, b]) expect(await introspect(s, first.access)).toBe(true);
    const familyId = (await a.tokens.get(first.access))?.family as string;
    // expiries are whole seconds: the next logins end a second later at least
    await new Promise((r) => setTimeout(r, 1050 - (Date.now() % 1000)));
    const second = await ministryLogin(b);
    const third = await ministryLogin(a);
    expect(await introspect(a, first.access)).toBe(false);
    expect(await dies(b, first.access)).toBe(true);
    // its refresh token is dead too
    expect((await call(b, '/refreshUserToken', { refresh_token: first.refresh })).body.code).not.toBe(0);
    for (const t of [second, third]) for (const v of [t.access, t.refresh]) expect(await introspect(b, v)).toBe(true);
    const user = await a.users.get('MOH-90008');
    expect(await revokedEvents(familyId)).toStrictEqual([
      expect.objectContaining({ userId: user?.id, family: familyId, reason: 'evicted', count: 2, outcome: 'revoked' }),
    ]);
  });
});

describe("a SimpleJWT session refreshed past its access tokens' lifetime", () => {
  let stack: Stack;
  aroundAll(async (runSuite) => {
    // access tokens live a second: each round of refreshes has expired before the next
    await using started = await startStack({ TESSERA_JWT_ACCESS_LIFETIME: '1' });
    stack = started;
    await runSuite();
  });

  it('its index holds its live tokens only, a listpack, however often it has refreshed', { timeout: 60_000 }, async () => {
    const login = await jwtLogin(stack);
    const user = await stack.users.get('sampleUser');
    const index = `${stack.settings.redisPrefix}ti:{u${user?.id}}`;
    const refresh = async () => {
      const r = await call(stack, '/api/token/refresh/', { refresh: login.refresh });
      expect(r.status).toBe(200);
      return r.body.access as string;
    };
    /** Waits until the access token has expired (its exp is whole seconds). */
    const outlive = async (access: string) => {
      const exp = (claims(access).exp as number) * 1000;
      await new Promise((r) => setTimeout(r, Math.max(0, exp + 50 - Date.now())));
    };
    // 9 rounds of 15 refreshes, 135 access tokens in all: more than a full family (128 tokens) and
    // more than a listpack holds (128 entries); each round's tokens have expired when the next starts
    let access = login.access;
    for (let round = 0; round < 9; round++) {
      await outlive(access);
      for (let i = 0; i < 15; i++) access = await refresh();
      // the counter, the family, its refresh token and this round's access tokens
      expect(await stack.redis.zcard(index)).toBeLessThanOrEqual(18);
      expect(await stack.redis.object('ENCODING', index)).toBe('listpack');
    }
    await outlive(access);
    const last = await refresh();
    // what is left: the counter, the family, its refresh token (live all along) and the newest access token
    expect(await stack.redis.zcard(index)).toBe(4);
    expect(await stack.redis.object('ENCODING', index)).toBe('listpack');
    expect((await call(stack, '/api/token/verify/', { token: last })).status).toBe(200);
    // none of that was a revocation
    const revoked = (await outboxEvents(stack.redis, stack.settings.redisPrefix)).filter((e) => e.type === 'token.revoked');
    expect(revoked).toStrictEqual([]);
  });
});

describe('revoking every token of a user with many sessions', () => {
  let stack: Stack;
  aroundAll(async (runSuite) => {
    await using started = await startStack({ TESSERA_MAX_SESSIONS_PER_USER: '1024', ...REMEMBER });
    stack = started;
    await runSuite();
  });

  it('tessera tokens revoke --user reaches every live token of 150 sessions', { timeout: 60_000 }, async () => {
    const auth = `Basic ${Buffer.from(`svc:${await stack.clients.add('svc')}`).toString('base64')}`;
    const introspect = async (token: string) => {
      const res = await stack.post('/oauth/introspect', new URLSearchParams({ token }), { authorization: auth });
      return ((await res.json()) as { active: boolean }).active;
    };
    const sessions: { access: string; refresh: string }[] = [];
    for (let i = 0; i < 150; i++) sessions.push(await ministryLogin(stack));
    // the token memory holds some of them: a revocation must reach it too
    for (const s of sessions.slice(0, 20)) expect(await introspect(s.access)).toBe(true);
    const run = await tessera(['tokens', 'revoke', '--user', 'MOH-90008'], stack.settings.redisPrefix);
    expect(run.stdout).toBe('revoked 300 live tokens of MOH-90008\n');
    for (const s of sessions) for (const t of [s.access, s.refresh]) expect(await introspect(t)).toBe(false);
    expect(await keysMatching(stack.redis, `${stack.settings.redisPrefix}t:*`)).toStrictEqual([]);
  });
});
