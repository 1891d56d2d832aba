import { decodeTime, isValid } from 'ulid';
import { describe, expect, it } from 'vitest';
import { newEvent } from './event.ts';

describe('newEvent ids', () => {
  it('are valid ULIDs of the event time, all different, spread over every character', () => {
    const at = Date.UTC(2026, 10, 22, 12, 0, 0);
    const ids = Array.from({ length: 20_000 }, () => newEvent('login.succeeded', { outcome: 'success' }, at).id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids.slice(0, 100)) {
      expect(isValid(id)).toBe(true);
      expect(decodeTime(id)).toBe(at);
    }
    // the random part uses all 32 characters about equally: 20 000 ids x 16 characters
    const counts = new Map<string, number>();
    for (const id of ids) for (const c of id.slice(10)) counts.set(c, (counts.get(c) ?? 0) + 1);
    expect(counts.size).toBe(32);
    const expected = (ids.length * 16) / 32;
    for (const n of counts.values()) expect(Math.abs(n - expected) / expected).toBeLessThan(0.05);
  });
});

describe('newEvent fields', () => {
  it('keeps the longest identifier whole behind its kind, and cuts a user agent to the schema', () => {
    const email = `e:${'x'.repeat(64)}@${'d'.repeat(185)}.com`;
    expect(email).toHaveLength(256);
    const e = newEvent('login.failed', { identifier: email, userAgent: 'A'.repeat(9000) });
    expect(e.identifier).toBe(email);
    expect(e.userAgent).toHaveLength(512);
  });
});
