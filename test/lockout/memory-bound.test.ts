import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { keysMatching, memoryUsage, type Stack, startStack, testKeys } from '../support/stack.ts';

/**
 * What one client address can make Redis hold: the bound docs/security.md states, measured. The
 * figures are read from that page ("Redis bytes one address can add"), so the page and the test
 * cannot drift apart.
 */
const SECURITY = readFileSync(new URL('../../docs/security.md', import.meta.url), 'utf8');
function documented(row: string): number {
  const m = new RegExp(`\\|\\s*${row}\\s*\\|\\s*≤ ([\\d,]+) bytes`).exec(SECURITY);
  if (m === null) throw new Error(`docs/security.md has no bound for "${row}"`);
  return Number((m[1] as string).replaceAll(',', ''));
}

const LONGEST = 254;
const HUGE_AGENT = 'A'.repeat(8000);

/** Every key under the prefix with its size and remaining lifetime (ms, -1 for none). */
async function census(stack: Stack): Promise<Map<string, { bytes: number; ttl: number }>> {
  const out = new Map<string, { bytes: number; ttl: number }>();
  for (const key of await keysMatching(stack.redis, `${stack.settings.redisPrefix}*`)) {
    const [bytes, ttl] = await Promise.all([memoryUsage(stack.redis, key), stack.redis.pttl(key)]);
    out.set(key, { bytes, ttl });
  }
  return out;
}

/** Bytes and keys the attack added, split into the outbox (drained by the worker) and the rest. */
function added(before: Map<string, { bytes: number }>, after: Map<string, { bytes: number; ttl: number }>, outboxes: readonly string[]) {
  let state = 0;
  let events = 0;
  const fresh: [string, number][] = [];
  for (const [key, { bytes, ttl }] of after) {
    const grew = bytes - (before.get(key)?.bytes ?? 0);
    if (outboxes.includes(key)) events += grew;
    else state += grew;
    if (!before.has(key) || key.endsWith(':lockouts')) fresh.push([key, ttl]);
  }
  return { state, events, fresh };
}

/** The answer's status, or PEB's error_id (PEB answers 200 with an error number). */
async function attempt(stack: Stack, body: Record<string, string>, path = '/nehrapi/login/getToken'): Promise<number> {
  const res =
    path === '/v1/login'
      ? await stack.post(path, new URLSearchParams(body), { 'user-agent': HUGE_AGENT })
      : await stack.post(path, JSON.stringify(body), { 'content-type': 'application/json', 'user-agent': HUGE_AGENT });
  const answer = (await res.json()) as { error_id?: number };
  return answer.error_id ?? res.status;
}

describe('one address at its rate limit: a stated bound on what it adds to Redis, and nothing outlives its purpose', () => {
  it('a minute of distinct longest usernames, one wrong password each: counters that live their window', async () => {
    await using stack = await startStack(); // the defaults: 600 attempts a minute per address, 5 failures in 15 minutes
    const s = stack.settings.lockout;
    const { outboxes } = testKeys(stack.settings.redisPrefix);
    const before = await census(stack);
    const statuses: number[] = [];
    for (let i = 0; i < s.rateLimit + 20; i += 20)
      statuses.push(
        ...(await Promise.all(
          Array.from({ length: 20 }, (_, j) => attempt(stack as Stack, { username: `${i + j}-`.padEnd(LONGEST, 'x'), password: 'wrong' })),
        )),
      );
    expect(statuses.filter((x) => x === 401)).toHaveLength(s.rateLimit);
    expect(statuses.filter((x) => x === 429)).toHaveLength(20);
    const { state, events, fresh } = added(before, await census(stack), outboxes);
    console.log(`distinct identifiers: ${state} bytes of state, ${events} bytes of events for ${s.rateLimit} attempts`);
    expect(state).toBeLessThanOrEqual(documented('failure counters'));
    expect(events).toBeLessThanOrEqual(documented('audit events'));
    for (const [key, ttl] of fresh) {
      if (outboxes.includes(key)) continue;
      // a failure counter lives its window; the address's rate counter, its rate window
      const limit = key.includes(':rl:') ? s.rateWindowMs : s.windowMs;
      expect({ key, ttl: ttl > 0 && ttl <= limit }).toStrictEqual({ key, ttl: true });
    }
  }, 120_000);

  it('a minute of locking longest unknown emails: each lock lives its lock and one window, the index stays small', async () => {
    await using stack = await startStack();
    const s = stack.settings.lockout;
    const { outboxes } = testKeys(stack.settings.redisPrefix);
    const before = await census(stack);
    const locks = s.rateLimit / s.maxFailures;
    // the longest valid address: a 64-character local part, labels of at most 63
    const email = (i: number) => `${`${i}.`.padEnd(64, 'x')}@${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(57)}.com`;
    expect(email(0)).toHaveLength(LONGEST);
    for (let i = 0; i < locks; i += 20)
      await Promise.all(
        Array.from({ length: 20 }, async (_, j) => {
          for (let k = 0; k < s.maxFailures; k++)
            expect(await attempt(stack as Stack, { email: email(i + j), password: 'wrong' }, '/v1/login')).toBe(11);
        }),
      );
    expect((await stack.gate.locked()).length).toBe(locks);
    const { state, events, fresh } = added(before, await census(stack), outboxes);
    console.log(`locks: ${state} bytes of state, ${events} bytes of events for ${s.rateLimit} attempts`);
    expect(state).toBeLessThanOrEqual(documented('locks'));
    expect(events).toBeLessThanOrEqual(documented('audit events'));
    for (const [key, ttl] of fresh) {
      if (outboxes.includes(key)) continue;
      if (key.endsWith(':lockouts')) continue; // no TTL: bounded by entries instead (below)
      const limit = key.includes(':rl:') ? s.rateWindowMs : s.lockMs + s.windowMs;
      expect({ key, ttl: ttl > 0 && ttl <= limit }).toStrictEqual({ key, ttl: true });
    }
  }, 120_000);

  it('the lockouts index keeps at most its cap (the soonest to end leave first) and sheds ended locks as it grows', async () => {
    await using stack = await startStack({}, { seed: false });
    const p = testKeys(stack.settings.redisPrefix).shardPrefix(0);
    const index = `${p}lockouts`;
    const lockNow = (lock: string, lockMs: number, cap: number) =>
      (stack as Stack).redis.finishLogin(
        `${p}lk:${lock}`,
        `${p}lki:${lock}`,
        `${p}outbox`,
        index,
        `${p}u:`,
        'r',
        '0',
        1,
        60_000,
        lockMs,
        lock,
        1000,
        cap,
        '{}',
        '',
        '0',
      );
    await stack.redis.zadd(index, Date.now() - 1000, 'u:ended1', Date.now() - 500, 'u:ended2');
    for (let i = 0; i < 5; i++) await lockNow(`u:n${i}`, 10_000 + i * 1000, 3);
    expect(await stack.redis.zrange(index, 0, -1)).toStrictEqual(['u:n2', 'u:n3', 'u:n4']);
  });
});
