import { setTimeout as sleep } from 'node:timers/promises';
import { redisRevocations } from '@tessera/client/redis';
import { createLogger } from '@tessera/config/log';
import type { AuditEvent } from '@tessera/events';
import { keyLayout, newRedisClient, SLOTS, shardTags, tokenHash } from '@tessera/store';
import { type Pipeline, startPipeline } from '@tessera/worker';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, jwtLogin, ministryLogin, pebLogin } from '../lifecycle/support.ts';
import { type LocalCluster, startCluster } from '../support/cluster.ts';
import { type Stack, startStack } from '../support/stack.ts';

// Everything Tessera does, on a 3-master Redis Cluster formed by infra/cluster/bootstrap.sh.
describe('on Redis Cluster', () => {
  let cluster: LocalCluster;
  let url: string;
  let stack: Stack;
  let pipeline: Pipeline;
  const connections: Redis[] = [];

  beforeAll(async () => {
    cluster = await startCluster();
    url = cluster.url;
    stack = await startStack({ REDIS_URL: url, TESSERA_LOGIN_RATE_LIMIT: '0' });
    pipeline = await startPipeline(
      stack.settings,
      () => {
        const c = newRedisClient(url, { maxRetriesPerRequest: null });
        connections.push(c);
        return c;
      },
      stack.redis,
      'cluster-test',
      createLogger('worker', 'error', () => {}),
    );
  }, 120_000);

  afterAll(async () => {
    await pipeline?.close();
    for (const c of connections) c.disconnect();
    await stack?.close();
    await cluster?.stop();
  }, 60_000);

  it('spreads keys over the masters: users in one slot, tokens in others', async () => {
    const masters = (stack.redis as unknown as { nodes(role: string): Redis[] }).nodes('master');
    expect(masters).toHaveLength(3);
    await ministryLogin(stack);
    await jwtLogin(stack);
    const counts = await Promise.all(masters.map(async (m) => (await m.dbsize()) as number));
    expect(counts.filter((c) => c > 0).length).toBeGreaterThanOrEqual(2);
  });

  it("places the account shards as keys.ts computes: Redis's own CLUSTER KEYSLOT, 16 of the 48 on each master", async () => {
    const keys = keyLayout(stack.settings.redisPrefix, stack.settings.accountShards);
    const masters = (stack.redis as unknown as { nodes(role: string): Redis[] }).nodes('master');
    const tags = shardTags(keys.shards);
    const slots = await Promise.all(tags.map((tag) => masters[0]?.call('CLUSTER', 'KEYSLOT', tag) as Promise<number>));
    slots.forEach((slot, k) => {
      expect(slot).toBeGreaterThanOrEqual(Math.ceil((k * SLOTS) / keys.shards));
      expect(slot).toBeLessThan(Math.ceil(((k + 1) * SLOTS) / keys.shards));
    });
    // every key of an account's shard is in its tag's slot (the scripts touch one slot)
    const alice = keys.shardOf('alice');
    for (const key of [keys.user('alice'), keys.outbox(alice), keys.lockouts(alice), keys.lockout('a:1', alice)])
      expect(await masters[0]?.call('CLUSTER', 'KEYSLOT', key)).toBe(slots[alice]);
    // the cluster's masters hold even slot ranges (bootstrap.sh): a third of the shards each
    const ranges = (await masters[0]?.call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
    const perMaster = new Map<number, number>();
    for (const slot of slots) {
      const range = ranges.find(([lo, hi]) => slot >= lo && slot <= hi);
      const port = range?.[2][1] ?? -1;
      perMaster.set(port, (perMaster.get(port) ?? 0) + 1);
    }
    expect([...perMaster.values()].sort()).toStrictEqual([16, 16, 16]);
  });

  it('logs in on all four routes, refreshes, introspects and revokes', async () => {
    const moh = await ministryLogin(stack);
    const refreshed = await call(stack, '/refreshUserToken', { refresh_token: moh.refresh });
    expect(refreshed.body.code).toBe(0);
    const reuse = await call(stack, '/refreshUserToken', { refresh_token: moh.refresh });
    expect(reuse.body.code).toBe(9);
    const nehr = await call(stack, '/nehrapi/login/getToken', { username: 'MOH-90008', password: 'Moh@-90008' });
    expect(nehr.status).toBe(200);
    const jwt = await jwtLogin(stack);
    expect((await call(stack, '/api/token/refresh/', { refresh: jwt.refresh })).status).toBe(200);
    const peb = await pebLogin(stack);
    const renewed = await call(stack, '/v1/login/renew', { token: peb });
    expect(renewed.body.status).toBe(200);
    const secret = await stack.clients.add('cluster-svc');
    const auth = `Basic ${Buffer.from(`cluster-svc:${secret}`).toString('base64')}`;
    const intro = await stack.post('/oauth/introspect', new URLSearchParams({ token: jwt.access }), { authorization: auth });
    expect(((await intro.json()) as { active: boolean }).active).toBe(true);
    await stack.post('/oauth/revoke', new URLSearchParams({ token: jwt.refresh }), { authorization: auth });
    const after = await stack.post('/oauth/introspect', new URLSearchParams({ token: jwt.access }), { authorization: auth });
    expect(await after.json()).toStrictEqual({ active: false });
  });

  it("gives the SDK's revocation push the cluster's URL, as Tessera's REDIS_URL names it: a revocation reaches it", async () => {
    const source = await redisRevocations({ url, prefix: stack.settings.redisPrefix });
    try {
      const heard: string[][] = [];
      source.subscribe({ revoked: (hashes) => heard.push([...hashes]), reset: () => {} });
      expect(source.connected).toBe(true);
      const { access } = await ministryLogin(stack);
      await stack.tokens.revoke(access, 'admin');
      // the push crosses the cluster bus after PUBLISH answered (and other revocations of this
      // deployment's tests may still be on their way)
      const reached = () => heard.some((hashes) => hashes.includes(tokenHash(access)));
      for (let i = 0; i < 100 && !reached(); i++) await sleep(20);
      expect(reached()).toBe(true);
    } finally {
      await source.close();
    }
  });

  it('keeps the lockout exact and the audit pipeline whole', async () => {
    const answers = await Promise.all(
      Array.from({ length: 30 }, () => call(stack, '/nehrapi/login/getToken', { username: 'someone.example', password: 'wrong' })),
    );
    expect(answers.filter((a) => a.status === 401)).toHaveLength(5);
    expect(answers.filter((a) => a.status === 429)).toHaveLength(25);
    const stream = `${stack.settings.redisPrefix}{audit}:stream`;
    const deadline = Date.now() + 15_000;
    let events: AuditEvent[] = [];
    while (Date.now() < deadline) {
      events = (await stack.redis.xrange(stream, '-', '+')).map(([, f]) => JSON.parse(f[f.indexOf('e') + 1] as string) as AuditEvent);
      if (events.filter((e) => e.identifier === 'u:someone.example' && e.type === 'login.failed').length >= 30) break;
      await sleep(100);
    }
    expect(events.filter((e) => e.identifier === 'u:someone.example' && e.type === 'login.failed')).toHaveLength(30);
    expect(events.filter((e) => e.type === 'lockout.engaged')).toHaveLength(1);
  });
});
