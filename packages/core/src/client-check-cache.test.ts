import { describe, expect, it } from 'vitest';
import { CLIENT_CHECK_LIMITS, ClientCheckCache } from './client-check-cache.ts';

const SECRET = 'k'.repeat(43);

/** A cache over a registry of one client, `svc`, counting the questions it asks; the clock moves by hand. */
function cache(limits = CLIENT_CHECK_LIMITS) {
  const clock = { now: 1_800_000_000_000 };
  const asked: string[] = [];
  const verify = async (id: string, secret: string) => {
    asked.push(id);
    return id === 'svc' && secret === SECRET;
  };
  return { c: new ClientCheckCache(verify, () => clock.now, limits), clock, asked };
}

describe('ClientCheckCache', () => {
  it('remembers a verdict, accepted or refused, for ttlMs: asked once, then known', async () => {
    const { c, clock, asked } = cache();
    expect(c.known('svc', SECRET)).toBeUndefined();
    expect(await c.check('svc', SECRET)).toBe(true);
    expect(await c.check('svc', 'wrong')).toBe(false);
    clock.now += CLIENT_CHECK_LIMITS.ttlMs - 1;
    expect([c.known('svc', SECRET), c.known('svc', 'wrong')]).toStrictEqual([true, false]);
    expect(await c.check('svc', SECRET)).toBe(true);
    expect(asked).toHaveLength(2);
    clock.now += 1;
    expect([c.known('svc', SECRET), c.known('svc', 'wrong')]).toStrictEqual([undefined, undefined]);
    expect(await c.check('svc', SECRET)).toBe(true);
    expect(asked).toHaveLength(3);
  });

  it('made-up secrets never push an accepted credential out; the refusals kept are bounded, the oldest go first', async () => {
    const { c } = cache();
    await c.check('svc', SECRET);
    for (let i = 0; i < 25_000; i++) await c.check('svc', `guess-${i}`);
    expect(c.known('svc', SECRET)).toBe(true);
    expect(c.size.accepted).toBe(1);
    expect(c.size.refused).toBeLessThanOrEqual(CLIENT_CHECK_LIMITS.maxRefused);
    expect(c.known('svc', 'guess-24999')).toBe(false);
    expect(c.known('svc', `guess-${25_000 - CLIENT_CHECK_LIMITS.maxRefused - 1}`)).toBeUndefined();
  });

  it('the accepted credentials kept are bounded too, the oldest go first', async () => {
    const every = new ClientCheckCache(
      async () => true,
      () => 0,
      { ...CLIENT_CHECK_LIMITS, maxAccepted: 2 },
    );
    for (const id of ['a', 'b', 'c']) await every.check(id, SECRET);
    expect(['a', 'b', 'c'].map((id) => every.known(id, SECRET))).toStrictEqual([undefined, true, true]);
    expect(every.size).toStrictEqual({ accepted: 2, refused: 0 });
  });

  it('a refusal is remembered only for a credential of ordinary length: a long one is asked about each time', async () => {
    const { c, asked } = cache();
    const long = 'x'.repeat(CLIENT_CHECK_LIMITS.maxRefusedLength);
    for (let i = 0; i < 3; i++) expect(await c.check('svc', long)).toBe(false);
    expect(asked).toHaveLength(3);
    expect(c.size).toStrictEqual({ accepted: 0, refused: 0 });
    const edge = 'x'.repeat(CLIENT_CHECK_LIMITS.maxRefusedLength - 'svc'.length);
    await c.check('svc', edge);
    expect(c.known('svc', edge)).toBe(false);
  });
});
