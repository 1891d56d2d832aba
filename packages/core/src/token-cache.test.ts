import { describe, expect, it } from 'vitest';
import { TokenCache } from './token-cache.ts';
import type { TokenRecord } from './types.ts';

const NOW = 1_800_000_000_000;

function record(over: Partial<TokenRecord> = {}): TokenRecord {
  return {
    kind: 'access',
    format: 'uuid',
    dialect: 'moh',
    userId: 7,
    username: 'alice',
    scopes: ['read'],
    iat: NOW / 1000,
    exp: NOW / 1000 + 3600,
    family: 'fam',
    ...over,
  };
}

function cache(options: Partial<{ maxEntries: number; maxAgeMs: number }> = {}) {
  const clock = { now: NOW };
  const c = new TokenCache({ maxEntries: options.maxEntries ?? 100, maxAgeMs: options.maxAgeMs ?? 5000, now: () => clock.now });
  c.reset(true);
  return { c, clock };
}

describe('TokenCache', () => {
  it('serves a remembered live access token', () => {
    const { c } = cache();
    const r = record();
    c.put(c.stamp(), 'tok', 'h', r);
    expect(c.get('tok')).toBe(r);
    expect(c.get('other')).toBeUndefined();
  });

  it('serves nothing and remembers nothing while the revocation feed is down', () => {
    const { c } = cache();
    c.put(c.stamp(), 'tok', 'h', record());
    c.reset(false);
    expect(c.get('tok')).toBeUndefined();
    c.put(c.stamp(), 'tok', 'h', record());
    expect(c.size).toBe(0);
    expect(c.active).toBe(false);
    // back up: starts empty
    c.reset(true);
    expect(c.get('tok')).toBeUndefined();
    expect(c.active).toBe(true);
  });

  it('forgets a revoked token by its hash', () => {
    const { c } = cache();
    c.put(c.stamp(), 'a', 'ha', record());
    c.put(c.stamp(), 'b', 'hb', record());
    c.revoked(['ha', 'unknown']);
    expect(c.get('a')).toBeUndefined();
    expect(c.get('b')).toBeDefined();
  });

  it('drops the result of a lookup that its own revocation overtook, not one that others did', () => {
    const { c } = cache();
    const stamp = c.stamp();
    c.revoked(['other-1', 'h', 'other-2']); // arrive while the lookup is in flight
    c.put(stamp, 'tok', 'h', record());
    expect(c.get('tok')).toBeUndefined();
    const stamp2 = c.stamp();
    c.revoked(['other-3']);
    c.put(stamp2, 'tok', 'h', record());
    expect(c.get('tok')).toBeDefined();
  });

  it('remembers nothing that was in flight across too many revocations to tell, or a feed reset', () => {
    const { c } = cache();
    const stamp = c.stamp();
    c.revoked(Array.from({ length: 1024 }, (_, i) => `other-${i}`));
    c.put(stamp, 'tok', 'h', record());
    expect(c.get('tok')).toBeUndefined();
    const stamp2 = c.stamp();
    c.reset(true);
    c.put(stamp2, 'tok', 'h', record());
    expect(c.get('tok')).toBeUndefined();
  });

  it('keeps access tokens only', () => {
    const { c } = cache();
    c.put(c.stamp(), 'r', 'hr', record({ kind: 'refresh' }));
    expect(c.get('r')).toBeUndefined();
  });

  it("never serves an entry past the token's exp, nor past maxAgeMs", () => {
    const { c, clock } = cache({ maxAgeMs: 5000 });
    c.put(c.stamp(), 'short', 'hs', record({ exp: NOW / 1000 + 2 }));
    c.put(c.stamp(), 'long', 'hl', record());
    clock.now = NOW + 1999;
    expect(c.get('short')).toBeDefined();
    clock.now = NOW + 2000;
    expect(c.get('short')).toBeUndefined();
    expect(c.get('long')).toBeDefined();
    clock.now = NOW + 5000;
    expect(c.get('long')).toBeUndefined();
    expect(c.size).toBe(0);
  });

  it('keeps at most maxEntries, dropping the oldest half at once', () => {
    const { c } = cache({ maxEntries: 4 });
    for (const t of ['a', 'b', 'c', 'd', 'e']) c.put(c.stamp(), t, `h${t}`, record());
    // a and b were the old half when the young one (c, d) filled up
    expect(c.size).toBe(3);
    expect(c.get('a')).toBeUndefined();
    expect(c.get('b')).toBeUndefined();
    expect(c.get('c')).toBeDefined();
    expect(c.get('e')).toBeDefined();
    // the dropped entry's hash index went with it: a revocation of it is harmless
    c.revoked(['ha']);
    expect(c.size).toBe(3);
  });

  it('forgets a revoked token of either generation, and holds a token seen again once', () => {
    const { c } = cache({ maxEntries: 4 });
    for (const t of ['a', 'b', 'c']) c.put(c.stamp(), t, `h${t}`, record());
    // a and b are the old generation now, c the young one
    c.revoked(['ha', 'hc']);
    expect(c.get('a')).toBeUndefined();
    expect(c.get('c')).toBeUndefined();
    expect(c.get('b')).toBeDefined();
    c.put(c.stamp(), 'b', 'hb', record());
    expect(c.size).toBe(1);
    c.revoked(['hb']);
    expect(c.get('b')).toBeUndefined();
  });
});
