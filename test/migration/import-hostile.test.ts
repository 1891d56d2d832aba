import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { passwordScheme } from '@tessera/passwords';
import { connectRedis, type TesseraRedis, UserRepository } from '@tessera/store';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { storeSnapshot, tessera } from '../support/cli.ts';
import { reportOf, summaryLine } from '../support/import-files.ts';
import { dropPrefix, startStack, testKeys, testPrefix } from '../support/stack.ts';

/*
 * What a broken or hostile file does to the importer: it reports, imports what it can, and never
 * holds more than a row's worth of a bad row, writes half a user, or says one thing in a dry run
 * and does another.
 */

const HASH = 'pbkdf2_sha256$260000$U9oHibZnDz9Yfuqa3vpqxk$kaT5rmGJV2sRyQ4ak3xWrdNhqRagb9BI+D7BxSmncH0=';

let redis: TesseraRedis;
let prefix: string;
let users: UserRepository;
let dir: string;

beforeAll(async () => {
  redis = await connectRedis({ url: inject('redisUrl') });
  dir = mkdtempSync(join(tmpdir(), 'tessera-import-hostile-'));
});
afterAll(async () => {
  await redis.quit();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  prefix = testPrefix();
  users = new UserRepository(redis, testKeys(prefix));
});
afterEach(async () => {
  await dropPrefix(redis, prefix);
});

function file(name: string, content: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}
const counts = (line: string) => /(\d+) created, (\d+) updated, (\d+) unchanged, (\d+) skipped, (\d+) failed/.exec(line)?.slice(1);

describe('encodings', () => {
  it('stops at a byte that is not UTF-8, naming its line and how to convert; the rows before are in', async () => {
    const latin1 = Buffer.concat([
      Buffer.from(`{"username":"one","password_hash":"${HASH}"}\n{"username":"two","password_hash":"${HASH}"}\n`),
      Buffer.from('{"username":"caf'),
      Buffer.from([0xe9]),
      Buffer.from(`","password_hash":"${HASH}"}\n{"username":"four","password_hash":"${HASH}"}\n`),
    ]);
    const report = join(dir, 'latin1.report.ndjson');
    const run = await tessera(['users', 'import', file('latin1.ndjson', latin1), '--report', report], prefix);
    expect(run.code).toBe(1);
    expect(reportOf(report)).toStrictEqual([
      {
        line: 3,
        code: 'bad_encoding',
        reason: 'the input is not UTF-8 here: convert it (iconv -f LATIN1 -t UTF-8, or from the encoding it was saved in)',
      },
    ]);
    expect(await users.get('one')).not.toBeNull();
    expect(await users.get('two')).not.toBeNull();
    expect(await users.get('four')).toBeNull();
  });

  it('names UTF-16 (a PowerShell export) for what it is; reads a UTF-8 BOM as nothing', async () => {
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(`{"username":"x","password_hash":"${HASH}"}\n`, 'utf16le')]);
    const run = await tessera(['users', 'import', file('utf16.ndjson', utf16)], prefix);
    expect(run.stderr).toBe('tessera: line 1: the input is UTF-16: convert it to UTF-8 (iconv -f UTF-16 -t UTF-8)\n');
    const bom = await tessera(['users', 'import', file('bom.ndjson', `\uFEFF{"username":"bommed","password_hash":"${HASH}"}\n`)], prefix);
    expect(bom.code).toBe(0);
    expect(await users.get('bommed')).not.toBeNull();
  });

  it('keeps multi-byte characters whole across read boundaries (a CSV of 200 KB of Cyrillic)', async () => {
    const value = (i: number) => `${'Ж'.repeat(30 + (i % 7))}-${i}`;
    const rows = Array.from({ length: 2000 }, (_, i) => `user${i},${value(i)},${HASH}`);
    const run = await tessera(['users', 'import', file('cyrillic.csv', `username,persCode,password_hash\n${rows.join('\n')}\n`)], prefix);
    expect(run.code).toBe(0);
    for (const i of [0, 1, 500, 999, 1500, 1999]) expect((await users.get(`user${i}`))?.profile.persCode).toBe(value(i));
    const all = await Promise.all(Array.from({ length: 2000 }, (_, i) => users.get(`user${i}`)));
    expect(all.filter((u, i) => u?.profile.persCode !== value(i))).toStrictEqual([]);
  });
});

describe('rows too large, and formats gone wrong', () => {
  it('a 200 KB line is refused as row_too_large; the rows around it are in', async () => {
    const lines = [
      JSON.stringify({ username: 'before', password_hash: HASH }),
      JSON.stringify({ username: 'huge', password_hash: HASH, userDetails: { blob: 'x'.repeat(200_000) } }),
      JSON.stringify({ username: 'after', password_hash: HASH }),
    ];
    const report = join(dir, 'huge.report.ndjson');
    const run = await tessera(['users', 'import', file('huge.ndjson', lines.join('\n')), '--report', report], prefix);
    expect(run.code).toBe(1);
    expect(reportOf(report)).toStrictEqual([{ line: 2, code: 'row_too_large', reason: 'the row is over 65536 characters' }]);
    expect((await users.get('before')) !== null && (await users.get('after')) !== null).toBe(true);
    expect(await users.get('huge')).toBeNull();
  });

  it('a profile field over 8 KiB of JSON is refused with its reason', async () => {
    const report = join(dir, 'profile.report.ndjson');
    const line = JSON.stringify({ username: 'fat', password_hash: HASH, userDetails: { blob: 'x'.repeat(9000) } });
    await tessera(['users', 'import', file('profile.ndjson', line), '--report', report], prefix);
    expect(reportOf(report)).toStrictEqual([
      { line: 1, username: 'fat', code: 'bad_field', reason: 'userDetails is over 8192 bytes of JSON' },
    ]);
  });

  it('Django: elements that are not objects are one problem each, in line order; an empty password is unusable', async () => {
    const dump = [
      '[',
      '12345, true,',
      `{"model": "auth.user", "pk": 1, "fields": {"username": "ok", "password": "${HASH}", "is_active": true, "email": ""}},`,
      '"text",',
      '{"model": "auth.user", "pk": 2, "fields": {"username": "blank", "password": "", "is_active": true, "email": ""}}',
      ']',
    ].join('\n');
    const report = join(dir, 'scalars.report.ndjson');
    const run = await tessera(['users', 'import', file('scalars.json', dump), '--report', report], prefix);
    expect(run.code).toBe(1);
    expect(reportOf(report)).toStrictEqual([
      { line: 2, code: 'bad_json', reason: 'not a JSON object' },
      { line: 2, code: 'bad_json', reason: 'not a JSON object' },
      { line: 4, code: 'bad_json', reason: 'not a JSON object' },
    ]);
    expect(passwordScheme((await users.get('blank'))?.passwordHash ?? '')).toBe('unusable');
    expect(await users.get('ok')).toMatchObject({ id: 1, passwordHash: HASH });
  });

  it('CSV: a header naming a column twice is refused before any row is read', async () => {
    const report = join(dir, 'dup.report.ndjson');
    const run = await tessera(
      ['users', 'import', file('dup.csv', `username,email,username\na,a@example.com,b\n`), '--report', report],
      prefix,
    );
    expect(run.code).toBe(1);
    expect(reportOf(report)).toStrictEqual([{ line: 1, code: 'bad_csv', reason: 'the header names the column "username" twice' }]);
    expect(await storeSnapshot(redis, prefix)).toStrictEqual({});
  });

  it('CSV: a quote never closed stops the read at 64 KiB, and says that the rest was not read', async () => {
    const rest = Array.from({ length: 3000 }, (_, i) => `later${i},${HASH}`).join('\n');
    const csv = `username,password_hash\nfirst,${HASH}\nbroken,"${HASH}\n${rest}\n`;
    const report = join(dir, 'unclosed.report.ndjson');
    const run = await tessera(['users', 'import', file('unclosed.csv', csv), '--report', report], prefix);
    expect(run.code).toBe(1);
    expect(await users.get('first')).not.toBeNull();
    expect(reportOf(report)).toMatchObject([
      { code: 'bad_csv', reason: 'a row over 65536 characters (a quote never closed?): the rest of the file was not read' },
    ]);
  });
});

describe('the command line refuses what would lose data, before reading anything', () => {
  it('a report that cannot be written, a report that is the input, a folder as input: one line, exit 2', async () => {
    const input = file(
      'keep.json',
      `[{"model":"auth.user","pk":1,"fields":{"username":"a","password":"${HASH}","is_active":true,"email":""}}]`,
    );
    const before = readFileSync(input, 'utf8');
    expect(await tessera(['users', 'import', input, '--report', '/nonexistent/dir/report.ndjson'], prefix)).toStrictEqual({
      code: 2,
      stdout: '',
      stderr: 'tessera: cannot write the report /nonexistent/dir/report.ndjson: ENOENT\n',
    });
    expect(await tessera(['users', 'import', input, '--report', input], prefix)).toStrictEqual({
      code: 2,
      stdout: '',
      stderr: `tessera: --report ${input} is the input file\n`,
    });
    expect(readFileSync(input, 'utf8')).toBe(before);
    expect(await tessera(['users', 'import', dir], prefix)).toStrictEqual({
      code: 2,
      stdout: '',
      stderr: `tessera: cannot read ${dir}: it is a folder\n`,
    });
    expect(await storeSnapshot(redis, prefix)).toStrictEqual({});
  });
});

describe('a dry run says what the run will do', () => {
  it('plain passwords already in place, ids and usernames met earlier in the file, refusals: the same counts', async () => {
    await tessera(['users', 'import', file('seed.ndjson', JSON.stringify({ username: 'plain', password: 'Plain-pass-1', id: 5 }))], prefix);
    const rows = [
      { username: 'plain', password: 'Plain-pass-1', id: 5 }, // already in, the same password: unchanged
      { username: 'first', id: 7, password_hash: HASH },
      { username: 'second', id: 7, password_hash: HASH }, // the id an earlier row took
      { username: 'refused', email: 'not-an-email', password_hash: HASH },
      { username: 'late', email: 'late@example.com', password_hash: 'nope' }, // refused: a bad hash
      { username: 'late', email: 'late@example.com', password_hash: HASH }, // so this one creates it
      { username: 'late', password_hash: HASH }, // and this one updates it
    ];
    const path = file('dry.ndjson', rows.map((r) => JSON.stringify(r)).join('\n'));
    const dry = await tessera(['users', 'import', path, '--on-conflict', 'update', '--dry-run'], prefix);
    const before = await storeSnapshot(redis, prefix);
    const real = await tessera(['users', 'import', path, '--on-conflict', 'update'], prefix);
    expect(counts(summaryLine(dry.stdout))).toStrictEqual(counts(summaryLine(real.stdout)));
    expect(counts(summaryLine(real.stdout))).toStrictEqual(['2', '1', '1', '0', '3']);
    expect(before).not.toStrictEqual(await storeSnapshot(redis, prefix));
  });
});

describe('a dry run follows the rows of the file that depend on each other', () => {
  const u = (username: string, extra: Record<string, unknown> = {}) => JSON.stringify({ username, password_hash: HASH, ...extra });
  const scenarios: Record<string, string[]> = {
    'the same row twice': [u('a'), u('a')],
    'a username again with another id': [u('b', { id: 5 }), u('b', { id: 6 })],
    'an id the sequence gave an earlier row': [u('c'), u('d', { id: 1 })],
    'an email an earlier row holds, by a username met before': [
      u('e', { email: 'e@example.com' }),
      u('f'),
      u('f', { email: 'E@example.com' }),
    ],
    'emails that differ in case': [u('g', { email: 'G@example.com' }), u('h', { email: 'g@EXAMPLE.com' })],
  };
  for (const [name, rows] of Object.entries(scenarios)) {
    for (const mode of ['skip', 'update', 'fail']) {
      it(`${name}, --on-conflict ${mode}`, async () => {
        const path = file(`combo-${mode}.ndjson`, rows.join('\n'));
        const dry = await tessera(['users', 'import', path, '--on-conflict', mode, '--dry-run'], prefix);
        expect(await storeSnapshot(redis, prefix)).toStrictEqual({});
        const real = await tessera(['users', 'import', path, '--on-conflict', mode], prefix);
        expect(counts(summaryLine(dry.stdout))).toStrictEqual(counts(summaryLine(real.stdout)));
      });
    }
  }
});

describe('an update that changes a password or disables a user logs them out', () => {
  it('as users passwd and users disable do: their tokens stop working', async () => {
    await using stack = await startStack();
    const login = async () =>
      (
        (await (
          await stack.post('/getUserToken', JSON.stringify({ username: 'MOH-90008', password: 'Moh@-90008' }), {
            'content-type': 'application/json',
          })
        ).json()) as { result: { access_token: string } }
      ).result.access_token;
    const token = await login();
    expect((await stack.tokens.lookup(token)).state).toBe('live');
    // the same password hash, a new profile field: the token lives on
    const same = (await stack.users.get('MOH-90008'))?.passwordHash as string;
    const row = (extra: Record<string, unknown>) =>
      file('moh.ndjson', JSON.stringify({ username: 'MOH-90008', password_hash: same, persCode: '-90008', ...extra }));
    expect((await tessera(['users', 'import', row({ civilId: '285' }), '--on-conflict', 'update'], stack.settings.redisPrefix)).code).toBe(
      0,
    );
    expect((await stack.tokens.lookup(token)).state).toBe('live');
    expect((await tessera(['users', 'import', row({ disabled: true }), '--on-conflict', 'update'], stack.settings.redisPrefix)).code).toBe(
      0,
    );
    expect((await stack.tokens.lookup(token)).state).not.toBe('live');
    // a run killed between an update and its revocation: the next run revokes first
    await stack.users.setDisabled('MOH-90008', false);
    const token2 = await login();
    const user = await stack.users.get('MOH-90008');
    await stack.redis.hset(
      testKeys(stack.settings.redisPrefix).revocationsDue(testKeys(stack.settings.redisPrefix).shardOf('MOH-90008')),
      String(user?.id),
      'password_changed',
    );
    const unrelated = file('other.ndjson', JSON.stringify({ username: 'someone.else', password_hash: same }));
    expect((await tessera(['users', 'import', unrelated], stack.settings.redisPrefix)).code).toBe(0);
    expect((await stack.tokens.lookup(token2)).state).not.toBe('live');
    expect(await stack.users.revocationsDue()).toStrictEqual([]);
  });
});
