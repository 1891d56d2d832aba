import keySlot from 'cluster-key-slot';
import { describe, expect, it } from 'vitest';
import { keyLayout, SLOTS, shardTags } from './keys.ts';

// Redis's own CLUSTER KEYSLOT checks the same tags on a real cluster (test/cluster/cluster.test.ts).
describe('account shard tags', () => {
  it.each([1, 3, 48, 100, 1024])('%i shards: tag k on a slot of [k·16384/N, (k+1)·16384/N), each tag once', (n) => {
    const tags = shardTags(n);
    expect(tags).toHaveLength(n);
    expect(new Set(tags).size).toBe(n);
    tags.forEach((tag, k) => {
      const slot = keySlot(tag);
      expect(slot).toBeGreaterThanOrEqual(Math.ceil((k * SLOTS) / n));
      expect(slot).toBeLessThan(Math.ceil(((k + 1) * SLOTS) / n));
    });
  });

  it('a pure function of N, computed once, that never changes (data lives under these tags)', () => {
    expect(shardTags(48)).toBe(shardTags(48));
    expect(shardTags(48).slice(0, 4)).toStrictEqual(['s0.112', 's1.26', 's2.52', 's3.55']);
    expect(shardTags(3)).toStrictEqual(['s0.0', 's1.1', 's2.1']);
    expect(() => shardTags(0)).toThrow(RangeError);
    expect(() => shardTags(SLOTS + 1)).toThrow(RangeError);
  });

  it('3 masters with even slot ranges hold 16 of 48 shards each', () => {
    const masters = [0, 0, 0];
    for (const tag of shardTags(48)) {
      const m = Math.floor((keySlot(tag) * 3) / SLOTS);
      masters[m] = (masters[m] ?? 0) + 1;
    }
    expect(masters).toStrictEqual([16, 16, 16]);
  });
});

describe('keyLayout', () => {
  const keys = keyLayout('p:', 48);

  it("puts an account's record, locks, reservations, outbox, lockouts index and revocations due in one slot", () => {
    const shard = keys.shardOf('alice');
    const slot = keySlot(keys.user('alice'));
    for (const k of [
      keys.lockout('a:7', shard),
      keys.lockout('u:alice', shard),
      keys.reservations('a:7', shard),
      keys.outbox(shard),
      keys.lockouts(shard),
      keys.revocationsDue(shard),
      `${keys.shardPrefix(shard)}u:`,
    ])
      expect(keySlot(k)).toBe(slot);
  });

  it("puts an email's index entry and lock in the email's shard, an id's entry in the id's, a rate counter in its own slot", () => {
    const email = 'someone@example.com';
    expect(keySlot(keys.email(email))).toBe(keySlot(keys.lockout(`e:${email}`, keys.shardOf(email))));
    expect(keySlot(keys.userId(42))).toBe(keySlot(keys.outbox(keys.shardOf('42'))));
    expect(keySlot(keys.rate('10.0.0.1'))).toBe(keySlot('10.0.0.1'));
  });

  it('spreads usernames over the shards', () => {
    const counts = new Array(48).fill(0) as number[];
    for (let i = 0; i < 48_000; i++) {
      const k = keys.shardOf(`user${i}`);
      counts[k] = (counts[k] ?? 0) + 1;
    }
    expect(Math.min(...counts)).toBeGreaterThan(800);
    expect(Math.max(...counts)).toBeLessThan(1200);
  });
});
