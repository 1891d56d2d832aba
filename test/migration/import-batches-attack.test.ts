import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectRedis, type KeyLayout, type TesseraRedis, UserRepository } from '@tessera/store';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { LEGACY_HASHES, tessera } from '../support/cli.ts';
import { ndjson, type Row, reportOf, slowFirstBatch as slowFirstBatchOf, summaryLine, userRows } from '../support/import-files.ts';
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
let dir: string;

beforeAll(async () => {
  redis = await connectRedis({ url: inject('redisUrl') });
  dir = mkdtempSync(join(tmpdir(), 'tessera-import-attack-'));
});
afterAll(async () => {
  await redis.quit();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  prefix = testPrefix();
  keys = testKeys(prefix);
  users = new UserRepository(redis, keys, 1);
});
afterEach(async () => {
  await dropPrefix(redis, prefix);
});

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}
/** n rows user0..user<n-1>, each with its own email. */
const rows = (n: number): Row[] => userRows(n, A);
const slowFirstBatch = () => slowFirstBatchOf(users, redis, keys);

describe('users without an email', () => {
  it('share nothing by it: a batch of them goes in one turn, and two such batches may be written at once', async () => {
    const noEmail = (from: number) => Array.from({ length: 5 }, (_, i) => ({ username: `plain${from + i}`, passwordHash: A }));
    const first = await users.prepare(noEmail(0), { mode: 'create' });
    const second = await users.prepare(noEmail(5), { mode: 'create' });
    expect(first.turns.length).toBe(1);
    expect(second.taken.meets(first.taken)).toBe(false);
    // an update that removes an email still takes the one its account holds (it frees it)
    await users.putMany([{ username: 'mover', email: 'old@example.com', passwordHash: A }], { mode: 'create' });
    const removes = await users.prepare([{ username: 'mover', passwordHash: A }], { mode: 'update' });
    const takes = await users.prepare([{ username: 'newbie', email: 'old@example.com', passwordHash: A }], { mode: 'create' });
    expect(takes.taken.meets(removes.taken)).toBe(true);
    expect(removes.taken.meets(first.taken)).toBe(false);
  });
});

describe('an account found again (its index entries repaired) in one batch, its id given in the next', () => {
  it('the id is the account’s for the later row, as one by one', async () => {
    await slowFirstBatch();
    await users.putMany([{ id: 90001, username: 'crashed', email: 'crashed@example.com', passwordHash: A }], { mode: 'create' });
    // a run killed between the account's step and its settle step: its id's claim has expired
    await redis.del(keys.userId(90001));
    const r = rows(3000);
    r[3] = { username: 'first', email: 'shared@example.com', password_hash: A };
    // found again (skipped, its entries repaired) in the first batch's second turn, after the slow part
    r[4] = { username: 'crashed', email: 'shared@example.com', password_hash: A };
    r[2999] = { username: 'late', id: 90001, email: 'late@example.com', password_hash: A };
    const report = join(dir, 'repair.report.ndjson');
    const run = await tessera(['users', 'import', file('repair.ndjson', ndjson(r)), '--report', report], prefix);
    expect(summaryLine(run.stdout)).toMatch(/^imported 3000 rows: 2998 created, 0 updated, 0 unchanged, 1 skipped, 1 failed/);
    expect(reportOf(report).map((e) => [e.line, e.code])).toStrictEqual([[3000, 'id_taken']]);
    expect(await users.get('late')).toBeNull();
    expect(await redis.get(keys.userId(90001))).toBe('crashed');
  });
});

describe('unknown columns', () => {
  it('are named once, the first 20 of them, however many names the file holds (memory bounded)', async () => {
    const r = Array.from({ length: 3000 }, (_, i) => ({ username: `user${i}`, password_hash: A, [`extra${i}`]: 1 }));
    const run = await tessera(['users', 'import', file('extra.ndjson', ndjson(r))], prefix);
    expect(summaryLine(run.stdout)).toMatch(/^imported 3000 rows: 3000 created/);
    expect(run.stderr).toMatch(/^tessera: ignored unknown columns: (extra\d{1,2}, ){19}extra\d{1,2} and more\n$/);
  });
});

describe('an account an update finds, whose index entries a killed run left to expire', () => {
  it('has them again: a later row giving its id is id_taken', async () => {
    await users.putMany([{ id: 90001, username: 'crashed', email: 'crashed@example.com', passwordHash: A }], { mode: 'create' });
    await redis.del(keys.userId(90001));
    const r: Row[] = [
      { username: 'crashed', email: 'moved@example.com', password_hash: A },
      { username: 'late', id: 90001, email: 'late@example.com', password_hash: A },
    ];
    const report = join(dir, 'update-repair.report.ndjson');
    const run = await tessera(
      ['users', 'import', file('update-repair.ndjson', ndjson(r)), '--on-conflict', 'update', '--report', report],
      prefix,
    );
    expect(summaryLine(run.stdout)).toMatch(/^imported 2 rows: 0 created, 1 updated, 0 unchanged, 0 skipped, 1 failed/);
    expect(reportOf(report).map((e) => [e.line, e.code])).toStrictEqual([[2, 'id_taken']]);
    expect(await redis.get(keys.userId(90001))).toBe('crashed');
  });
});
