import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { type CliContext, importCommand, openContext } from '@tessera/cli';
import { connectRedis, type KeyLayout, type TesseraRedis, UserRepository } from '@tessera/store';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { LEGACY_HASHES, outcome, startTessera, tessera } from '../support/cli.ts';
import { ndjson, type Row, reportOf, slowFirstBatch as slowFirstBatchOf, summaryLine, userRows } from '../support/import-files.ts';
import { dropPrefix, outboxEvents, testKeys, testPrefix } from '../support/stack.ts';

/*
 * The importer writes a batch (2,400 rows) while the one before is still being written, where the
 * two cannot meet (BatchWriter, packages/cli/src/import/write.ts). Whatever the overlap, the
 * outcome must be that of the rows written one by one, and a failure must end the run cleanly.
 * Most tests here make the first batch slow: the id sequence is put behind 2,000 ids that accounts
 * hold, so its rows 0..1999 take the next free id one round trip at a time, and write their
 * accounts last, long after the next batch has been read.
 */

const [A, B] = LEGACY_HASHES.map((l) => l.hash) as [string, string];
let redis: TesseraRedis;
let prefix: string;
let keys: KeyLayout;
let users: UserRepository;
let dir: string;

beforeAll(async () => {
  redis = await connectRedis({ url: inject('redisUrl') });
  dir = mkdtempSync(join(tmpdir(), 'tessera-import-batches-'));
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
/** Makes an email's index entry a list: a claim of it fails (WRONGTYPE), so its batch's write does. */
const trap = (email: string) => redis.rpush(keys.email(email), 'not an entry');

describe('batches written while the one before is still written', () => {
  it('a row that shares a username or an email with the batch before waits for it, as if written one by one', async () => {
    await slowFirstBatch();
    const r = rows(3000);
    r[2500] = { username: 'user10', email: 'again@example.com', password_hash: A }; // row 10's username
    r[2600] = { username: 'user2600', email: 'user20@example.com', password_hash: A }; // row 20's email
    const report = join(dir, 'across.report.ndjson');
    const run = await tessera(['users', 'import', file('across.ndjson', ndjson(r)), '--report', report], prefix);
    expect(summaryLine(run.stdout)).toMatch(/^imported 3000 rows: 2998 created, 0 updated, 0 unchanged, 1 skipped, 1 failed/);
    expect(reportOf(report).map((e) => [e.line, e.code])).toStrictEqual([[2601, 'email_taken']]);
    // one by one, row 2500 finds user10 written and takes no id; the others each take one (row
    // 2600's goes unused), and rows 0..1999 one more each, past the held ids: 2,000 + 2,999
    expect(await redis.get(keys.userSeq)).toBe('4999');
    expect((await users.get('user10'))?.email).toBe('user10@example.com');
    expect((await users.find({ by: 'email', value: 'user20@example.com' }))?.username).toBe('user20');
  });

  it('an email an update frees is free for the rows after it, not for the rows before it', async () => {
    await slowFirstBatch();
    await users.putMany(
      [
        { id: 90001, username: 'mover', email: 'old@example.com', passwordHash: A },
        { id: 90002, username: 'holder', email: 'kept@example.com', passwordHash: A },
      ],
      { mode: 'create' },
    );
    const r = rows(3000);
    r[5] = { username: 'mover', email: 'new@example.com', password_hash: A }; // frees old@ in the first batch...
    r[2500] = { username: 'newbie', email: 'old@example.com', password_hash: A }; // ...for a row of the second
    r[6] = { username: 'newcomer', email: 'kept@example.com', password_hash: A }; // still holder's here...
    r[2550] = { username: 'holder', email: 'moved@example.com', password_hash: A }; // ...freed only later
    const report = join(dir, 'freed.report.ndjson');
    const run = await tessera(['users', 'import', file('freed.ndjson', ndjson(r)), '--on-conflict', 'update', '--report', report], prefix);
    expect(summaryLine(run.stdout)).toMatch(/^imported 3000 rows: 2997 created, 2 updated, 0 unchanged, 0 skipped, 1 failed/);
    expect(reportOf(report).map((e) => [e.line, e.code])).toStrictEqual([[7, 'email_taken']]);
    expect((await users.find({ by: 'email', value: 'old@example.com' }))?.username).toBe('newbie');
    expect((await users.find({ by: 'email', value: 'moved@example.com' }))?.username).toBe('holder');
    expect(await users.get('newcomer')).toBeNull();
  });

  it('in one batch too: an update frees its email for a later row, and the same plain password twice is hashed once', async () => {
    await users.putMany([{ id: 90001, username: 'mover', email: 'old@example.com', passwordHash: A }], { mode: 'create' });
    const r: Row[] = [
      { username: 'mover', email: 'new@example.com', password_hash: A },
      { username: 'newbie', email: 'old@example.com', password_hash: A },
      { username: 'mover', email: 'new@example.com', password: 'the same twice' },
      { username: 'mover', email: 'new@example.com', password: 'the same twice' },
    ];
    const run = await tessera(['users', 'import', file('one.ndjson', ndjson(r)), '--on-conflict', 'update'], prefix);
    expect(run.stderr).toBe('');
    expect(summaryLine(run.stdout)).toMatch(/^imported 4 rows: 1 created, 2 updated, 1 unchanged, 0 skipped, 0 failed/);
    expect((await users.find({ by: 'email', value: 'old@example.com' }))?.username).toBe('newbie');
  });

  it("an update import revokes each user's tokens once, however its batches overlap", async () => {
    const n = 3000;
    await users.putMany(
      Array.from({ length: n }, (_, i) => ({ username: `user${i}`, email: `user${i}@example.com`, passwordHash: A })),
      { mode: 'create' },
    );
    await dropOutbox();
    const r = rows(n).map((row) => ({ ...row, password_hash: B }));
    const run = await tessera(['users', 'import', file('update.ndjson', ndjson(r)), '--on-conflict', 'update'], prefix);
    expect(summaryLine(run.stdout)).toMatch(/^imported 3000 rows: 0 created, 3000 updated/);
    const revoked = (await outboxEvents(redis, prefix)).filter((e) => e.type === 'token.revoked').map((e) => e.userId);
    expect(revoked.length).toBe(n);
    expect(new Set(revoked).size).toBe(n);
  });
});

/** Empties the outboxes (the events of a test's setup). */
async function dropOutbox(): Promise<void> {
  await Promise.all(keys.outboxes.map((o) => redis.del(o)));
}

describe('a batch that fails', () => {
  it('ends the run with one line and exit 1, once the batch before it is written whole', async () => {
    await slowFirstBatch();
    await trap('trap@example.com');
    const r = rows(3000);
    r[2500] = { username: 'trapped', email: 'trap@example.com', password_hash: A };
    const run = await tessera(['users', 'import', file('fails.ndjson', ndjson(r))], prefix);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^tessera: .*WRONGTYPE.*\n$/);
    for (let i = 0; i < 2400; i++) expect(await users.get(`user${i}`), `user${i}`).not.toBeNull();
  });

  it('is the last: a batch waiting on it is not written', async () => {
    await slowFirstBatch();
    await trap('trap@example.com');
    const r = rows(3000);
    r[100] = { username: 'trapped', email: 'trap@example.com', password_hash: A }; // fails after the slow part
    r[2401] = { username: 'user10', email: 'user10@example.com', password_hash: A }; // so the second batch waits
    const run = await tessera(['users', 'import', file('last.ndjson', ndjson(r))], prefix);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^tessera: .*WRONGTYPE.*\n$/);
    for (const i of [2400, 2402, 2999]) expect(await users.get(`user${i}`), `user${i}`).toBeNull();
  });

  it('a report that cannot be written ends the run as soon as it fails, with one line', async () => {
    // 20,000 bad rows to report, then 50,000 good rows the run must not get to
    const bad = Array.from({ length: 20_000 }, () => 'not json');
    const path = file('full.ndjson', ndjson([...bad, ...userRows(50_000, A)]));
    const run = await tessera(['users', 'import', path, '--report', '/dev/full'], prefix);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^tessera: .*ENOSPC.*\n$/);
    expect(await users.get('user49999')).toBeNull();
  });

  it('ends a run reading a pipe that stays open', async () => {
    await trap('trap@example.com');
    const r = rows(2400);
    r[7] = { username: 'trapped', email: 'trap@example.com', password_hash: A };
    const child = startTessera(['users', 'import', '-'], prefix);
    const done = outcome(child, 20_000);
    // a full batch, then nothing more: the pipe is not closed
    child.stdin.write(`${ndjson(r)}\n${ndjson(rows(10).map((row, i) => ({ ...row, username: `later${i}` })))}\n`);
    const run = await done;
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^tessera: .*WRONGTYPE.*\n$/);
  });
});

describe('reading', () => {
  it('waits while a batch is written: behind it, at most two more batches are read, bad rows only or not', async () => {
    let c: CliContext | undefined;
    let stalled = false;
    let readWhileStalled = 0;
    async function* input() {
      for (let i = 0; i < 2400; i++) yield `${JSON.stringify({ username: `user${i}`, password_hash: A })}\n`;
      // the first batch is full: its writes' connection now waits 3 s behind a BLPOP
      stalled = true;
      void c?.redis.blpop(`${prefix}stall`, 3).finally(() => {
        stalled = false;
      });
      for (let i = 0; i < 100_000; i++) {
        if (stalled) readWhileStalled++;
        yield 'not json\n';
      }
    }
    const stdout = new PassThrough();
    let out = '';
    stdout.on('data', (d: Buffer) => {
      out += d.toString('utf8');
    });
    const stderr = new PassThrough().resume();
    const summary = await importCommand(
      ['-'],
      async () => {
        c = await openContext({ REDIS_URL: inject('redisUrl'), TESSERA_REDIS_PREFIX: prefix });
        return c;
      },
      { stdin: Readable.from(input()), stdout, stderr },
    );
    expect(summary).toMatchObject({ rows: 102_400, created: 2400, failed: 100_000 });
    expect(summaryLine(out)).toMatch(/^imported 102400 rows: 2400 created/);
    // two batches of 2,400 and what the streams hold ahead of the parser
    expect(readWhileStalled).toBeGreaterThan(0);
    expect(readWhileStalled).toBeLessThan(12_000);
  });
});

// Cases found by an attack on the overlap: the outcome still that of the rows one by one.

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
