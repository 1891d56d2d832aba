import { describe, expect, it } from 'vitest';
import { newEvent, newUlid } from './event.ts';

describe('newUlid', () => {
  it('is 26 Crockford base32 characters, the first 10 the time in ms', () => {
    const at = Date.UTC(2026, 0, 2, 3, 4, 5, 678);
    const id = newUlid(at);
    expect(id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    let t = 0;
    for (const c of id.slice(0, 10)) t = t * 32 + '0123456789ABCDEFGHJKMNPQRSTVWXYZ'.indexOf(c);
    expect(t).toBe(at);
  });

  it('sorts by time and does not repeat its random part', () => {
    const ids = Array.from({ length: 5000 }, (_, i) => newUlid(1_700_000_000_000 + Math.floor(i / 10)));
    const times = ids.map((id) => id.slice(0, 10));
    expect([...times].sort()).toEqual(times);
    expect(new Set(ids.map((id) => id.slice(10))).size).toBe(ids.length);
  });

  it('names every event', () => {
    expect(newEvent('login.failed', { dialect: 'moh' }, 0).id).toMatch(/^0{10}[0-9A-HJKMNP-TV-Z]{16}$/);
  });
});
