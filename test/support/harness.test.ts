import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Stack, startStack } from './stack.ts';

describe('test harness', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack.close();
  });

  it('gets a real Redis in the documented order (REDIS_URL, testcontainers, redis-server)', async () => {
    const kind = inject('redisKind');
    if (process.env.REDIS_URL) expect(kind).toBe('env');
    else expect(['testcontainers', 'redis-server']).toContain(kind);
    const r = new Redis(inject('redisUrl'));
    expect(await r.ping()).toBe('PONG');
    r.disconnect();
  });

  it('answers health on a started ingress and seeds the demo users under its own prefix', async () => {
    const res = await fetch(`${stack.base}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
    expect((await stack.users.get('MOH-90008'))?.profile.persCode).toBe('-90008');
    const keys = await stack.redis.keys(`${stack.settings.redisPrefix}*`);
    expect(keys.length).toBeGreaterThanOrEqual(4);
  });
});
