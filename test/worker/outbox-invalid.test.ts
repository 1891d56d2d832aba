import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger } from '@tessera/config/log';
import { auditStreamKey, newEvent } from '@tessera/events';
import { aroundAll, describe, expect, it } from 'vitest';
import { startTestPipeline } from '../support/ops.ts';
import { type Stack, startStack, testKeys } from '../support/stack.ts';

describe('worker: outbox entries that are no audit event', () => {
  let stack: Stack;
  const lines: string[] = [];

  aroundAll(async (runSuite) => {
    await using started = await startStack({}, { seed: false });
    stack = started;
    // the worker's pipeline, reading the outbox while the suite runs
    await using _pipeline = await startTestPipeline(
      stack,
      'test-worker',
      createLogger('worker', 'warn', (l) => lines.push(l)),
    );
    await runSuite();
  });

  it('are logged and removed, and do not hold up the events around them', async () => {
    const outbox = testKeys(stack.settings.redisPrefix).outbox(0);
    const before = newEvent('login.succeeded', { dialect: 'nehr', identifier: 'u:before', outcome: 'success' });
    const after = newEvent('login.succeeded', { dialect: 'nehr', identifier: 'u:after', outcome: 'success' });
    const ids = [
      await stack.redis.xadd(outbox, '*', 'e', JSON.stringify(before)),
      await stack.redis.xadd(outbox, '*', 'e', 'not json {'),
      await stack.redis.xadd(outbox, '*', 'x', 'no field e'),
      await stack.redis.xadd(outbox, '*', 'e', JSON.stringify({ v: 1, id: 'not-a-ulid', type: 'made.up' })),
      await stack.redis.xadd(outbox, '*', 'e', JSON.stringify(after)),
    ];
    const stream = auditStreamKey(stack.settings.redisPrefix);
    const delivered = async () => (await stack.redis.xrange(stream, '-', '+')).map(([, f]) => f[f.indexOf('e') + 1]);
    const deadline = Date.now() + 10_000;
    while ((await delivered()).length < 2 && Date.now() < deadline) await sleep(25);
    expect((await delivered()).map((e) => (JSON.parse(e as string) as { id: string }).id)).toStrictEqual([before.id, after.id]);
    expect(await stack.redis.xlen(outbox)).toBe(0);
    const warned = lines.map((l) => JSON.parse(l) as { level: string; msg: string; id?: string; reason?: string; fields?: string });
    const invalid = warned.filter((l) => l.msg === 'outbox entry is no audit event; removed');
    expect(invalid.map((l) => [l.level, l.id])).toStrictEqual(ids.slice(1, 4).map((id) => ['warn', id]));
    expect(invalid[0]?.reason).toBe('not JSON');
    expect(invalid[0]?.fields).toBe('["e","not json {"]');
    expect(invalid[1]?.reason).toBe('no field e');
    expect(invalid[2]?.reason).toContain('/id');
    expect(warned.filter((l) => l.msg !== 'outbox entry is no audit event; removed')).toStrictEqual([]);
  });
});
