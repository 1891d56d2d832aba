import type { AuditEvent } from '@tessera/events';
import { passwordScheme } from '@tessera/passwords';
import { aroundAll, describe, expect, it } from 'vitest';
import { LEGACY_HASHES as FIXTURES, type LegacyHash as Fixture } from '../support/cli.ts';
import { outboxEntries, type Stack, startStack, testKeys } from '../support/stack.ts';

/** One login per route, and how each dialect says "yes" and "bad credentials". */
interface Route {
  readonly dialect: string;
  login(stack: Stack, username: string, password: string): Promise<'ok' | 'bad' | string>;
}

const json = { 'content-type': 'application/json' };
const ROUTES: readonly Route[] = [
  {
    dialect: 'moh',
    async login(stack, username, password) {
      const body = (await (await stack.post('/getUserToken', JSON.stringify({ username, password }), json)).json()) as { code: number };
      return body.code === 0 ? 'ok' : body.code === 3 ? 'bad' : JSON.stringify(body);
    },
  },
  {
    dialect: 'nehr',
    async login(stack, username, password) {
      const res = await stack.post('/nehrapi/login/getToken', JSON.stringify({ username, password }), json);
      return res.status === 200 ? 'ok' : res.status === 401 ? 'bad' : `${res.status} ${await res.text()}`;
    },
  },
  {
    dialect: 'simplejwt',
    async login(stack, username, password) {
      const res = await stack.post('/api/token/', JSON.stringify({ username, password }), json);
      return res.status === 200 ? 'ok' : res.status === 401 ? 'bad' : `${res.status} ${await res.text()}`;
    },
  },
  {
    dialect: 'peb',
    async login(stack, username, password) {
      const body = (await (await stack.post('/v1/login', new URLSearchParams({ username, password }))).json()) as {
        status: number;
        error_id?: number;
      };
      return body.status === 200 ? 'ok' : body.error_id === 11 ? 'bad' : JSON.stringify(body);
    },
  },
];

async function outbox(stack: Stack): Promise<AuditEvent[]> {
  const entries = await outboxEntries(stack.redis, testKeys(stack.settings.redisPrefix));
  return entries.map(([, f]) => JSON.parse(f[1] as string) as AuditEvent);
}

const rehashEvents = async (stack: Stack, userId: number) =>
  (await outbox(stack)).filter((e) => e.type === 'user.changed' && e.userId === userId && e.reason === 'password_rehashed');

let stack: Stack;
aroundAll(async (runSuite) => {
  await using started = await startStack({ TESSERA_LOGIN_RATE_LIMIT: '0' });
  stack = started;
  await runSuite();
});

describe('a legacy hash through each of the four routes', () => {
  const schemes = [...new Set(FIXTURES.map((f) => f.scheme))].filter((s) => s !== 'unusable');
  for (const scheme of schemes) {
    const fixture = FIXTURES.find((f) => f.scheme === scheme && f.password !== null) as Fixture;
    it(`${scheme} (${fixture.tool}): a wrong password changes nothing; the right one logs in and leaves argon2id`, async () => {
      await Promise.all(
        ROUTES.map(async (route) => {
          const username = `${scheme}.${route.dialect}`;
          const password = fixture.password as string;
          const user = await stack.users.create({ username, passwordHash: fixture.hash });

          expect(await route.login(stack, username, `${password}-wrong`)).toBe('bad');
          expect((await stack.users.get(username))?.passwordHash).toBe(fixture.hash);
          expect(await rehashEvents(stack, user.id)).toStrictEqual([]);

          expect(await route.login(stack, username, password)).toBe('ok');
          const after = (await stack.users.get(username))?.passwordHash ?? '';
          expect(passwordScheme(after)).toBe('argon2id');
          expect(await stack.hasher.verify(after, password)).toBe(true);
          if (scheme === 'argon2id') {
            // Already argon2id, and stronger than the settings (m=65536 against 1024): kept as it is.
            expect(after).toBe(fixture.hash);
            expect(await rehashEvents(stack, user.id)).toStrictEqual([]);
            return;
          }
          expect(after).toMatch(/^\$argon2id\$v=19\$m=1024,t=1,p=1\$/);
          expect(await rehashEvents(stack, user.id)).toMatchObject([
            { type: 'user.changed', dialect: route.dialect, identifier: `u:${username}`, reason: 'password_rehashed', outcome: 'rehashed' },
          ]);

          // The next login verifies the argon2id hash; nothing more changes.
          expect(await route.login(stack, username, password)).toBe('ok');
          expect(await route.login(stack, username, `${password}-wrong`)).toBe('bad');
          expect((await stack.users.get(username))?.passwordHash).toBe(after);
          expect(await rehashEvents(stack, user.id)).toHaveLength(1);
        }),
      );
    });
  }

  it('an unusable password (Django "!…") never logs in and is never rehashed', async () => {
    const fixture = FIXTURES.find((f) => f.scheme === 'unusable') as Fixture;
    for (const route of ROUTES) {
      const username = `unusable.${route.dialect}`;
      await stack.users.create({ username, passwordHash: fixture.hash });
      for (const attempt of [fixture.hash, fixture.hash.slice(1), 'password'])
        expect(await route.login(stack, username, attempt)).toBe('bad');
      expect((await stack.users.get(username))?.passwordHash).toBe(fixture.hash);
    }
  });

  it('an argon2id hash weaker than the current settings is rehashed too; an equal one is not', async () => {
    const { PasswordHasher } = await import('@tessera/passwords');
    const weak = await new PasswordHasher({ memoryCost: 512, timeCost: 1, parallelism: 1 }).hash('Weak-pass-1');
    const equal = await stack.hasher.hash('Equal-pass-1');
    const w = await stack.users.create({ username: 'weak.argon2', passwordHash: weak });
    const e = await stack.users.create({ username: 'equal.argon2', passwordHash: equal });
    expect(await ROUTES[0]?.login(stack, 'weak.argon2', 'Weak-pass-1')).toBe('ok');
    expect(await ROUTES[0]?.login(stack, 'equal.argon2', 'Equal-pass-1')).toBe('ok');
    expect((await stack.users.get('weak.argon2'))?.passwordHash).toMatch(/^\$argon2id\$v=19\$m=1024,t=1,p=1\$/);
    expect((await stack.users.get('equal.argon2'))?.passwordHash).toBe(equal);
    expect(await rehashEvents(stack, w.id)).toHaveLength(1);
    expect(await rehashEvents(stack, e.id)).toHaveLength(0);
  });
});

describe('lockout and the verification pool hold for legacy users', () => {
  it('five wrong passwords lock a legacy user like any other; the right password then changes nothing', async () => {
    const fixture = FIXTURES.find((f) => f.scheme === 'django-pbkdf2_sha256') as Fixture;
    await stack.users.create({ username: 'locked.legacy', passwordHash: fixture.hash });
    const route = ROUTES[1] as Route;
    for (let i = 0; i < 5; i++) expect(await route.login(stack, 'locked.legacy', 'wrong')).toBe('bad');
    const locked = await route.login(stack, 'locked.legacy', fixture.password as string);
    expect(locked).toMatch(/^429 /);
    expect((await stack.users.get('locked.legacy'))?.passwordHash).toBe(fixture.hash);
  });

  it('a legacy verification holds a slot of the verification pool', async () => {
    const fixture = FIXTURES.find((f) => f.scheme === 'django-bcrypt') as Fixture;
    await stack.users.create({ username: 'pooled.legacy', passwordHash: fixture.hash });
    const seen: number[] = [];
    const original = stack.hasher.verify.bind(stack.hasher);
    stack.hasher.verify = async (hash, password) => {
      seen.push(stack.pool.load.running);
      return original(hash, password);
    };
    try {
      expect(await ROUTES[0]?.login(stack, 'pooled.legacy', fixture.password as string)).toBe('ok');
    } finally {
      stack.hasher.verify = original;
    }
    expect(seen).toStrictEqual([1]);
  });
});

describe('a concurrent password change is never undone by the rehash', () => {
  it('the login verified the old hash; passwd replaced it meanwhile; the new hash stays', async () => {
    const fixture = FIXTURES.find((f) => f.scheme === 'django-pbkdf2_sha1') as Fixture;
    const oldPassword = fixture.password as string;
    await stack.users.create({ username: 'raced.legacy', passwordHash: fixture.hash });
    // Let the login's verification finish, then hold it there while the password changes.
    let verified!: () => void;
    const verifiedSignal = new Promise<void>((r) => {
      verified = r;
    });
    let resume!: () => void;
    const resumeSignal = new Promise<void>((r) => {
      resume = r;
    });
    const original = stack.hasher.verify.bind(stack.hasher);
    stack.hasher.verify = async (hash, password) => {
      const ok = await original(hash, password);
      verified();
      await resumeSignal;
      return ok;
    };
    try {
      const login = ROUTES[2]?.login(stack, 'raced.legacy', oldPassword);
      await verifiedSignal;
      const newHash = await stack.hasher.hash('N3w-password!');
      await stack.users.setPasswordHash('raced.legacy', newHash);
      resume();
      await login;
      expect((await stack.users.get('raced.legacy'))?.passwordHash).toBe(newHash);
    } finally {
      stack.hasher.verify = original;
    }
    expect(await ROUTES[2]?.login(stack, 'raced.legacy', oldPassword)).toBe('bad');
    expect(await ROUTES[2]?.login(stack, 'raced.legacy', 'N3w-password!')).toBe('ok');
  });
});
