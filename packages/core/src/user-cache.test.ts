import { describe, expect, it } from 'vitest';
import { makeUser } from '../test/fixtures.ts';
import { UserCache } from './user-cache.ts';

describe('UserCache', () => {
  const clock = { t: 0, active: true };
  const cache = (max?: number) => new UserCache({ maxAgeMs: 1000, now: () => clock.t, active: () => clock.active }, max);

  it('serves a user for maxAgeMs after Redis said so, and never a disabled one', () => {
    clock.t = 0;
    const c = cache();
    const u = makeUser({ id: 7 });
    c.put(u);
    clock.t = 999;
    expect(c.get(7)).toBe(u);
    clock.t = 1000;
    expect(c.get(7)).toBeUndefined();
    c.put(makeUser({ id: 8, disabled: true }));
    expect(c.get(8)).toBeUndefined();
  });

  it('serves nothing, and forgets everything, while the token memory is inactive', () => {
    clock.t = 0;
    const c = cache();
    c.put(makeUser({ id: 1 }));
    clock.active = false;
    expect(c.get(1)).toBeUndefined();
    clock.active = true;
    expect(c.get(1)).toBeUndefined();
    expect(c.size).toBe(0);
  });

  it('keeps at most maxEntries, the oldest going first', () => {
    clock.t = 0;
    const c = cache(2);
    c.put(makeUser({ id: 1 }));
    c.put(makeUser({ id: 2 }));
    c.put(makeUser({ id: 3 }));
    expect([c.get(1), c.get(2)?.id, c.get(3)?.id, c.size]).toStrictEqual([undefined, 2, 3, 2]);
  });
});
