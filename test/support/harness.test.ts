import { connectRedis, newRedisClient } from '@tessera/store';
import { aroundAll, describe, expect, inject, it } from 'vitest';
import { DEMO } from './demo.ts';
import { keysMatching, RUNTIMES, type Stack, startStack } from './stack.ts';

describe('test harness', () => {
  let stack: Stack;
  aroundAll(async (runSuite) => {
    await using started = await startStack();
    stack = started;
    await runSuite();
  });

  it('gets a real Redis in the documented order (REDIS_URL, a private cluster, testcontainers, redis-server)', async () => {
    const kind = inject('redisKind');
    if (kind === 'cluster') expect(inject('redisUrl')).toMatch(/^redis-cluster:\/\//);
    else if (process.env.REDIS_URL) expect(kind).toBe('env');
    else expect(['testcontainers', 'redis-server']).toContain(kind);
    const r = newRedisClient(inject('redisUrl'));
    expect(await r.ping()).toBe('PONG');
    r.disconnect();
  });

  it('answers health on a started ingress and seeds the demo users under its own prefix', async () => {
    const res = await fetch(`${stack.base}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
    expect((await stack.users.get('MOH-90008'))?.profile.persCode).toBe('-90008');
    const keys = await keysMatching(stack.redis, `${stack.settings.redisPrefix}*`);
    expect(keys.length).toBeGreaterThanOrEqual(4);
  });
});

describe.each(RUNTIMES)('a stack on %s', (runtime) => {
  it('serves from that runtime and logs each request; `await using` stops it and drops its keys', async () => {
    const redis = await connectRedis({ url: inject('redisUrl') });
    try {
      let base = '';
      let prefix = '';
      {
        await using stack = await startStack({}, { runtime });
        base = stack.base;
        prefix = stack.settings.redisPrefix;
        const res = await stack.post('/api/token/', JSON.stringify(DEMO.simplejwt), {
          'content-type': 'application/json',
          'x-request-id': 'harness-1',
        });
        expect(res.status).toBe(200);
        await stack.settleLogs();
        const requests = stack.logs.filter((l) => l.includes('"msg":"request"'));
        expect(requests.map((l) => (JSON.parse(l) as { reqId: string }).reqId)).toStrictEqual(['harness-1']);
        expect(requests[0]).toContain(runtime === 'deno' ? '"service":"ingress-deno"' : '"service":"ingress"');
        expect(await keysMatching(redis, `${prefix}*`)).not.toStrictEqual([]);
      }
      await expect(fetch(`${base}/healthz`)).rejects.toThrow();
      expect(await keysMatching(redis, `${prefix}*`)).toStrictEqual([]);
    } finally {
      redis.disconnect();
    }
  });
});
