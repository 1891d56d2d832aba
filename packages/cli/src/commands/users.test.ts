import { PasswordHasher } from '@tessera/passwords';
import { connectRedis, type TesseraRedis, UserRepository } from '@tessera/store';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { type Run, tessera as run } from '../../../../test/support/cli.ts';
import { freePort } from '../../../../test/support/redis-source.ts';
import { dropPrefix, keysMatching, outboxEntries, testKeys, testPrefix } from '../../../../test/support/stack.ts';

let redis: TesseraRedis;
let prefix: string;
let users: UserRepository;

/** Runs `tessera ...args` under this test's prefix with `input` on standard input. */
const tessera = (args: string[], input = '', env: Record<string, string> = {}): Promise<Run> => run(args, prefix, input, env);

/** Asserts a one-line error on stderr, nothing on stdout, and the exit code. */
function expectError(run: Run, line: string, code: number): void {
  expect(run).toStrictEqual({ code, stdout: '', stderr: `tessera: ${line}\n` });
}

beforeAll(async () => {
  redis = await connectRedis({ url: inject('redisUrl') });
});
afterAll(async () => {
  await redis.quit();
});
beforeEach(() => {
  prefix = testPrefix();
  users = new UserRepository(redis, testKeys(prefix));
});
afterEach(async () => {
  await dropPrefix(redis, prefix);
});

describe('tessera users add', () => {
  it('creates a user from a password on standard input, hashed with argon2id (OWASP cost)', async () => {
    const run = await tessera(['users', 'add', 'alice', '--password-stdin', '--email', 'Alice@Example.com'], 'correct horse\n');
    expect(run).toStrictEqual({ code: 0, stdout: 'created user alice (id 1)\n', stderr: '' });
    const user = await users.get('alice');
    expect(user).toStrictEqual({
      id: 1,
      username: 'alice',
      email: 'alice@example.com',
      passwordHash: expect.stringMatching(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/),
      scopes: ['', 'read', 'write'],
      disabled: false,
      profile: {
        persCode: null,
        civilId: null,
        userMobile: null,
        userIntitutes: [],
        firstLogin: null,
        loggedInUser: null,
        userDetails: null,
      },
    });
    const hasher = new PasswordHasher();
    expect(await hasher.verify(user?.passwordHash ?? null, 'correct horse')).toBe(true);
    expect(await hasher.verify(user?.passwordHash ?? null, 'correct horse\n')).toBe(false);
  });

  it('takes the first line only, without its CR LF', async () => {
    expect((await tessera(['users', 'add', 'bob', '--password-stdin'], 'first line\r\nsecond line\n')).code).toBe(0);
    const hash = (await users.get('bob'))?.passwordHash ?? null;
    expect(await new PasswordHasher().verify(hash, 'first line')).toBe(true);
  });

  it('stores every profile option, scopes and the disabled flag', async () => {
    const args = [
      'users',
      'add',
      'MOH-90008',
      '--password-stdin',
      '--pers-code=-90008',
      '--civil-id',
      '2850101',
      '--mobile',
      '+96590000000',
    ];
    const run = await tessera([...args, '--scope', 'read', '--scope', 'admin', '--disabled'], 'Moh@-90008');
    expect(run).toStrictEqual({ code: 0, stdout: 'created user MOH-90008 (id 1)\n', stderr: '' });
    const user = await users.get('MOH-90008');
    expect(user?.scopes).toStrictEqual(['read', 'admin']);
    expect(user?.disabled).toBe(true);
    expect(user?.profile).toMatchObject({ persCode: '-90008', civilId: '2850101', userMobile: '+96590000000' });
  });

  it('refuses a taken username in one line, exit 1', async () => {
    await tessera(['users', 'add', 'alice', '--password-stdin'], 'pw-1');
    const run = await tessera(['users', 'add', 'alice', '--password-stdin'], 'pw-2');
    expectError(run, 'user alice already exists', 1);
    expect(await new PasswordHasher().verify((await users.get('alice'))?.passwordHash ?? null, 'pw-1')).toBe(true);
  });

  it('refuses a taken email (any case) in one line, exit 1', async () => {
    await tessera(['users', 'add', 'alice', '--password-stdin', '--email', 'alice@example.com'], 'pw');
    const run = await tessera(['users', 'add', 'bob', '--password-stdin', '--email', 'ALICE@example.com'], 'pw');
    expectError(run, 'email alice@example.com is already used by another user', 1);
    expect(await users.get('bob')).toBeNull();
  });

  it('refuses an empty standard input in one line, exit 1, creating nothing', async () => {
    expectError(
      await tessera(['users', 'add', 'alice', '--password-stdin'], ''),
      'no password on standard input (use: printf %s "$PASSWORD" | tessera users ... --password-stdin)',
      1,
    );
    expectError(
      await tessera(['users', 'add', 'alice', '--password-stdin'], '\nsecond line'),
      'no password on standard input (use: printf %s "$PASSWORD" | tessera users ... --password-stdin)',
      1,
    );
    expect(await keysMatching(redis, `${prefix}*`)).toStrictEqual([]);
  });

  it('refuses to run without --password-stdin, and refuses a password on the command line', async () => {
    expectError(
      await tessera(['users', 'add', 'alice'], 'pw'),
      'users add needs --password-stdin (passwords never go on the command line)',
      2,
    );
    const run = await tessera(['users', 'add', 'alice', '--password', 'hunter2']);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr.startsWith("tessera: Unknown option '--password'.")).toBe(true);
    expect(run.stderr.endsWith('\n')).toBe(true);
    expect(run.stderr.slice(0, -1).includes('\n')).toBe(false);
    expect(await users.get('alice')).toBeNull();
  });

  it('an option value starting with "-" (document 000\'s persCode "-90008") is taken, or refused in one line', async () => {
    const run = await tessera(['users', 'add', 'MOH-90008', '--password-stdin', '--pers-code', '-90008'], 'Moh@-90008');
    if (run.code === 0) {
      expect((await users.get('MOH-90008'))?.profile.persCode).toBe('-90008');
      return;
    }
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr.split('\n')).toStrictEqual([expect.stringMatching(/^tessera: .*--pers-code/), '']);
  });

  it('refuses a bad email or username in one line, exit 1, creating nothing', async () => {
    expectError(
      await tessera(['users', 'add', 'alice', '--password-stdin', '--email', 'someone@example'], 'pw'),
      'invalid email "someone@example"',
      1,
    );
    expectError(
      await tessera(['users', 'add', 'bad name', '--password-stdin'], 'pw'),
      'invalid username "bad name": 1-150 letters, digits or @.+-_',
      1,
    );
    expect(await keysMatching(redis, `${prefix}*`)).toStrictEqual([]);
  });
});

describe('tessera users show / disable / passwd', () => {
  it("show prints the user's last login (UTC), and --json has it as lastLogin; none before the first", async () => {
    await users.create({ username: 'bob', passwordHash: '!', lastLogin: Date.parse('2026-01-02T03:04:05.678Z') });
    await users.create({ username: 'carol', passwordHash: '!' });
    const bob = await tessera(['users', 'show', 'bob']);
    expect(bob.stdout.split('\n')).toContain('  last login      2026-01-02T03:04:05.678Z');
    expect(JSON.parse((await tessera(['users', 'show', 'bob', '--json'])).stdout)).toMatchObject({ lastLogin: '2026-01-02T03:04:05.678Z' });
    expect((await tessera(['users', 'show', 'carol'])).stdout.split('\n')).toContain('  last login      -');
    expect(JSON.parse((await tessera(['users', 'show', 'carol', '--json'])).stdout)).not.toHaveProperty('lastLogin');
  });

  it('show --json prints the record as JSON without the password hash, with its scheme', async () => {
    await tessera(['users', 'add', 'alice', '--password-stdin', '--email', 'alice@example.com', '--pers-code', 'P1'], 'pw');
    const run = await tessera(['users', 'show', 'alice', '--json']);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    const expected = {
      id: 1,
      username: 'alice',
      email: 'alice@example.com',
      scopes: ['', 'read', 'write'],
      disabled: false,
      profile: {
        persCode: 'P1',
        civilId: null,
        userMobile: null,
        userIntitutes: [],
        firstLogin: null,
        loggedInUser: null,
        userDetails: null,
      },
      passwordScheme: 'argon2id',
    };
    expect(run.stdout).toBe(`${JSON.stringify(expected)}\n`);
    const hash = (await users.get('alice'))?.passwordHash ?? '';
    expect(hash).toMatch(/^\$argon2id\$/);
    expect(run.stdout.includes(hash)).toBe(false);
    expect(run.stdout.includes('$argon2')).toBe(false);
    expect(run.stdout.includes('passwordHash')).toBe(false);
  });

  it('show prints one field a line, the password as its scheme only, legacy and pending users included', async () => {
    await tessera(['users', 'add', 'alice', '--password-stdin', '--email', 'alice@example.com', '--pers-code', 'P1'], 'pw');
    expect(await tessera(['users', 'show', 'alice'])).toStrictEqual({
      code: 0,
      stdout: [
        'alice (id 1)',
        '  email           alice@example.com',
        '  scopes          "" "read" "write"',
        '  disabled        no',
        '  password        argon2id',
        '  last login      -',
        '  persCode        P1',
        '',
      ].join('\n'),
      stderr: '',
    });
    const django = 'pbkdf2_sha256$260000$U9oHibZnDz9Yfuqa3vpqxk$kaT5rmGJV2sRyQ4ak3xWrdNhqRagb9BI+D7BxSmncH0=';
    await users.create({ username: 'legacy', passwordHash: django, disabled: true });
    await users.create({ username: 'waiting', passwordHash: '!', pendingUpstream: true });
    const legacy = await tessera(['users', 'show', 'legacy']);
    expect(legacy.stdout).toContain('  password        django-pbkdf2_sha256\n');
    expect(legacy.stdout).toContain('  disabled        yes\n');
    expect(legacy.stdout.includes('U9oHibZnDz9Yfuqa3vpqxk')).toBe(false);
    expect((await tessera(['users', 'show', 'waiting'])).stdout).toContain(
      '  password        unusable (pending: the first login is checked by the upstream)\n',
    );
    expect(JSON.parse((await tessera(['users', 'show', 'legacy', '--json'])).stdout)).toMatchObject({
      passwordScheme: 'django-pbkdf2_sha256',
    });
    expect(JSON.parse((await tessera(['users', 'show', 'waiting', '--json'])).stdout)).toMatchObject({
      passwordScheme: 'unusable',
      pendingUpstream: true,
    });
  });

  it('disable and --enable flip the flag', async () => {
    await tessera(['users', 'add', 'alice', '--password-stdin'], 'pw');
    expect(await tessera(['users', 'disable', 'alice'])).toStrictEqual({
      code: 0,
      stdout: 'disabled user alice; revoked 0 live tokens\n',
      stderr: '',
    });
    expect((await users.get('alice'))?.disabled).toBe(true);
    expect(await tessera(['users', 'disable', 'alice', '--enable'])).toStrictEqual({ code: 0, stdout: 'enabled user alice\n', stderr: '' });
    expect((await users.get('alice'))?.disabled).toBe(false);
  });

  it('passwd replaces the password', async () => {
    await tessera(['users', 'add', 'alice', '--password-stdin'], 'old-password');
    expect(await tessera(['users', 'passwd', 'alice', '--password-stdin'], 'new-password\n')).toStrictEqual({
      code: 0,
      stdout: 'changed password of alice; revoked 0 live tokens\n',
      stderr: '',
    });
    const hash = (await users.get('alice'))?.passwordHash ?? null;
    const hasher = new PasswordHasher();
    expect(await hasher.verify(hash, 'new-password')).toBe(true);
    expect(await hasher.verify(hash, 'old-password')).toBe(false);
    // each change is recorded with it, in the outbox
    const events = (await outboxEntries(redis, testKeys(prefix))).map(([, f]) => JSON.parse(f[1] as string));
    expect(events.filter((e) => e.type === 'user.changed')).toMatchObject([
      { dialect: 'cli', identifier: 'u:alice', userId: 1, outcome: 'created' },
      { dialect: 'cli', identifier: 'u:alice', userId: 1, outcome: 'password_changed' },
    ]);
  });

  it('an unknown user is one line and exit 1 for show, disable and passwd, creating nothing', async () => {
    expectError(await tessera(['users', 'show', 'ghost']), 'no user ghost', 1);
    expectError(await tessera(['users', 'disable', 'ghost']), 'no user ghost', 1);
    expectError(await tessera(['users', 'passwd', 'ghost', '--password-stdin'], 'pw'), 'no user ghost', 1);
    expect(await keysMatching(redis, `${prefix}*`)).toStrictEqual([]);
  });
});

describe('tessera errors', () => {
  it('an unknown command is one line, exit 2', async () => {
    expectError(await tessera(['frobnicate']), 'unknown command "frobnicate" (tessera --help lists them)', 2);
  });

  it('an unknown users command is one line naming itself, exit 2', async () => {
    const run = await tessera(['users', 'frobnicate', 'alice']);
    expectError(run, 'unknown command: users frobnicate (tessera --help lists the commands)', 2);
  });

  it('an unreachable Redis is one line, exit 1', async () => {
    const port = await freePort();
    const run = await tessera(['users', 'show', 'alice'], '', { REDIS_URL: `redis://127.0.0.1:${port}` });
    expectError(run, `cannot reach Redis at redis://127.0.0.1:${port} (start the stack with npm start, or set REDIS_URL)`, 1);
  });

  it('a bad setting is one line, exit 2', async () => {
    expectError(
      await tessera(['users', 'show', 'alice'], '', { TESSERA_ARGON2_TIME_COST: '0' }),
      'TESSERA_ARGON2_TIME_COST="0": expected a whole number from 1 to 100',
      2,
    );
  });
});
