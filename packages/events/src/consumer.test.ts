import { newRedisClient } from '@tessera/store';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { testPrefix } from '../../../test/support/stack.ts';
import { consumeAudit, type InvalidEntry } from './consumer.ts';
import { newEvent } from './event.ts';
import { auditStreamKey } from './index.ts';

describe('consumeAudit on a real stream', () => {
  let redis: Redis;
  const stream = auditStreamKey(testPrefix());
  beforeAll(() => {
    redis = newRedisClient(inject('redisUrl'));
  });
  afterAll(async () => {
    await redis.del(stream);
    redis.disconnect();
  });

  it('hands only schema-valid events to the handler; other entries are reported, acknowledged, and do not stop it', async () => {
    const first = newEvent('login.failed', { dialect: 'nehr', identifier: 'u:alice', outcome: 'bad_credentials' });
    const last = newEvent('lockout.engaged', { dialect: 'nehr', identifier: 'u:alice', reason: 'failures', until: Date.now(), count: 1 });
    const add = (...fields: string[]) => redis.xadd(stream, '*', ...fields) as Promise<string>;
    await add('e', JSON.stringify(first));
    const bad = {
      notJson: await add('e', '{"v":1,"id":'),
      noEvent: await add('x', JSON.stringify(first)),
      stringUserId: await add('e', JSON.stringify({ ...newEvent('login.succeeded', {}), userId: '7' })),
      unknownType: await add('e', JSON.stringify({ ...newEvent('login.succeeded', {}), type: 'login.hacked' })),
      extraField: await add('e', JSON.stringify({ ...newEvent('token.issued', {}), password: 'hunter2' })),
      badTime: await add('e', JSON.stringify({ ...newEvent('token.issued', {}), at: 'yesterday' })),
      nextVersion: await add('e', JSON.stringify({ ...newEvent('token.issued', {}), v: 2 })),
      notObject: await add('e', '[1,2]'),
    };
    // a field whose value is "e" is not the event's field
    const mid = newEvent('token.issued', { userId: 7, family: 'f', outcome: 'issued' });
    await add('x', 'e', 'e', JSON.stringify(mid));
    await add('e', JSON.stringify(last));

    const handled: unknown[] = [];
    const invalid: InvalidEntry[] = [];
    const stop = new AbortController();
    const run = consumeAudit(
      redis,
      { stream, group: 'g', consumer: 'c1', from: '0', blockMs: 50, onInvalid: (e) => void invalid.push(e) },
      (e) => void handled.push(e),
      stop.signal,
    );
    for (let i = 0; i < 1000 && handled.length + invalid.length < 11; i++) await new Promise((r) => setTimeout(r, 10));
    stop.abort();
    await run;

    expect(handled).toStrictEqual([first, mid, last]);
    expect(invalid.map((e) => e.id)).toStrictEqual(Object.values(bad));
    const why = Object.fromEntries(Object.keys(bad).map((k, i) => [k, invalid[i]?.reason]));
    expect(why).toMatchObject({
      notJson: 'not JSON',
      noEvent: 'no field e',
      stringUserId: expect.stringContaining('/userId must be integer'),
      unknownType: expect.stringContaining('/type must be equal to one of the allowed values'),
      extraField: expect.stringContaining('must not have additional properties'),
      badTime: expect.stringContaining('/at must match format "date-time"'),
      nextVersion: expect.stringContaining('/v must be equal to constant'),
      notObject: expect.stringContaining('must be object'),
    });
    // every entry acknowledged: nothing pending holds the group up, all stay in the stream
    expect(((await redis.xpending(stream, 'g')) as [number])[0]).toBe(0);
    expect(await redis.xlen(stream)).toBe(11);
  });
});
