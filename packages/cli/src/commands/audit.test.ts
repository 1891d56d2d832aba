import { auditStreamKey, newEvent } from '@tessera/events';
import { connectRedis, type TesseraRedis } from '@tessera/store';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { tessera } from '../../../../test/support/cli.ts';
import { dropPrefix, testPrefix } from '../../../../test/support/stack.ts';

let redis: TesseraRedis;
const prefix = testPrefix();

beforeAll(async () => {
  redis = await connectRedis({ url: inject('redisUrl') });
});
afterAll(async () => {
  await dropPrefix(redis, prefix);
  await redis.quit();
});

describe('tessera audit tail', () => {
  it('prints the events and skips entries that are no audit event with a one-line warning each', async () => {
    const stream = auditStreamKey(prefix);
    const first = newEvent('login.failed', { dialect: 'nehr', identifier: 'u:alice', outcome: 'bad_credentials' });
    const last = newEvent('login.succeeded', { dialect: 'nehr', identifier: 'u:alice', outcome: 'success' });
    await redis.xadd(stream, '*', 'e', JSON.stringify(first));
    const notJson = await redis.xadd(stream, '*', 'e', 'not json {');
    const noEvent = await redis.xadd(stream, '*', 'e', JSON.stringify({ v: 1, type: 'made.up' }));
    await redis.xadd(stream, '*', 'e', JSON.stringify(last));
    const run = await tessera(['audit', 'tail'], prefix);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(`${JSON.stringify(first)}\n${JSON.stringify(last)}\n`);
    const warnings = run.stderr.trimEnd().split('\n');
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(new RegExp(`^tessera: audit stream entry ${noEvent} skipped: .+`));
    expect(warnings[1]).toBe(`tessera: audit stream entry ${notJson} skipped: not JSON`);
  });
});
