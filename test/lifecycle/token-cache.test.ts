import { setTimeout as sleep } from 'node:timers/promises';
import { loadSettings } from '@tessera/config';
import { connectRedis, isClusterUrl, keyLayout, type TesseraRedis, TokenRepository } from '@tessera/store';
import type { Redis } from 'ioredis';
import { aroundAll, describe, expect, inject, it } from 'vitest';
import { masterConnections, type Stack, serviceEnv, startStack, testKeys } from '../support/stack.ts';
import { call, jwtLogin, ministryLogin, pebLogin } from './support.ts';

// The ingress remembers live access tokens for introspection. These tests prove that it does (a
// token deleted behind its back is still served), and that every way a token dies reaches the
// memory before the next request: revocation by this process, by another process (the CLI's
// path), refresh-token reuse, PEB renewal, a disabled user, and a dropped revocation feed.

/**
 * The memory is off by default on a cluster (packages/config/src/spec.ts): its revocation push
 * crosses the cluster bus after PUBLISH has answered, so another process's revocation could be
 * served from memory for a moment (seen turned on: "the very next request" failed in round 17).
 * There the memory's own tests give way to the cluster's default below, asserted, not skipped.
 */
const ON_CLUSTER = isClusterUrl(inject('redisUrl'));

describe.skipIf(ON_CLUSTER)('introspection token memory', () => {
  let stack: Stack;
  let auth: string;
  /** Another process's view: its own connection and repository, as the CLI has. */
  let otherRedis: TesseraRedis;
  let other: TokenRepository;

  const introspect = async (token: string) => {
    const res = await stack.post('/oauth/introspect', new URLSearchParams({ token }), { authorization: auth });
    expect(res.status).toBe(200);
    return ((await res.json()) as { active: boolean }).active;
  };
  /** Deletes a token's key without telling anyone: only a remembered token stays active. */
  const deleteBehindItsBack = (token: string) => stack.redis.del(stack.tokens.keyOf(token));

  aroundAll(async (runSuite) => {
    await using started = await startStack();
    stack = started;
    auth = `Basic ${Buffer.from(`svc:${await stack.clients.add('svc')}`).toString('base64')}`;
    otherRedis = await connectRedis({ url: stack.settings.redisUrl });
    other = new TokenRepository(
      otherRedis,
      keyLayout(stack.settings.redisPrefix, stack.settings.accountShards),
      stack.settings.tokenLimits,
    );
    try {
      await runSuite();
    } finally {
      otherRedis.disconnect();
    }
  });

  it('is on by default, and serves a token it has seen without asking Redis', async () => {
    expect(stack.tokenCache?.cache.active).toBe(true);
    for (const token of [(await ministryLogin(stack)).access, (await jwtLogin(stack)).access, await pebLogin(stack)]) {
      expect(await introspect(token)).toBe(true);
      await deleteBehindItsBack(token);
      expect(await introspect(token)).toBe(true);
      // ... until the revocation push names it
      await other.revoke(token, 'admin');
      expect(await introspect(token)).toBe(false);
    }
  });

  it('never remembers refresh tokens: a used one is inactive at once', async () => {
    const moh = await ministryLogin(stack);
    expect(await introspect(moh.refresh)).toBe(true);
    expect((await call(stack, '/refreshUserToken', { refresh_token: moh.refresh })).body.code).toBe(0);
    expect(await introspect(moh.refresh)).toBe(false);
  });

  it('sees a revocation by another process on the very next request, every time', async () => {
    for (let i = 0; i < 30; i++) {
      const { access } = await ministryLogin(stack);
      expect(await introspect(access)).toBe(true);
      await other.revoke(access, 'admin');
      expect(await introspect(access), `round ${i}`).toBe(false);
    }
  });

  it('forgets the tokens of a family revoked for refresh-token reuse', async () => {
    const moh = await ministryLogin(stack);
    expect(await introspect(moh.access)).toBe(true);
    await call(stack, '/refreshUserToken', { refresh_token: moh.refresh });
    expect(await introspect(moh.access)).toBe(true);
    // reuse: the whole family dies, including the access token it remembers
    await call(stack, '/refreshUserToken', { refresh_token: moh.refresh });
    expect(await introspect(moh.access)).toBe(false);
  });

  it('forgets a token revoked through /oauth/revoke and a PEB token renewed away', async () => {
    const { access } = await ministryLogin(stack);
    expect(await introspect(access)).toBe(true);
    const res = await stack.post('/oauth/revoke', new URLSearchParams({ token: access }), { authorization: auth });
    expect(res.status).toBe(200);
    expect(await introspect(access)).toBe(false);

    const peb = await pebLogin(stack);
    expect(await introspect(peb)).toBe(true);
    const renewed = await call(stack, '/v1/login/renew', { token: peb });
    expect(renewed.body.status).toBe(200);
    expect(await introspect(peb)).toBe(false);
    expect(await introspect(renewed.body.token as string)).toBe(true);
  });

  it("forgets a disabled user's tokens (revoked by another process)", async () => {
    const jwt = await jwtLogin(stack);
    expect(await introspect(jwt.access)).toBe(true);
    const user = await stack.users.get('sampleUser');
    await other.revokeUser(user?.id as number, 'user_disabled');
    expect(await introspect(jwt.access)).toBe(false);
  });

  it('answers the PEB check and SimpleJWT verify of a token it has seen from memory, owner included, until the push names it', async () => {
    const check = async (token: string) => (await call(stack, '/v1/login/check', { token })).body;
    const peb = await pebLogin(stack);
    const first = await check(peb);
    expect(first.valid).toBe(true);
    // neither the token nor its owner is read from Redis again
    const owner = await stack.users.findById(first.user_id as number);
    await deleteBehindItsBack(peb);
    const userKey = testKeys(stack.settings.redisPrefix).user(owner?.username ?? '');
    const saved = await stack.redis.hgetall(userKey);
    await stack.redis.del(userKey);
    try {
      expect(await check(peb)).toStrictEqual(first);
    } finally {
      await stack.redis.hset(userKey, saved);
    }
    await other.revoke(peb, 'admin');
    expect((await check(peb)).error_id).toBe(9);
    const jwt = (await jwtLogin(stack)).access;
    expect((await call(stack, '/api/token/verify/', { token: jwt })).status).toBe(200);
    await deleteBehindItsBack(jwt);
    expect((await call(stack, '/api/token/verify/', { token: jwt })).status).toBe(200);
    await other.revoke(jwt, 'admin');
    expect((await call(stack, '/api/token/verify/', { token: jwt })).status).toBe(401);
  });

  it("answers no PEB check of a disabled user's token from memory", async () => {
    const peb = await pebLogin(stack);
    const first = (await call(stack, '/v1/login/check', { token: peb })).body;
    expect(first.valid).toBe(true);
    await stack.users.setDisabled(first.username as string, true);
    try {
      await other.revokeUser(first.user_id as number, 'user_disabled');
      expect((await call(stack, '/v1/login/check', { token: peb })).body.error_id).toBe(9);
    } finally {
      await stack.users.setDisabled(first.username as string, false);
    }
  });

  it('serves nothing from memory while its revocation feed is down, and again once it is back', async () => {
    const feed = stack.tokenCache?.feed;
    const { access } = await ministryLogin(stack);
    expect(await introspect(access)).toBe(true);
    // the feed's connection, on whichever master of a cluster it subscribed
    const id = /id=(\d+) .*name=(\S+)/g;
    const found = [];
    for (const node of masterConnections(stack.redis)) {
      const mine = [...((await node.client('LIST')) as string).matchAll(id)].find((m) => m[2] === feed?.name)?.[1];
      if (mine !== undefined) found.push({ node, mine });
    }
    expect(found).toHaveLength(1);
    const [{ node, mine }] = found as [{ node: Redis; mine: string }];
    await node.client('KILL', 'ID', mine);
    // the feed noticed, or is about to: wait for its close at most 1 s
    for (let i = 0; i < 100 && feed?.connected; i++) await sleep(10);
    await deleteBehindItsBack(access);
    expect(await introspect(access)).toBe(false);
    // back again within a few seconds, remembering from scratch
    for (let i = 0; i < 500 && !feed?.connected; i++) await sleep(10);
    expect(feed?.connected).toBe(true);
    const again = (await ministryLogin(stack)).access;
    expect(await introspect(again)).toBe(true);
    await deleteBehindItsBack(again);
    expect(await introspect(again)).toBe(true);
  });
});

describe(`introspection without the token memory (${ON_CLUSTER ? 'a cluster by default' : 'TESSERA_TOKEN_CACHE=0'})`, () => {
  let stack: Stack;
  aroundAll(async (runSuite) => {
    await using started = await startStack(ON_CLUSTER ? {} : { TESSERA_TOKEN_CACHE: '0' });
    stack = started;
    await runSuite();
  });

  it('reads Redis on every request', async () => {
    expect(loadSettings(serviceEnv(stack.settings.redisPrefix)).tokenCache.enabled).toBe(!ON_CLUSTER);
    expect(stack.tokenCache).toBeNull();
    const auth = `Basic ${Buffer.from(`svc:${await stack.clients.add('svc')}`).toString('base64')}`;
    const { access } = await ministryLogin(stack);
    const ask = async () => {
      const res = await stack.post('/oauth/introspect', new URLSearchParams({ token: access }), { authorization: auth });
      return ((await res.json()) as { active: boolean }).active;
    };
    expect(await ask()).toBe(true);
    await stack.redis.del(stack.tokens.keyOf(access));
    expect(await ask()).toBe(false);
  });
});
