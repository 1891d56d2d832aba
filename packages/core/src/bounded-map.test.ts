import { describe, expect, it } from 'vitest';
import { BoundedMap } from './bounded-map.ts';

describe('BoundedMap', () => {
  it('never holds more than maxEntries, the oldest half going when the young one is full', () => {
    const m = new BoundedMap<number, string>(10);
    for (let i = 0; i < 1000; i++) {
      m.set(i, `v${i}`);
      expect(m.size).toBeLessThanOrEqual(10);
    }
    // the newest five are always there, whatever the generation they are in
    for (let i = 995; i < 1000; i++) expect(m.get(i)).toBe(`v${i}`);
    expect(m.get(0)).toBeUndefined();
  });

  it('holds a key set again once, with its newest value, and forgets a deleted key in either generation', () => {
    const m = new BoundedMap<string, number>(4);
    m.set('a', 1);
    m.set('b', 2);
    m.set('c', 3);
    // a and b are the old generation now
    m.set('a', 10);
    expect([m.get('a'), m.size]).toStrictEqual([10, 3]);
    m.delete('b');
    m.delete('c');
    expect([m.get('b'), m.get('c'), m.size]).toStrictEqual([undefined, undefined, 1]);
    m.clear();
    expect([m.get('a'), m.size]).toStrictEqual([undefined, 0]);
  });
});
