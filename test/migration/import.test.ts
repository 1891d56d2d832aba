import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PasswordHasher, passwordScheme } from '@tessera/passwords';
import { connectRedis, type TesseraRedis, UserRepository } from '@tessera/store';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { BIN, FIXTURES, LEGACY_HASHES as LEGACY, outcome, startTessera, storeSnapshot, tessera } from '../support/cli.ts';
import { ndjson, reportOf, summaryLine } from '../support/import-files.ts';
import { dropPrefix, keysMatching, outboxEvents, testKeys, testPrefix } from '../support/stack.ts';

type LegacyFixture = (typeof LEGACY)[number];
const DJANGO_PASSWORDS = (
  JSON.parse(readFileSync(join(FIXTURES, 'django-dumpdata.passwords.json'), 'utf8')) as { users: Record<string, string | null> }
).users;

let redis: TesseraRedis;
let prefix: string;
let users: UserRepository;
let dir: string;
const prefixes: string[] = [];

beforeAll(async () => {
  redis = await connectRedis({ url: inject('redisUrl') });
  dir = mkdtempSync(join(tmpdir(), 'tessera-import-'));
});
afterAll(async () => {
  await redis.quit();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  prefix = testPrefix();
  prefixes.push(prefix);
  users = new UserRepository(redis, testKeys(prefix));
});
afterEach(async () => {
  for (const p of prefixes.splice(0)) await dropPrefix(redis, p);
});

/** Writes a file into the test folder and gives its path. */
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}
const h = () => (LEGACY[0] as LegacyFixture).hash;
/** n users of one legacy hash, user0..user<n-1>. */
const rows = (n: number, extra: (i: number) => Record<string, unknown> = () => ({})) =>
  ndjson(Array.from({ length: n }, (_, i) => ({ username: `user${i}`, email: `user${i}@example.com`, password_hash: h(), ...extra(i) })));

describe('tessera users import --format ndjson', () => {
  it('imports every legacy hash format, plain passwords, profiles, scopes, kept ids and pending users', async () => {
    const legacy = LEGACY.filter((f) => f.password !== null).filter((f, i, all) => all.findIndex((g) => g.scheme === f.scheme) === i);
    const rows = [
      ...legacy.map((f, i) => ({ username: `legacy${i}`, email: `Legacy${i}@Example.com`, password_hash: f.hash })),
      {
        username: 'MOH-90008',
        id: 9000,
        password: 'Moh@-90008',
        scopes: ['read', 'admin'],
        disabled: false,
        persCode: '-90008',
        civilId: 285010112345,
        userIntitutes: [{ id: 7 }],
        userDetails: { dept: 'ICU' },
      },
      { username: 'waiting', pendingUpstream: true, scopes: 'read write' },
      { username: 'off', password_hash: (LEGACY[0] as LegacyFixture).hash, disabled: true },
    ];
    const path = file('users.ndjson', ndjson(rows));
    const run = await tessera(['users', 'import', path], prefix);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(summaryLine(run.stdout)).toMatch(
      new RegExp(`^imported ${rows.length} rows: ${rows.length} created, 0 updated, 0 unchanged, 0 skipped, 0 failed; `),
    );
    for (const [i, f] of legacy.entries()) {
      const u = await users.get(`legacy${i}`);
      expect(u?.passwordHash).toBe(f.hash);
      expect(u?.email).toBe(`legacy${i}@example.com`);
      expect(passwordScheme(u?.passwordHash ?? '')).toBe(f.scheme);
    }
    const moh = await users.get('MOH-90008');
    expect(moh).toMatchObject({
      id: 9000,
      scopes: ['read', 'admin'],
      disabled: false,
      profile: { persCode: '-90008', civilId: '285010112345', userIntitutes: [{ id: 7 }], userDetails: { dept: 'ICU' }, userMobile: null },
    });
    expect(passwordScheme(moh?.passwordHash ?? '')).toBe('argon2id');
    expect(await new PasswordHasher().verify(moh?.passwordHash ?? null, 'Moh@-90008')).toBe(true);
    // Rows without an id take the next ones, after the kept 9000.
    expect(await users.get('waiting')).toMatchObject({ id: 9001, pendingUpstream: true, passwordHash: '!', scopes: ['read', 'write'] });
    expect((await users.get('off'))?.disabled).toBe(true);
    // Ids Tessera gives later (another process: its own block of the sequence) never collide with kept ones.
    const later = await users.create({ username: 'later', passwordHash: 'h' });
    expect(later.id).toBeGreaterThan(9002);
    // The users and the events that record them, committed together: one event per account shard
    // a script call of the import touched, with its count.
    const events = await outboxEvents(redis, prefix);
    expect(events.every((e) => e.type === 'user.changed' && e.dialect === 'cli' && e.reason === 'import' && e.outcome === 'created')).toBe(
      true,
    );
    expect(events.reduce((sum, e) => sum + (e.count as number), 0)).toBe(rows.length);
  });

  it('reports every bad row with its line, code and reason; imports the good ones; exits 1', async () => {
    await users.create({ username: 'owner', email: 'taken@example.com', passwordHash: 'h', id: 77 });
    const h = (LEGACY[0] as LegacyFixture).hash;
    const lines = [
      { username: 'good1', password_hash: h }, // 1
      { email: 'nobody@example.com', password_hash: h }, // 2 missing username
      { username: 'bad name', password_hash: h }, // 3 bad username
      { username: 'bademail', email: 'someone@example', password_hash: h }, // 4 bad email
      '{"username": "broken", ', // 5 bad JSON
      '', // 6 blank: skipped
      { username: 'scrypt', password_hash: 'scrypt$16384$8$1$salt$hash' }, // 7 unknown hash format
      { username: 'nopass' }, // 8 missing password
      { username: 'dup1', email: 'dup@example.com', password_hash: h }, // 9
      { username: 'dup2', email: 'DUP@example.com', password_hash: h }, // 10 duplicate email in the file
      { username: 'storedup', email: 'taken@example.com', password_hash: h }, // 11 duplicate email in the store
      { username: 'idtaken', id: 77, password_hash: h }, // 12 id taken
      { username: 'badid', id: -3, password_hash: h }, // 13 bad id
      { username: 'badscopes', scopes: [1, 2], password_hash: h }, // 14 bad field
      '[1, 2]', // 15 not an object
      { username: 'both', password: 'x', password_hash: h }, // 16 both passwords
      { username: 'good2', password_hash: h }, // 17
    ];
    const path = file('bad.ndjson', ndjson(lines));
    const report = join(dir, 'bad.report.ndjson');
    const run = await tessera(['users', 'import', path, '--report', report], prefix);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe('');
    expect(summaryLine(run.stdout)).toMatch(
      new RegExp(
        `^imported 16 rows: 3 created, 0 updated, 0 unchanged, 0 skipped, 13 failed \\(reasons in ${report.replaceAll('.', '\\.')}\\); `,
      ),
    );
    // in the file's order, whether the row was refused when read or when written
    expect(reportOf(report)).toStrictEqual([
      { line: 2, code: 'missing_username', reason: 'no username' },
      { line: 3, username: 'bad name', code: 'bad_username', reason: 'username "bad name": 1-150 letters, digits or @.+-_' },
      { line: 4, username: 'bademail', code: 'bad_email', reason: 'email "someone@example" is not an email' },
      { line: 5, code: 'bad_json', reason: expect.stringMatching(/^not JSON: /) },
      { line: 7, username: 'scrypt', code: 'bad_hash', reason: 'unknown password hash format "scrypt$"' },
      { line: 8, username: 'nopass', code: 'missing_password', reason: 'no password_hash, password or pendingUpstream' },
      { line: 10, username: 'dup2', code: 'email_taken', reason: "email DUP@example.com is already another user's" },
      { line: 11, username: 'storedup', code: 'email_taken', reason: "email taken@example.com is already another user's" },
      { line: 12, username: 'idtaken', code: 'id_taken', reason: "id 77 is already another user's" },
      { line: 13, username: 'badid', code: 'bad_id', reason: 'id -3 is not a whole number from 1 to 99999999999999' },
      {
        line: 14,
        username: 'badscopes',
        code: 'bad_field',
        reason: 'scopes must be a list of strings, or one string of space-separated scopes',
      },
      { line: 15, code: 'bad_json', reason: 'not a JSON object' },
      { line: 16, username: 'both', code: 'bad_field', reason: 'give password_hash or password, not both' },
    ]);
    for (const name of ['good1', 'dup1', 'good2']) expect(await users.get(name)).not.toBeNull();
    for (const name of ['dup2', 'storedup', 'idtaken', 'scrypt', 'both', 'badid']) expect(await users.get(name)).toBeNull();
    // Without --report the same reasons go to stderr, one line each.
    const again = await tessera(['users', 'import', path], testPrefix());
    expect(again.code).toBe(1);
    expect(again.stderr.split('\n')).toContain('tessera: line 7 (scrypt): unknown password hash format "scrypt$"');
    expect(again.stderr.split('\n')).toContain('tessera: line 2: no username');
  });

  it('names columns it does not know once, and imports the row', async () => {
    const path = file('extra.ndjson', ndjson([{ username: 'a', password: 'pw-a', favouriteColour: 'blue', shoe: 42 }]));
    const run = await tessera(['users', 'import', path], prefix);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('tessera: ignored unknown columns: favouriteColour, shoe\n');
  });
});

describe('tessera users import --format csv', () => {
  it('reads a header, quoted values over several lines, JSON cells and a BOM; reports broken rows and goes on', async () => {
    const h = (LEGACY.find((f) => f.scheme === 'bcrypt') as LegacyFixture).hash;
    const csv = [
      '\uFEFFusername,email,password_hash,disabled,scopes,persCode,userDetails,id',
      `alice,alice@example.com,${h},false,read write,P1,"{""dept"": ""ICU"",`,
      ` ""note"": ""two lines""}",5`,
      `bob,,${h},1,,,,`,
      `broken,"bad"quote,${h},0,,,,`,
      `carol,carol@example.com,${h},no,,,,,extra`,
      `dave,dave@example.com,${h},,,,,`,
      '',
    ].join('\n');
    const path = file('users.csv', csv);
    const report = join(dir, 'csv.report.ndjson');
    const run = await tessera(['users', 'import', path, '--report', report], prefix);
    expect(run.code).toBe(1);
    expect(await users.get('alice')).toMatchObject({
      id: 5,
      email: 'alice@example.com',
      passwordHash: h,
      disabled: false,
      scopes: ['read', 'write'],
      profile: { persCode: 'P1', userDetails: { dept: 'ICU', note: 'two lines' } },
    });
    expect(await users.get('bob')).toMatchObject({ email: null, disabled: true, scopes: ['', 'read', 'write'] });
    expect(await users.get('dave')).toMatchObject({ email: 'dave@example.com' });
    const entries = reportOf(report);
    expect(entries).toStrictEqual([
      { line: 5, username: 'broken', code: 'bad_email', reason: `email ${JSON.stringify('"bad"quote')} is not an email` },
      { line: 6, code: 'bad_csv', reason: 'Invalid Record Length: columns length is 8, got 9 on line 6' },
    ]);
    expect(await users.get('broken')).toBeNull();
    expect(await users.get('carol')).toBeNull();
  });
});

describe('tessera users import --format csv, line ends and quotes', () => {
  it('reads CRLF files; a quote never closed takes the rest of the file, and says so', async () => {
    const path = file('crlf.csv', ['username,password_hash', `a,${h()}`, `b,"${h()}`, `c,${h()}`, ''].join('\r\n'));
    const report = join(dir, 'crlf.report.ndjson');
    const run = await tessera(['users', 'import', path, '--format', 'csv', '--report', report], prefix);
    expect(run.code).toBe(1);
    expect(await users.get('a')).toMatchObject({ passwordHash: h() });
    expect(reportOf(report)).toMatchObject([{ code: 'bad_csv', reason: expect.stringMatching(/^Quote Not Closed: /) }]);
    expect(await users.get('c')).toBeNull();
  });
});

describe('tessera users import --format django', () => {
  for (const dump of ['django-dumpdata.json', 'django-dumpdata-indent2.json']) {
    it(`imports ${dump} as manage.py dumpdata auth.user printed it, and each user logs in with their password`, async () => {
      // as Django prints it: the default dump is one line (no formatter may have touched the fixture)
      expect(readFileSync(join(FIXTURES, dump), 'utf8').includes('\n')).toBe(dump.includes('indent2'));
      const run = await tessera(['users', 'import', join(FIXTURES, dump)], prefix);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(summaryLine(run.stdout)).toMatch(/^imported 13 rows: 13 created, /);
      const dumped = JSON.parse(readFileSync(join(FIXTURES, dump), 'utf8')) as {
        pk: number;
        fields: { username: string; email: string; password: string; is_active: boolean; last_login: string | null };
      }[];
      const hasher = new PasswordHasher();
      for (const d of dumped) {
        const u = await users.get(d.fields.username);
        expect(u).toMatchObject({
          id: d.pk,
          username: d.fields.username,
          email: d.fields.email === '' ? null : d.fields.email.toLowerCase(),
          passwordHash: d.fields.password,
          disabled: !d.fields.is_active,
        });
        // Django's last_login (UTC, to the millisecond in a dump), or none for a user who never logged in
        expect(u?.lastLogin, d.fields.username).toBe(d.fields.last_login === null ? undefined : Date.parse(d.fields.last_login));
        const password = DJANGO_PASSWORDS[d.fields.username];
        if (password === null || password === undefined) expect(passwordScheme(u?.passwordHash ?? '')).toBe('unusable');
        else expect(await hasher.verify(u?.passwordHash ?? null, password)).toBe(true);
      }
      expect((await users.get('judy'))?.disabled).toBe(true);
      expect(dumped.some((d) => d.fields.last_login !== null)).toBe(true);
      expect((await users.create({ username: 'after', passwordHash: 'h' })).id).toBe(Math.max(...dumped.map((d) => d.pk)) + 1);
    });
  }

  it('reports records that are not users, a broken element and a truncated end, importing every whole user', async () => {
    const dump = JSON.parse(readFileSync(join(FIXTURES, 'django-dumpdata.json'), 'utf8')) as unknown[];
    const text = [
      '[',
      JSON.stringify(dump[0]),
      ',{"model": "auth.group", "pk": 1, "fields": {"name": "staff", "permissions": []}}',
      ',{"model": "auth.user", "pk": 99, "fields": {"username": "x", "password": "scrypt$1$2"}}',
      ',{"model": "auth.user", "pk": 100, "fields": {"username": "y", "password": "!x" , }}',
      `,${JSON.stringify(dump[1])}`,
      `,${JSON.stringify(dump[2]).slice(0, 40)}`,
    ].join('\n');
    const path = file('broken.json', text);
    const report = join(dir, 'django.report.ndjson');
    const run = await tessera(['users', 'import', path, '--report', report], prefix);
    expect(run.code).toBe(1);
    expect(reportOf(report)).toStrictEqual([
      { line: 3, code: 'not_a_user', reason: 'not a user record (model "auth.group" without fields.username and fields.password)' },
      { line: 4, username: 'x', code: 'bad_hash', reason: 'unknown password hash format "scrypt$"' },
      { line: 5, code: 'bad_json', reason: expect.stringMatching(/^not JSON: /) },
      { line: 7, code: 'bad_json', reason: 'truncated: the input ends inside this element' },
    ]);
    expect(await users.get('alice')).not.toBeNull();
    expect(await users.get('bob')).not.toBeNull();
    expect(await users.get('carol')).toBeNull();
  });
});

describe('last_login', () => {
  it('is read as ISO 8601 (UTC without an offset); an update keeps a later one Tessera recorded, and an import twice changes nothing', async () => {
    const recorded = Date.parse('2026-03-01T10:00:00.000Z');
    await users.create({ username: 'u1', passwordHash: h(), lastLogin: recorded });
    const earlier = { username: 'u1', password_hash: h(), last_login: '2026-02-01T10:00:00.000Z' };
    const rest = [
      { username: 'u2', password_hash: h(), last_login: '2026-01-02T03:04:05.678+02:00' },
      { username: 'u3', password_hash: h(), last_login: '2026-01-02 03:04:05' },
      { username: 'u4', password_hash: h(), last_login: null },
      { username: 'u5', password_hash: h(), last_login: 'yesterday' },
    ];
    const report = join(dir, 'last-login.report.ndjson');
    const run = await tessera(
      ['users', 'import', file('last-login.ndjson', ndjson([earlier, ...rest])), '--on-conflict', 'update', '--report', report],
      prefix,
    );
    expect(run.code).toBe(1);
    expect(reportOf(report)).toStrictEqual([
      { line: 5, username: 'u5', code: 'bad_field', reason: 'last_login "yesterday" is not an ISO 8601 date and time' },
    ]);
    expect((await users.get('u1'))?.lastLogin).toBe(recorded);
    expect((await users.get('u2'))?.lastLogin).toBe(Date.parse('2026-01-02T01:04:05.678Z'));
    expect((await users.get('u3'))?.lastLogin).toBe(Date.parse('2026-01-02T03:04:05Z'));
    expect((await users.get('u4'))?.lastLogin).toBeUndefined();
    // the same rows again: nothing changes (u1's own record is newer than the row's)
    const again = await tessera(
      ['users', 'import', file('last-login-2.ndjson', ndjson([earlier, ...rest.slice(0, 3)])), '--on-conflict', 'update'],
      prefix,
    );
    expect(summaryLine(again.stdout)).toMatch(/^imported 4 rows: 0 created, 0 updated, 4 unchanged, /);
    // a later one replaces it; a row without one keeps it
    const later = { ...earlier, last_login: '2026-04-01T10:00:00Z' };
    await tessera(
      ['users', 'import', file('last-login-3.ndjson', ndjson([later, { username: 'u2', password_hash: h() }])), '--on-conflict', 'update'],
      prefix,
    );
    expect((await users.get('u1'))?.lastLogin).toBe(Date.parse(later.last_login));
    expect((await users.get('u2'))?.lastLogin).toBe(Date.parse('2026-01-02T01:04:05.678Z'));
  });
});

/**
 * A store snapshot with the ids the sequence gave made comparable: the sequence left out, each
 * `id:<n>` entry named by its user, and each record's id checked to be its entry's and then left out.
 * A user may be named by two entries: its own, and a claim a killed run left for an id its account
 * never got (pending until it expires; the store believes an entry only when the record holds the
 * id, users.ts): the record's id is checked against all of them.
 */
function withoutSequenceIds(snapshot: Record<string, unknown>): Record<string, unknown> {
  const idOf = new Map<string, string[]>();
  for (const [key, value] of Object.entries(snapshot)) {
    const m = /^\{[^}]+\}:id:(\d+)$/.exec(key);
    if (m !== null) idOf.set(value as string, [...(idOf.get(value as string) ?? []), m[1] as string]);
  }
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(snapshot)) {
    if (key === '{ids}:seq') continue;
    if (/^\{[^}]+\}:id:\d+$/.test(key)) out[`id entry of ${value as string}`] = true;
    else if (typeof value === 'object' && value !== null && 'id' in value) {
      const { id, ...rest } = value as Record<string, string>;
      out[key] = { ...rest, id: idOf.get(rest.username as string)?.includes(id as string) ? 'its entry' : id };
    } else out[key] = value;
  }
  return out;
}

describe('conflicts, re-runs, interruptions and dry runs', () => {
  it('--on-conflict skip (the default) leaves existing users; update replaces them; fail reports them; the same data twice is unchanged', async () => {
    await users.create({ username: 'user1', email: 'old@example.com', passwordHash: 'old-hash-of-user1', disabled: true });
    const path = file(
      'conflict.ndjson',
      rows(3, (i) => ({ persCode: `P${i}` })),
    );
    const skip = await tessera(['users', 'import', path], prefix);
    expect(skip.code).toBe(0);
    expect(summaryLine(skip.stdout)).toMatch(/^imported 3 rows: 2 created, 0 updated, 0 unchanged, 1 skipped, 0 failed; /);
    expect(await users.get('user1')).toMatchObject({ email: 'old@example.com', passwordHash: 'old-hash-of-user1', disabled: true });

    const fail = await tessera(['users', 'import', path, '--on-conflict', 'fail'], prefix);
    expect(fail.code).toBe(1);
    expect(summaryLine(fail.stdout)).toMatch(/^imported 3 rows: 0 created, 0 updated, 0 unchanged, 0 skipped, 3 failed; /);
    expect(fail.stderr).toContain('tessera: line 2 (user1): user user1 already exists\n');

    const update = await tessera(['users', 'import', path, '--on-conflict', 'update'], prefix);
    expect(update.code).toBe(0);
    expect(summaryLine(update.stdout)).toMatch(/^imported 3 rows: 0 created, 1 updated, 2 unchanged, 0 skipped, 0 failed; /);
    expect(await users.get('user1')).toMatchObject({
      id: 1,
      email: 'user1@example.com',
      passwordHash: h(),
      disabled: false,
      profile: { persCode: 'P1' },
    });
    expect(await users.find({ by: 'email', value: 'old@example.com' })).toBeNull();
    const again = await tessera(['users', 'import', path, '--on-conflict', 'update'], prefix);
    expect(summaryLine(again.stdout)).toMatch(/^imported 3 rows: 0 created, 0 updated, 3 unchanged, 0 skipped, 0 failed; /);
    // an update naming another id than the user's is refused: ids never change
    const moved = file('moved.ndjson', JSON.stringify({ username: 'user1', id: 999, password_hash: h() }));
    const mismatch = await tessera(['users', 'import', moved, '--on-conflict', 'update'], prefix);
    expect(mismatch.code).toBe(1);
    expect(mismatch.stderr).toBe('tessera: line 1 (user1): user user1 exists with id 1, not 999\n');
    expect((await users.get('user1'))?.id).toBe(1);
  });

  it('is idempotent: a second run leaves the same store, plain passwords included', async () => {
    const path = file('twice.ndjson', `${rows(40)}\n${ndjson([{ username: 'seeded', password: 'Seed-pass-1' }])}`);
    expect((await tessera(['users', 'import', path], prefix)).code).toBe(0);
    const first = await storeSnapshot(redis, prefix);
    for (const conflict of ['skip', 'update']) {
      const run = await tessera(['users', 'import', path, '--on-conflict', conflict], prefix);
      expect(run.code).toBe(0);
      expect(await storeSnapshot(redis, prefix)).toStrictEqual(first);
    }
    // the first run's events (one per shard touched); the re-runs changed nothing, so recorded nothing
    const events = await outboxEvents(redis, prefix);
    expect(events.every((e) => e.reason === 'import' && e.outcome === 'created')).toBe(true);
    expect(events.reduce((sum, e) => sum + (e.count as number), 0)).toBe(41);
  });

  it('can be killed midway and run again: the store is the one a single run makes', async () => {
    // half the file is more than a batch (2,400 rows), so part of it is written before the kill
    const n = 6000;
    const text = `${rows(n)}\n`;
    const path = file('big.ndjson', text);
    const clean = testPrefix();
    prefixes.push(clean);
    expect((await tessera(['users', 'import', path], clean)).code).toBe(0);

    // Feed half of the file through a pipe, wait until part of it is written, then SIGKILL.
    const child = startTessera(['users', 'import', '-'], prefix);
    const done = outcome(child);
    child.stdin.write(text.slice(0, text.indexOf('\n', text.length / 2) + 1));
    const accounts = async () => (await keysMatching(redis, `${prefix}{s*}:u:*`)).length;
    for (let i = 0; i < 200 && (await accounts()) < 500; i++) await sleep(25);
    child.kill('SIGKILL');
    await done;
    const partial = await accounts();
    expect(partial).toBeGreaterThanOrEqual(500);
    expect(partial).toBeLessThan(n);

    const rerun = await tessera(['users', 'import', path], prefix);
    expect(rerun.code).toBe(0);
    expect(summaryLine(rerun.stdout)).toMatch(
      new RegExp(`^imported ${n} rows: ${n - partial} created, 0 updated, 0 unchanged, ${partial} skipped, 0 failed; `),
    );
    // the same store, but for the numbers of the ids the sequence gave: each process takes blocks
    // of ids, and the killed one left part of its block unused
    expect(withoutSequenceIds(await storeSnapshot(redis, prefix))).toStrictEqual(withoutSequenceIds(await storeSnapshot(redis, clean)));
    // every user recorded exactly once, across both runs (one event per account shard of a script call of 50 users)
    const events = await outboxEvents(redis, prefix);
    expect(events.reduce((sum, e) => sum + (e.count as number), 0)).toBe(n);
  });

  it('--dry-run reports what a run would do, bad rows and in-file duplicates included, and writes nothing', async () => {
    await users.create({ username: 'user0', passwordHash: 'h' });
    const before = await storeSnapshot(redis, prefix);
    const lines = [
      ...rows(3).split('\n'),
      JSON.stringify({ username: 'user1', password_hash: h() }),
      JSON.stringify({ username: 'other', email: 'user2@example.com', password_hash: h() }),
      JSON.stringify({ username: 'plain', password: 'never hashed in a dry run' }),
      JSON.stringify({ username: 'bad', password_hash: 'nope' }),
    ];
    const path = file('dry.ndjson', lines.join('\n'));
    const report = join(dir, 'dry.report.ndjson');
    const run = await tessera(['users', 'import', path, '--dry-run', '--report', report], prefix);
    expect(run.code).toBe(1);
    expect(summaryLine(run.stdout)).toMatch(
      /^dry run, nothing written: would import 7 rows: 3 created, 0 updated, 0 unchanged, 2 skipped, 2 failed \(reasons in .*\); /,
    );
    expect(reportOf(report).map((e) => [e.line, e.code])).toStrictEqual([
      [5, 'email_taken'],
      [7, 'bad_hash'],
    ]);
    expect(await storeSnapshot(redis, prefix)).toStrictEqual(before);
    expect(await outboxEvents(redis, prefix)).toHaveLength(0);
    const update = await tessera(['users', 'import', path, '--dry-run', '--on-conflict', 'update'], prefix);
    expect(summaryLine(update.stdout)).toMatch(
      /^dry run, nothing written: would import 7 rows: 3 created, 2 updated, 0 unchanged, 0 skipped, 2 failed; /,
    );
    expect(await storeSnapshot(redis, prefix)).toStrictEqual(before);
  });
});

describe('usage errors: one line, exit 2, nothing written', () => {
  it.each([
    [
      ['users', 'import'],
      'missing FILE (or - for standard input): tessera users import FILE|- [--format ndjson|csv|django] [--on-conflict skip|update|fail]',
    ],
    [['users', 'import', 'x.ndjson', '--format', 'xml'], '--format "xml": expected ndjson, csv or django'],
    [['users', 'import', 'x.ndjson', '--on-conflict', 'merge'], '--on-conflict "merge": expected skip, update or fail'],
    [['users', 'import', '/nonexistent/users.ndjson'], 'cannot read /nonexistent/users.ndjson: ENOENT'],
    [['users', 'import', 'a', 'b'], 'unexpected argument "b"'],
  ])('%j', async (args, line) => {
    expect(await tessera(args, prefix)).toStrictEqual({ code: 2, stdout: '', stderr: `tessera: ${line}\n` });
    expect(await storeSnapshot(redis, prefix)).toStrictEqual({});
  });

  it('an unknown option', async () => {
    const run = await tessera(['users', 'import', 'x.ndjson', '--frobnicate'], prefix);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^tessera: Unknown option '--frobnicate'/);
  });
});

describe('progress', () => {
  it('on a pipe: a plain line every second while rows arrive, one at the end, then the summary', async () => {
    const child = startTessera(['users', 'import', '-'], prefix);
    const done = outcome(child);
    child.stdin.write(`${ndjson([{ username: 'a', password_hash: (LEGACY[0] as LegacyFixture).hash }])}\n`);
    // while the input stays open, a line a second: wait for two of them (not a fixed time: a loaded
    // machine may take a second to start the command)
    let seen = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no two progress lines within 20 s: ${JSON.stringify(seen)}`)), 20_000);
      child.stdout.on('data', (d: Buffer) => {
        seen += d.toString('utf8');
        if ((seen.match(/^importing: /gm) ?? []).length >= 2) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    child.stdin.end(`${ndjson([{ username: 'b', password_hash: (LEGACY[0] as LegacyFixture).hash }, '{oops'])}\n`);
    const run = await done;
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(4);
    for (const line of lines.slice(0, -1)) expect(line).toMatch(/^importing: \d+ rows, \d+ rows\/s, \d errors$/);
    expect(lines.at(-2)).toMatch(/^importing: 3 rows, \d+ rows\/s, 1 errors$/);
    expect(lines.at(-1)).toMatch(/^imported 3 rows: 2 created/);
    expect(run.stdout.includes('\u001b[')).toBe(false);
  });

  it('on a terminal: a bar redrawn in place with the share of the file, rows, rows/s and errors', async () => {
    const path = file('tty.ndjson', rows(2000));
    // script(1) gives the command a pseudo-terminal, as a person running it would.
    const run = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const p = spawn('script', ['-qec', `${process.execPath} ${BIN} users import ${path}`, '/dev/null'], {
        env: { PATH: process.env.PATH ?? '', REDIS_URL: inject('redisUrl'), TESSERA_REDIS_PREFIX: prefix, TERM: 'xterm' },
      });
      let out = '';
      p.stdout.on('data', (d: Buffer) => {
        out += d.toString('utf8');
      });
      p.on('close', (code) => resolve({ code, out }));
    });
    expect(run.code).toBe(0);
    expect(run.out).toMatch(/importing [\u2588\u2591]{40} 100% \| 2000 rows \| \d+ rows\/s \| 0 errors/);
    expect(run.out.includes('\r') || run.out.includes('\u001b[')).toBe(true);
    expect(run.out).toMatch(/imported 2000 rows: 2000 created/);
  });
});
