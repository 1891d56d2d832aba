import { createLogger } from '@tessera/config/log';
import type { AuditEvent } from '@tessera/events';
import { createProcessor } from '@tessera/worker';
import { aroundAll, describe, expect, it } from 'vitest';
import { outboxEntries, type Stack, startStack, testKeys } from '../support/stack.ts';

/*
 * The worker escalates a lock when it processes lockout.engaged, which may be after an operator
 * has already cleared that lock (the worker lags, or was down). The escalation is about the lock
 * the event names; a count started after the clear is not that lock.
 */
describe('an operator unlock, then the lock event reaches the worker', () => {
  let stack: Stack;
  aroundAll(async (runSuite) => {
    await using started = await startStack({ TESSERA_LOGIN_RATE_LIMIT: '0' }); // default lockout settings
    stack = started;
    await runSuite();
  });

  const nehr = async (username: string, password: string) => {
    const res = await stack.post('/nehrapi/login/getToken', JSON.stringify({ username, password }), { 'content-type': 'application/json' });
    await res.arrayBuffer();
    return res.status;
  };

  it('does not lock the account again after one mistyped password', async () => {
    for (let i = 0; i < 5; i++) expect(await nehr('sampleUser', 'nope')).toBe(401);
    expect(await nehr('sampleUser', 'userpassword123')).toBe(429);
    expect(await stack.gate.clear('sampleUser', () => JSON.stringify({ type: 'lockout.released' }))).toMatch(/^a:\d+$/);
    expect(await nehr('sampleUser', 'typo')).toBe(401);

    // the worker (its real processor) now takes up the lockout.engaged event
    const process = createProcessor(
      stack.settings,
      stack.redis,
      createLogger('worker', 'error', () => {}),
    );
    const entries = await outboxEntries(stack.redis, testKeys(stack.settings.redisPrefix));
    const engaged = entries.map(([, f]) => JSON.parse(f[1] as string) as AuditEvent).filter((e) => e.type === 'lockout.engaged');
    expect(engaged).toHaveLength(1);
    for (const e of engaged) await process(e);

    expect(await nehr('sampleUser', 'userpassword123')).toBe(200);
  });
});
