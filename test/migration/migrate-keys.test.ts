import { readFileSync } from 'node:fs';
import { loadSettings } from '@tessera/config';
import { createLogger } from '@tessera/config/log';
import type { TokenGrant } from '@tessera/core';
import { eventJson } from '@tessera/events';
import { openDeps } from '@tessera/ingress';
import { PasswordHasher } from '@tessera/passwords';
import { connectRedis, legacyLayoutProblem, migrateKeys, type TesseraRedis, TokenRepository } from '@tessera/store';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { tessera } from '../support/cli.ts';
import { dropPrefix, keysMatching, serviceEnv, startStack, testKeys, testPrefix } from '../support/stack.ts';

// A deployment of the one-slot layout ({users}), written by that release's own scripts
// (fixtures/legacy-layout), moved by `tessera migrate-keys`: cut short, completed by a rerun, and
// then served by the current code.
const LEGACY = (name: string) => readFileSync(new URL(`./fixtures/legacy-layout/${name}`, import.meta.url), 'utf8');
const PASSWORD = 'Some3xtraLong4nd5afe9assword';
const USERS = 40;

describe('tessera migrate-keys: from the {users} layout to the account shards', () => {
  let redis: TesseraRedis;
  const prefix = testPrefix();
  const old = `${prefix}{users}:`;
  const settings = loadSettings(serviceEnv(prefix));
  const keys = testKeys(prefix);
  const token = '0f6c1e2a-8b7d-4c3e-9a1f-2b3c4d5e6f70';

  /** Users through the old putUsers (ids of the sequence, and two kept by an "import"). */
  async function legacyUsers(hash: string): Promise<void> {
    const args = Array.from({ length: USERS }, (_, i) => {
      const username = i === 0 ? 'alice' : `user${i}`;
      const fields = [
        'username',
        username,
        'hash',
        hash,
        'scopes',
        '["","read","write"]',
        'disabled',
        '0',
        'email',
        `${username}@example.com`,
      ];
      return [username, `${username}@example.com`, i === 5 ? '9000' : i === 6 ? '12' : '', String(fields.length), ...fields];
    }).flat();
    const event = eventJson('user.changed', { dialect: 'cli', reason: 'import' });
    await redis.eval(LEGACY('putUsers-3.lua'), 3, `${old}seq`, `${old}outbox`, `${old}revoke`, 'create', '0', old, event, ...args);
  }

  /** One failed attempt through the old beginLogin/finishLogin: the lock it counted against. */
  async function legacyFailure(username: string, n: number): Promise<string> {
    const r = (await redis.eval(
      LEGACY('beginLogin-4.lua'),
      4,
      `${old}lk:u:${username}`,
      `${old}lki:u:${username}`,
      `${old}rl:127.0.0.1`,
      `${old}u:${username}`,
      5,
      900_000,
      600,
      60_000,
      '1',
      `r${n}`,
      30_000,
      'u',
      old,
      `${old}outbox`,
      '',
      `u:${username}`,
    )) as (string | number)[];
    const lock = String(r[1]);
    const attempt = eventJson('login.failed', { dialect: 'nehr', identifier: `u:${username}`, outcome: 'bad_credentials' });
    const engaged = eventJson('lockout.engaged', { dialect: 'nehr', identifier: lock });
    await redis.eval(
      LEGACY('finishLogin-5.lua'),
      5,
      `${old}lk:${lock}`,
      `${old}lki:${lock}`,
      `${old}outbox`,
      `${old}lockouts`,
      `${old}u:`,
      `r${n}`,
      '0',
      5,
      900_000,
      900_000,
      lock,
      30 * 86_400_000,
      100_000,
      attempt,
      engaged,
      '0',
    );
    return lock;
  }

  beforeAll(async () => {
    redis = await connectRedis({ url: inject('redisUrl') });
    const hasher = new PasswordHasher(settings.argon2);
    await legacyUsers(await hasher.hash(PASSWORD));
    // alice locked (5 failures: her account's lock), an unknown identifier with 2 failures
    for (let n = 0; n < 5; n++) await legacyFailure('alice', n);
    for (let n = 5; n < 7; n++) await legacyFailure('ghost.example', n);
    // a token of alice's, in the token layout (unchanged by the migration)
    const issuedAt = Math.floor(Date.now() / 1000) * 1000;
    const grant: TokenGrant = { value: token, kind: 'access', format: 'uuid', lifetime: 3600, issuedAt, expiresAt: issuedAt + 3_600_000 };
    await new TokenRepository(redis, keys, settings.tokenLimits).save([grant], (g) => ({
      kind: 'access',
      format: 'uuid',
      dialect: 'moh',
      userId: 1,
      username: 'alice',
      scopes: ['', 'read', 'write'],
      iat: issuedAt / 1000,
      exp: g.expiresAt / 1000,
      family: 'f-1',
    }));
  });
  afterAll(async () => {
    await dropPrefix(redis, prefix);
    await redis.quit();
  });

  it('the services refuse to start on the old layout, saying in one line what to run', async () => {
    expect(await legacyLayoutProblem(redis, keys)).toMatch(
      /^Redis holds users in the earlier key layout .* run `tessera migrate-keys` first/,
    );
    const err = await openDeps(
      settings,
      createLogger('ingress', 'error', () => {}),
      'test',
    ).catch((e: unknown) => e);
    expect((err as Error).message).toContain('tessera migrate-keys');
  });

  it('a run cut short, and one cut between writing a record and deleting its old key, are completed by the next', async () => {
    const oldEvents = (await redis.xrange(`${old}outbox`, '-', '+')).map(([, f]) => f);
    expect(oldEvents.length).toBeGreaterThan(USERS > 0 ? 1 : 0);
    const cut = await migrateKeys(redis, keys, { stopAfterUsers: 15 });
    expect(cut.users).toBe(15);
    expect((await keysMatching(redis, `${old}u:*`)).length).toBe(USERS - 15);
    // a crash between a record's write and its old key's deletion: both are there
    const [left] = await keysMatching(redis, `${old}u:*`);
    const username = (left as string).slice(`${old}u:`.length);
    await redis.restore(keys.user(username), 0, (await redis.dumpBuffer(left as string)) as Buffer, 'REPLACE');
    expect(await legacyLayoutProblem(redis, keys)).not.toBeNull();

    const run = await tessera(['migrate-keys'], prefix);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^users: \d+ users, /m);
    expect(run.stdout).toMatch(/^done: 25 users, 0 loose index entries, \d+ locks, \d+ events moved/m);
    expect(run.stdout.trim().split('\n').at(-1)).toBe('the key layout is current');
    const again = await tessera(['migrate-keys'], prefix);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout.trim().split('\n').at(-1)).toBe('nothing to move: the key layout is current');

    expect(await keysMatching(redis, `${old}*`)).toStrictEqual([]);
    expect(await legacyLayoutProblem(redis, keys)).toBeNull();
    // the old outbox's events, in order, wait in the new one for the worker
    expect((await redis.xrange(keys.outbox(0), '-', '+')).map(([, f]) => f)).toStrictEqual(oldEvents);
  });

  it('afterwards the users log in by username and email, the lock and the failures hold, the token lives, ids go on', async () => {
    await using stack = await startStack({}, { seed: false, prefix });
    const nehr = async (username: string) =>
      (
        await stack.post('/nehrapi/login/getToken', JSON.stringify({ username, password: PASSWORD }), {
          'content-type': 'application/json',
        })
      ).status;
    expect(await nehr('user7')).toBe(200);
    expect(await nehr('user33')).toBe(200);
    const byEmail = await stack.post('/v1/login', new URLSearchParams({ email: 'User12@Example.com', password: PASSWORD }));
    expect(((await byEmail.json()) as { error_id?: number }).error_id).toBeUndefined();
    // alice's lock, engaged in the old layout, still holds; the unknown identifier's 2 failures count on
    expect(await nehr('alice')).toBe(429);
    expect(await redis.hget(keys.lockout('u:ghost.example', keys.shardOf('ghost.example')), 'fails')).toBe('2');
    expect((await stack.gate.locked()).map((l) => [l.identifier, l.username])).toStrictEqual([['a:1', 'alice']]);
    // the ids: kept, found by id, and the sequence past the largest
    expect((await stack.users.findById(9000))?.username).toBe('user5');
    expect((await stack.users.findById(12))?.username).toBe('user6');
    expect((await stack.users.create({ username: 'newcomer', passwordHash: 'h' })).id).toBeGreaterThan(9000);
    // the token issued before: live, and revoked with its user
    expect((await stack.tokens.get(token))?.username).toBe('alice');
    expect(await stack.tokens.revokeUser(1, 'admin')).toBe(1);
    expect(await stack.tokens.get(token)).toBeNull();
  });
});
