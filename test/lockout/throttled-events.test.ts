import { readFileSync } from 'node:fs';
import { aroundAll, describe, expect, it } from 'vitest';
import { memoryUsage, type Stack, startStack, testKeys } from '../support/stack.ts';

/*
 * docs/security.md bounds the audit events one client address can add to Redis per minute. The
 * rate limit bounds the attempts, but every throttled refusal past it is an outbox entry as well,
 * so the bound must hold however many requests the address sends past its limit.
 */
const SECURITY = readFileSync(new URL('../../docs/security.md', import.meta.url), 'utf8');
const bound = Number(/\|\s*audit events\s*\|\s*≤ ([\d,]+) bytes/.exec(SECURITY)?.[1]?.replaceAll(',', ''));

describe('one address far past its rate limit', () => {
  let stack: Stack;
  aroundAll(async (runSuite) => {
    await using started = await startStack(); // the defaults: 600 attempts a minute per address
    stack = started;
    await runSuite();
  });

  it('adds no more audit events to Redis than docs/security.md states for a minute', async () => {
    // every outbox's bytes together (one per account shard)
    const { outboxes } = testKeys(stack.settings.redisPrefix);
    const usage = async () => (await Promise.all(outboxes.map((o) => memoryUsage(stack.redis, o)))).reduce((sum, b) => sum + b, 0);
    const before = await usage();
    const statuses: number[] = [];
    for (let i = 0; i < 3 * stack.settings.lockout.rateLimit; i += 50)
      statuses.push(
        ...(await Promise.all(
          Array.from({ length: 50 }, async (_, j) => {
            const res = await stack.post(
              '/nehrapi/login/getToken',
              JSON.stringify({ username: `${i + j}-`.padEnd(254, 'x'), password: 'wrong' }),
              { 'content-type': 'application/json', 'user-agent': 'A'.repeat(8000) },
            );
            await res.arrayBuffer();
            return res.status;
          }),
        )),
      );
    expect(statuses.filter((s) => s === 429)).toHaveLength(2 * stack.settings.lockout.rateLimit);
    const events = (await usage()) - before;
    expect(bound).toBeGreaterThan(0);
    expect(events).toBeLessThanOrEqual(bound);
  }, 120_000);
});
