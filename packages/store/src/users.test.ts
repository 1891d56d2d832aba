import { InvalidStateError, UnavailableError } from '@tessera/core';
import { ReplyError } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { dropPrefix, testPrefix } from '../../../test/support/stack.ts';
import { type KeyLayout, keyLayout } from './keys.ts';
import { connectRedis, type TesseraRedis } from './redis.ts';
import { EmailTakenError, UnknownUserError, UserExistsError, UserIdTakenError, UserRepository, validUsername } from './users.ts';

const EMPTY_PROFILE = {
  persCode: null,
  civilId: null,
  userMobile: null,
  userIntitutes: [],
  firstLogin: null,
  loggedInUser: null,
  userDetails: null,
};

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
  keys = keyLayout(prefix);
  users = new UserRepository(redis, keys);
});
afterEach(async () => {
  await dropPrefix(redis, prefix);
});

/** Every key under the test prefix, sorted. */
async function allKeys(): Promise<string[]> {
  return (await redis.keys(`${prefix}*`)).sort();
}

describe('UserRepository.create', () => {
  it('returns the record and writes the documented key layout', async () => {
    const user = await users.create({ username: 'alice', email: 'Alice@Example.COM', passwordHash: 'phc-1' });
    expect(user).toStrictEqual({
      id: 1,
      username: 'alice',
      email: 'alice@example.com',
      passwordHash: 'phc-1',
      scopes: ['', 'read', 'write'],
      disabled: false,
      profile: EMPTY_PROFILE,
    });
    const u = `${prefix}{users}:`;
    expect(await allKeys()).toStrictEqual([`${u}email:alice@example.com`, `${u}id:1`, `${u}seq`, `${u}u:alice`].sort());
    expect(await redis.hgetall(`${u}u:alice`)).toStrictEqual({
      id: '1',
      username: 'alice',
      hash: 'phc-1',
      scopes: '["","read","write"]',
      disabled: '0',
      email: 'alice@example.com',
    });
    expect(await redis.get(`${u}email:alice@example.com`)).toBe('alice');
    expect(await redis.get(`${u}id:1`)).toBe('alice');
    expect(await redis.get(`${u}seq`)).toBe('1');
    // No expiry on user data.
    expect(await redis.pttl(`${u}u:alice`)).toBe(-1);
  });

  it('gives increasing ids', async () => {
    expect((await users.create({ username: 'a', passwordHash: 'h' })).id).toBe(1);
    expect((await users.create({ username: 'b', passwordHash: 'h' })).id).toBe(2);
    expect((await users.create({ username: 'c', passwordHash: 'h' })).id).toBe(3);
  });

  it('keeps scopes, the disabled flag and every profile field', async () => {
    const profile = {
      persCode: '-90008',
      civilId: '285010112345',
      userMobile: '+96590000000',
      userIntitutes: [{ id: 7, name: 'Central' }],
      firstLogin: { first: true },
      loggedInUser: 'MOH-90008',
      userDetails: { dept: 'ICU', level: 2 },
    };
    const created = await users.create({ username: 'MOH-90008', passwordHash: 'h', scopes: ['read'], disabled: true, profile });
    expect(created).toStrictEqual({
      id: 1,
      username: 'MOH-90008',
      email: null,
      passwordHash: 'h',
      scopes: ['read'],
      disabled: true,
      profile,
    });
    expect(await users.get('MOH-90008')).toStrictEqual(created);
  });

  it('refuses a taken username with UserExistsError, leaving the first user and the new email untouched', async () => {
    await users.create({ username: 'alice', email: 'alice@example.com', passwordHash: 'h1' });
    const err = await users.create({ username: 'alice', email: 'other@example.com', passwordHash: 'h2' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserExistsError);
    expect((err as UserExistsError).code).toBe('ERR_USER_EXISTS');
    expect((err as Error).message).toBe('user alice already exists');
    expect((await users.get('alice'))?.passwordHash).toBe('h1');
    expect((await users.get('alice'))?.email).toBe('alice@example.com');
    expect(await redis.exists(keys.email('other@example.com'))).toBe(0);
    expect(await users.find({ by: 'email', value: 'other@example.com' })).toBeNull();
  });

  it('refuses an email taken in any case with EmailTakenError, creating nothing', async () => {
    await users.create({ username: 'alice', email: 'alice@example.com', passwordHash: 'h1' });
    const before = await allKeys();
    const err = await users.create({ username: 'bob', email: ' ALICE@Example.com ', passwordHash: 'h2' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EmailTakenError);
    expect((err as EmailTakenError).code).toBe('ERR_EMAIL_TAKEN');
    expect((err as Error).message).toBe('email alice@example.com is already used by another user');
    expect(await users.get('bob')).toBeNull();
    // Only the id counter moved.
    expect(await allKeys()).toStrictEqual(before);
    expect(await redis.get(keys.email('alice@example.com'))).toBe('alice');
    expect((await users.find({ by: 'email', value: 'alice@example.com' }))?.username).toBe('alice');
  });

  it('lets many users have no email, without claiming an empty email entry', async () => {
    await users.create({ username: 'a', passwordHash: 'h' });
    await users.create({ username: 'b', email: null, passwordHash: 'h' });
    await users.create({ username: 'c', email: '', passwordHash: 'h' });
    expect((await allKeys()).filter((k) => k.includes(':email:'))).toStrictEqual([]);
    expect((await users.get('c'))?.email).toBeNull();
  });

  it.each(['', 'has space', 'a/b', 'semi:colon', 'brace{users}', 'tab\tname', 'x'.repeat(151), 'new\nline'])(
    'refuses the invalid username %j with a TypeError, writing nothing',
    async (username) => {
      const err = await users.create({ username, passwordHash: 'h' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TypeError);
      expect((err as Error).message).toBe(`invalid username ${JSON.stringify(username)}: 1-150 letters, digits or @.+-_`);
      expect(await allKeys()).toStrictEqual([]);
    },
  );

  it('accepts usernames Django accepts: 150 characters, letters of any script, digits and @.+-_', async () => {
    for (const username of ['x'.repeat(150), 'Ünïcødé', 'someone.example', 'a@b.c+d-e_f', 'MOH-90008', '12345']) {
      expect(validUsername(username)).toBe(true);
      expect((await users.create({ username, passwordHash: 'h' })).username).toBe(username);
    }
  });

  it.each(['someone@example', 'no-at-sign', 'a@b@example.com', 'a b@example.com', '@example.com', 'someone@.com'])(
    'refuses the invalid email %j with a TypeError, writing nothing',
    async (email) => {
      const err = await users.create({ username: 'alice', email, passwordHash: 'h' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TypeError);
      expect((err as Error).message).toBe(`invalid email ${JSON.stringify(email)}`);
      expect(await allKeys()).toStrictEqual([]);
    },
  );
});

describe('UserRepository.put and a kept id', () => {
  it('keeps a given id, refuses it when another user has it, and marks a pending-upstream user', async () => {
    const kept = await users.create({ id: 42, username: 'kept', passwordHash: '!', pendingUpstream: true });
    expect(kept).toMatchObject({ id: 42, username: 'kept', passwordHash: '!', pendingUpstream: true });
    expect(await redis.hget(keys.user('kept'), 'pending')).toBe('1');
    expect((await users.create({ username: 'next', passwordHash: 'h' })).id).toBe(43);
    const err = await users.create({ id: 42, username: 'other', passwordHash: 'h' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserIdTakenError);
    expect((err as Error).message).toBe("id 42 is already another user's");
    expect('pendingUpstream' in ((await users.get('next')) ?? {})).toBe(false);
  });

  it.each([0, -1, 1.5, Number.MAX_SAFE_INTEGER + 1])('refuses the id %d with a TypeError', async (id) => {
    await expect(users.put({ id, username: 'x', passwordHash: 'h' }, { mode: 'create' })).rejects.toThrow(
      `invalid id ${id}: a positive integer`,
    );
    expect(await allKeys()).toStrictEqual([]);
  });

  it('setPasswordHash with the expected hash: false and nothing written when the hash changed meanwhile', async () => {
    await users.create({ username: 'alice', passwordHash: 'legacy', pendingUpstream: true });
    await users.setPasswordHash('alice', 'changed-by-admin');
    expect(await users.get('alice')).toMatchObject({ passwordHash: 'changed-by-admin' });
    expect('pendingUpstream' in ((await users.get('alice')) ?? {})).toBe(false);
    expect(await users.setPasswordHash('alice', 'rehash', { expected: 'legacy' })).toBe(false);
    expect((await users.get('alice'))?.passwordHash).toBe('changed-by-admin');
    expect(await users.setPasswordHash('alice', 'rehash', { expected: 'changed-by-admin' })).toBe(true);
    expect((await users.get('alice'))?.passwordHash).toBe('rehash');
  });
});

describe('UserRepository lookups', () => {
  it('finds by username (exact case) and by email (any case, trimmed)', async () => {
    const alice = await users.create({ username: 'alice', email: 'alice@example.com', passwordHash: 'h' });
    expect(await users.get('alice')).toStrictEqual(alice);
    expect(await users.find({ by: 'username', value: 'alice' })).toStrictEqual(alice);
    expect(await users.find({ by: 'username', value: 'Alice' })).toBeNull();
    expect(await users.find({ by: 'email', value: 'alice@example.com' })).toStrictEqual(alice);
    expect(await users.find({ by: 'email', value: '  ALICE@example.COM ' })).toStrictEqual(alice);
  });

  it('answers null for unknown users and emails', async () => {
    await users.create({ username: 'alice', email: 'alice@example.com', passwordHash: 'h' });
    expect(await users.get('bob')).toBeNull();
    expect(await users.find({ by: 'username', value: 'bob' })).toBeNull();
    expect(await users.find({ by: 'email', value: 'bob@example.com' })).toBeNull();
    // An email that is someone's username finds nothing.
    expect(await users.find({ by: 'email', value: 'alice' })).toBeNull();
  });

  it('a user hash without a password hash is an InvalidStateError, not a user', async () => {
    await redis.hset(keys.user('broken'), { id: '9', username: 'broken' });
    const err = await users.get('broken').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidStateError);
    expect((err as Error).message).toBe('user broken has no password hash');
  });
});

describe('UserRepository updates', () => {
  it('disables and enables a user', async () => {
    await users.create({ username: 'alice', passwordHash: 'h' });
    await users.setDisabled('alice', true);
    expect((await users.get('alice'))?.disabled).toBe(true);
    expect(await redis.hget(keys.user('alice'), 'disabled')).toBe('1');
    await users.setDisabled('alice', false);
    expect((await users.get('alice'))?.disabled).toBe(false);
    expect(await redis.hget(keys.user('alice'), 'disabled')).toBe('0');
  });

  it('changes the password hash and nothing else', async () => {
    const before = await users.create({ username: 'alice', email: 'alice@example.com', passwordHash: 'old', profile: { persCode: 'p' } });
    await users.setPasswordHash('alice', 'new');
    expect(await users.get('alice')).toStrictEqual({ ...before, passwordHash: 'new' });
  });

  it('refuses updates of an unknown user with UnknownUserError, creating no key', async () => {
    for (const update of [() => users.setDisabled('ghost', true), () => users.setPasswordHash('ghost', 'h')]) {
      const err = await update().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UnknownUserError);
      expect((err as UnknownUserError).code).toBe('ERR_UNKNOWN_USER');
      expect((err as Error).message).toBe('no user ghost');
    }
    expect(await allKeys()).toStrictEqual([]);
  });
});

describe('Lua scripts on real Redis', () => {
  /** putUsers of one user: [code, id] (its flags: putUsers below). */
  const put = async (mode: string, dry: string, username: string, email: string, id: string, event: string, ...fields: string[]) =>
    (
      await redis.putUsers(
        keys.userSeq,
        keys.outbox,
        keys.revocationsDue,
        mode,
        dry,
        keys.indexPrefix,
        event,
        username,
        email,
        id,
        String(fields.length),
        ...fields,
      )
    ).slice(0, 2);
  const outbox = async () => (await redis.xrange(keys.outbox, '-', '+')).map(([, f]) => JSON.parse(f[1] as string));

  it('putUsers: creates with the next id, its indexes and its event; refusals write nothing', async () => {
    expect(
      await put('create', '0', 'alice', 'a@example.com', '', '{"type":"user.changed"}', 'username', 'alice', 'hash', 'h'),
    ).toStrictEqual([1, 1]);
    expect(await redis.hgetall(keys.user('alice'))).toStrictEqual({ id: '1', username: 'alice', hash: 'h' });
    expect(await redis.get(keys.email('a@example.com'))).toBe('alice');
    expect(await redis.get(keys.userId(1))).toBe('alice');
    expect(await outbox()).toStrictEqual([{ type: 'user.changed', userId: 1, outcome: 'created', count: 1 }]);
    const before = await allKeys();
    const xlen = await redis.xlen(keys.outbox);
    expect(await put('create', '0', 'alice', 'b@example.com', '', '{}', 'username', 'alice', 'hash', 'h')).toStrictEqual([-1, 1]);
    expect(await put('create', '0', 'bob', 'a@example.com', '', '{}', 'username', 'bob', 'hash', 'h')).toStrictEqual([-2, 0]);
    expect(await put('create', '0', 'bob', '', '1', '{}', 'username', 'bob', 'hash', 'h')).toStrictEqual([-3, 0]);
    expect(await put('update', '0', 'alice', '', '7', '{}', 'username', 'alice', 'hash', 'h')).toStrictEqual([-4, 1]);
    expect(await allKeys()).toStrictEqual(before);
    expect(await redis.xlen(keys.outbox)).toBe(xlen);
  });

  it('putUsers: a batch in order, one event per outcome with its count; a later user sees an earlier one', async () => {
    await put('create', '0', 'old', '', '', '', 'username', 'old', 'hash', 'h');
    const batch = [
      ['a', 'a@example.com', '', '2', 'username', 'a'],
      ['b', 'a@example.com', '', '2', 'username', 'b'], // the email a took a moment ago
      ['a', '', '', '2', 'username', 'a'], // a again: exists now
      ['c', '', '9', '4', 'username', 'c', 'hash', 'h'],
    ].flat();
    expect(
      await redis.putUsers(
        keys.userSeq,
        keys.outbox,
        keys.revocationsDue,
        'create',
        '0',
        keys.indexPrefix,
        '{"reason":"import"}',
        ...batch,
      ),
    ).toStrictEqual([1, 2, 0, -2, 0, 0, -1, 2, 0, 1, 9, 0]);
    expect(await outbox()).toStrictEqual([{ reason: 'import', outcome: 'created', count: 2 }]);
    const update = [
      ['a', '', '', '4', 'username', 'a', 'hash', 'x'],
      ['old', '', '', '4', 'username', 'old', 'hash', 'h'],
      ['d', '', '', '0'],
    ].flat();
    expect(
      await redis.putUsers(
        keys.userSeq,
        keys.outbox,
        keys.revocationsDue,
        'update',
        '0',
        keys.indexPrefix,
        '{"reason":"import"}',
        ...update,
      ),
    ).toStrictEqual([2, 2, 1, 0, 1, 0, 1, 10, 0]);
    expect((await outbox()).slice(1)).toStrictEqual([
      { reason: 'import', outcome: 'created', count: 1 },
      { reason: 'import', outcome: 'updated', count: 1 },
    ]);
  });

  it('putUsers update: flags a changed password hash (1) and a user newly disabled (2), whose tokens must go', async () => {
    await put('create', '0', 'u', '', '', '', 'username', 'u', 'hash', 'h', 'disabled', '0');
    const update = (...fields: string[]) =>
      redis.putUsers(
        keys.userSeq,
        keys.outbox,
        keys.revocationsDue,
        'update',
        '0',
        keys.indexPrefix,
        '',
        'u',
        '',
        '',
        String(fields.length),
        ...fields,
      );
    expect(await update('username', 'u', 'hash', 'h', 'disabled', '0', 'persCode', 'p')).toStrictEqual([2, 1, 0]);
    expect(await update('username', 'u', 'hash', 'h2', 'disabled', '0')).toStrictEqual([2, 1, 1]);
    expect(await update('username', 'u', 'hash', 'h2', 'disabled', '1')).toStrictEqual([2, 1, 2]);
    expect(await update('username', 'u', 'hash', 'h3', 'disabled', '1', 'persCode', 'q')).toStrictEqual([2, 1, 1]);
    await update('username', 'u', 'hash', 'h3', 'disabled', '0');
    expect(await update('username', 'u', 'hash', 'h4', 'disabled', '1')).toStrictEqual([2, 1, 3]);
    // each flagged update left the user's revocation due, in the same step
    const users2 = new UserRepository(redis, keys);
    expect(await users2.revocationsDue()).toStrictEqual([{ id: 1, reason: 'user_disabled' }]);
    await users2.revocationDone(1);
    expect(await users2.revocationsDue()).toStrictEqual([]);
    expect(await users2.put({ username: 'u', passwordHash: 'h5', disabled: true }, { mode: 'update' })).toStrictEqual({
      status: 'updated',
      id: 1,
      revoke: 'password_changed',
    });
  });

  it('putUsers: a given id is kept and moves the sequence past it; a lower one leaves the sequence', async () => {
    expect(await put('create', '0', 'kept', '', '500', '', 'username', 'kept', 'hash', 'h')).toStrictEqual([1, 500]);
    expect(await redis.get(keys.userSeq)).toBe('500');
    expect(await put('create', '0', 'next', '', '', '', 'username', 'next', 'hash', 'h')).toStrictEqual([1, 501]);
    expect(await put('create', '0', 'low', '', '3', '', 'username', 'low', 'hash', 'h')).toStrictEqual([1, 3]);
    expect(await redis.get(keys.userSeq)).toBe('501');
    // An id taken behind the sequence's back (an older layout) is skipped, never shared.
    await redis.set(keys.userId(502), 'squatter');
    expect(await put('create', '0', 'after', '', '', '', 'username', 'after', 'hash', 'h')).toStrictEqual([1, 503]);
  });

  it('putUsers update: replaces the record whole, keeps the id, moves the email index; the same data is "unchanged" and silent', async () => {
    await put('create', '0', 'alice', 'a@example.com', '', '', 'username', 'alice', 'hash', 'h', 'email', 'a@example.com', 'persCode', 'p');
    expect(
      await put('update', '0', 'alice', 'new@example.com', '', '{}', 'username', 'alice', 'hash', 'h2', 'email', 'new@example.com'),
    ).toStrictEqual([2, 1]);
    expect(await redis.hgetall(keys.user('alice'))).toStrictEqual({ id: '1', username: 'alice', hash: 'h2', email: 'new@example.com' });
    expect(await redis.exists(keys.email('a@example.com'))).toBe(0);
    expect(await redis.get(keys.email('new@example.com'))).toBe('alice');
    expect(
      await put('update', '0', 'alice', 'new@example.com', '1', '{}', 'username', 'alice', 'hash', 'h2', 'email', 'new@example.com'),
    ).toStrictEqual([0, 1]);
    expect((await outbox()).map((e) => e.outcome)).toStrictEqual(['updated']);
    // update of an unknown user creates it
    expect(await put('update', '0', 'bob', '', '', '', 'username', 'bob', 'hash', 'h')).toStrictEqual([1, 2]);
  });

  it('putUsers dry run: says what it would do and writes nothing', async () => {
    await put('create', '0', 'alice', 'a@example.com', '', '', 'username', 'alice', 'hash', 'h');
    const before = await allKeys();
    expect(await put('create', '1', 'bob', '', '', '{}', 'username', 'bob', 'hash', 'h')).toStrictEqual([1, 0]);
    expect(await put('create', '1', 'bob', '', '9', '{}', 'username', 'bob', 'hash', 'h')).toStrictEqual([1, 9]);
    expect(await put('create', '1', 'alice', '', '', '{}', 'username', 'alice', 'hash', 'h')).toStrictEqual([-1, 1]);
    expect(await put('update', '1', 'alice', '', '', '{}', 'username', 'alice', 'hash', 'h3')).toStrictEqual([2, 1]);
    expect(await put('create', '1', 'bob', 'a@example.com', '', '{}', 'username', 'bob', 'hash', 'h')).toStrictEqual([-2, 0]);
    expect(await allKeys()).toStrictEqual(before);
    expect(await redis.get(keys.userSeq)).toBe('1');
  });

  it('setPassword: replaces only the expected hash, clears the pending mark, appends its event', async () => {
    await put('create', '0', 'alice', '', '', '', 'username', 'alice', 'hash', 'old', 'pending', '1');
    expect(await redis.setPassword(keys.user('alice'), keys.outbox, 'other', 'new', '{"type":"user.changed"}')).toBe(0);
    expect(await redis.hgetall(keys.user('alice'))).toStrictEqual({ id: '1', username: 'alice', hash: 'old', pending: '1' });
    expect(await redis.xlen(keys.outbox)).toBe(0);
    expect(await redis.setPassword(keys.user('alice'), keys.outbox, 'old', 'new', '{"type":"user.changed"}')).toBe(1);
    expect(await redis.hgetall(keys.user('alice'))).toStrictEqual({ id: '1', username: 'alice', hash: 'new' });
    expect(await outbox()).toStrictEqual([{ type: 'user.changed', userId: 1 }]);
    expect(await redis.setPassword(keys.user('alice'), keys.outbox, '', 'admin', '')).toBe(1);
    expect(await redis.hget(keys.user('alice'), 'hash')).toBe('admin');
    expect(await redis.setPassword(keys.user('ghost'), keys.outbox, '', 'h', '')).toBe(-1);
    expect(await redis.exists(keys.user('ghost'))).toBe(0);
  });

  it('getUserByIndex: the user hash as flat pairs by email or id, or an empty array', async () => {
    await users.create({ username: 'alice', email: 'alice@example.com', passwordHash: 'h' });
    const flat = await redis.getUserByIndex(keys.email('alice@example.com'), keys.userPrefix);
    const pairs: Record<string, string> = {};
    for (let i = 0; i < flat.length; i += 2) pairs[flat[i] as string] = flat[i + 1] as string;
    expect(pairs).toStrictEqual(await redis.hgetall(keys.user('alice')));
    expect(await redis.getUserByIndex(keys.email('nobody@example.com'), keys.userPrefix)).toStrictEqual([]);
    const byId = await users.findById(Number(pairs.id));
    expect(byId?.username).toBe('alice');
    expect(await users.findById(987654)).toBeNull();
  });

  it('patchUser: 1 and fields set on an existing hash, -1 and no key for a missing one', async () => {
    await users.create({ username: 'alice', passwordHash: 'h' });
    expect(await redis.patchUser(keys.user('alice'), 'disabled', '1', 'hash', 'h2')).toBe(1);
    expect(await redis.hmget(keys.user('alice'), 'disabled', 'hash')).toStrictEqual(['1', 'h2']);
    expect(await redis.patchUser(keys.user('ghost'), 'disabled', '1')).toBe(-1);
    expect(await redis.exists(keys.user('ghost'))).toBe(0);
  });

  it('keeps every user key under one hash tag, so the scripts run on Redis Cluster', () => {
    for (const k of [keys.userSeq, keys.user('a'), keys.email('a@example.com'), keys.userId(1), `${keys.userPrefix}a`]) {
      expect(k.startsWith(`${prefix}{users}:`)).toBe(true);
    }
  });
});

describe('store errors', () => {
  it('a Redis reply error (wrong type) stays a reply error, not "unavailable"', async () => {
    await redis.set(keys.user('alice'), 'not a hash');
    const err = await users.get('alice').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReplyError);
    expect(err).not.toBeInstanceOf(UnavailableError);
    expect((err as Error).message).toMatch(/^WRONGTYPE /);
  });

  it('a closed connection is UnavailableError for every operation', async () => {
    const closed = await connectRedis({ url: inject('redisUrl') });
    closed.disconnect();
    const repo = new UserRepository(closed, keys);
    const ops = [
      () => repo.get('alice'),
      () => repo.find({ by: 'email', value: 'a@example.com' }),
      () => repo.create({ username: 'alice', passwordHash: 'h' }),
      () => repo.setDisabled('alice', true),
      () => repo.setPasswordHash('alice', 'h'),
    ];
    for (const op of ops) {
      const err = await op().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UnavailableError);
      expect((err as UnavailableError).code).toBe('ERR_UNAVAILABLE');
    }
  });
});
