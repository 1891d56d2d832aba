import { connectRedis, type KeyLayout, type TesseraRedis, UserRepository } from '@tessera/store';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { LEGACY_HASHES } from '../support/cli.ts';
import { dropPrefix, testKeys, testPrefix } from '../support/stack.ts';

/*
 * Cases the overlap of import batches (import-batches.test.ts) must hold too: the outcome that of
 * the rows written one by one, and batches that share nothing written at once. The slow first
 * batch is import-batches.test.ts's: the id sequence put behind 2,000 ids that accounts hold.
 */

const [A] = LEGACY_HASHES.map((l) => l.hash) as [string];
let redis: TesseraRedis;
let prefix: string;
let keys: KeyLayout;
let users: UserRepository;

beforeAll(async () => {
  redis = await connectRedis({ url: inject('redisUrl') });
});
afterAll(async () => {
  await redis.quit();
});
beforeEach(() => {
  prefix = testPrefix();
  keys = testKeys(prefix);
  users = new UserRepository(redis, keys, 1);
});
afterEach(async () => {
  await dropPrefix(redis, prefix);
});

describe('users without an email', () => {
  it('share nothing by it: a batch of them goes in one turn, and two such batches may be written at once', async () => {
    const noEmail = (from: number) => Array.from({ length: 5 }, (_, i) => ({ username: `plain${from + i}`, passwordHash: A }));
    const first = await users.prepare(noEmail(0), { mode: 'create' });
    const second = await users.prepare(noEmail(5), { mode: 'create' });
    expect(first.turns.length).toBe(1);
    expect(second.taken.meets(first.taken)).toBe(false);
  });
});
