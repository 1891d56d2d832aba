import { InvalidStateError, UnavailableError } from '@tessera/core';
import { ReplyError } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { dropPrefix, keysMatching, testKeys, testPrefix } from '../../../test/support/stack.ts';
import { ID_BLOCK } from './ids.ts';
import type { KeyLayout } from './keys.ts';
import { ClaimIndex } from './lua-codes.ts';
import { connectRedis, type TesseraRedis } from './redis.ts';
import {
  EmailTakenError,
  type NewUser,
  type PutResult,
  UnknownUserError,
  UserExistsError,
  UserIdTakenError,
  UserRepository,
  validUsername,
} from './users.ts';

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
  keys = testKeys(prefix);
  users = new UserRepository(redis, keys);
});
afterEach(async () => {
  await dropPrefix(redis, prefix);
});

/** Every key under the test prefix, sorted. */
async function allKeys(): Promise<string[]> {
  return (await keysMatching(redis, `${prefix}*`)).sort();
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
    // the record in the username's shard, the email's and the id's entries in theirs (keys.ts)
    expect(await allKeys()).toStrictEqual([keys.email('alice@example.com'), keys.userId(1), keys.userSeq, keys.user('alice')].sort());
    expect(await redis.hgetall(keys.user('alice'))).toStrictEqual({
      id: '1',
      username: 'alice',
      hash: 'phc-1',
      scopes: '["","read","write"]',
      disabled: '0',
      email: 'alice@example.com',
    });
    expect(await redis.get(keys.email('alice@example.com'))).toBe('alice');
    expect(await redis.get(keys.userId(1))).toBe('alice');
    // this process took a block of ids
    expect(await redis.get(keys.userSeq)).toBe(String(ID_BLOCK));
    // No expiry on user data.
    expect(await redis.pttl(keys.user('alice'))).toBe(-1);
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
  const shard = () => keys.shardOf('alice');
  /** putUsers-2 of one user of alice's shard: [code, id] (its flags: putUsers below). */
  const put = async (mode: string, dry: string, username: string, id: string, event: string, ...fields: string[]) =>
    (await putIn(shard(), mode, dry, event, '1', username, id, '', '', String(fields.length), ...fields)).slice(0, 2);
  const putIn = (k: number, mode: string, dry: string, event: string, single: string, ...argv: string[]) =>
    redis.putUsers(keys.outbox(k), keys.revocationsDue(k), mode, dry, keys.shardPrefix(k), event, single, ...argv);
  const outbox = async () => (await redis.xrange(keys.outbox(shard()), '-', '+')).map(([, f]) => JSON.parse(f[1] as string));
  /** Usernames of alice's shard other than alice. */
  const mates = () =>
    Array.from({ length: 5000 }, (_, i) => `user${i}`)
      .filter((u) => keys.shardOf(u) === keys.shardOf('alice'))
      .slice(0, 4);

  it('putUsers: creates the record with the id given, and its event; refusals write nothing', async () => {
    expect(await put('create', '0', 'alice', '1', '{"type":"user.changed"}', 'username', 'alice', 'hash', 'h')).toStrictEqual([1, 1]);
    expect(await redis.hgetall(keys.user('alice'))).toStrictEqual({ id: '1', username: 'alice', hash: 'h' });
    expect(await outbox()).toStrictEqual([{ type: 'user.changed', userId: 1, outcome: 'created', count: 1 }]);
    const before = await allKeys();
    const xlen = await redis.xlen(keys.outbox(shard()));
    expect(await put('create', '0', 'alice', '2', '{}', 'username', 'alice', 'hash', 'h')).toStrictEqual([-1, 1]);
    expect(await put('update', '0', 'alice', '7', '{}', 'username', 'alice', 'hash', 'h')).toStrictEqual([-4, 1]);
    expect(await allKeys()).toStrictEqual(before);
    expect(await redis.xlen(keys.outbox(shard()))).toBe(xlen);
  });

  it('putUsers: a batch in order, one event per outcome with its count; a later user sees an earlier one', async () => {
    const [a, b, c] = mates() as [string, string, string];
    await put('create', '0', 'alice', '1', '', 'username', 'alice', 'hash', 'h');
    const batch = [
      [a, '2', '', '', '2', 'username', a],
      [a, '3', '', '', '2', 'username', a], // a again: exists now
      [b, '9', '', '', '4', 'username', b, 'hash', 'h'],
    ].flat();
    expect(await putIn(shard(), 'create', '0', '{"reason":"import"}', '0', ...batch)).toStrictEqual([1, 2, 0, -1, 2, 0, 1, 9, 0]);
    expect(await outbox()).toStrictEqual([{ reason: 'import', outcome: 'created', count: 2 }]);
    const update = [
      [a, '2', '', '', '4', 'username', a, 'hash', 'x'],
      ['alice', '1', '', '', '4', 'username', 'alice', 'hash', 'h'],
      [c, '10', '', '', '0'],
    ].flat();
    expect(await putIn(shard(), 'update', '0', '{"reason":"import"}', '0', ...update)).toStrictEqual([2, 2, 1, 0, 1, 0, 1, 10, 0]);
    expect((await outbox()).slice(1)).toStrictEqual([
      { reason: 'import', outcome: 'created', count: 1 },
      { reason: 'import', outcome: 'updated', count: 1 },
    ]);
  });

  it('putUsers update: flags a changed password hash (1) and a user newly disabled (2), whose tokens must go', async () => {
    await users.put({ username: 'u', passwordHash: 'h', disabled: false }, { mode: 'create' });
    const k = keys.shardOf('u');
    const update = async (...fields: string[]) => putIn(k, 'update', '0', '', '1', 'u', '1', '', '', String(fields.length), ...fields);
    expect(await update('username', 'u', 'hash', 'h', 'disabled', '0', 'persCode', 'p')).toStrictEqual([2, 1, 0]);
    expect(await update('username', 'u', 'hash', 'h2', 'disabled', '0')).toStrictEqual([2, 1, 1]);
    expect(await update('username', 'u', 'hash', 'h2', 'disabled', '1')).toStrictEqual([2, 1, 2]);
    expect(await update('username', 'u', 'hash', 'h3', 'disabled', '1', 'persCode', 'q')).toStrictEqual([2, 1, 1]);
    await update('username', 'u', 'hash', 'h3', 'disabled', '0');
    expect(await update('username', 'u', 'hash', 'h4', 'disabled', '1')).toStrictEqual([2, 1, 3]);
    // each flagged update left the user's revocation due, in the same step
    expect(await users.revocationsDue()).toStrictEqual([{ id: 1, reason: 'user_disabled', shard: k }]);
    await users.revocationDone({ id: 1, shard: k });
    expect(await users.revocationsDue()).toStrictEqual([]);
    expect(await users.put({ username: 'u', passwordHash: 'h5', disabled: true }, { mode: 'update' })).toStrictEqual({
      status: 'updated',
      id: 1,
      revoke: 'password_changed',
    });
  });

  it('setPassword: replaces only the expected hash, clears the pending mark, appends its event', async () => {
    await put('create', '0', 'alice', '1', '', 'username', 'alice', 'hash', 'old', 'pending', '1');
    const out = keys.outbox(shard());
    expect(await redis.setPassword(keys.user('alice'), out, 'other', 'new', '{"type":"user.changed"}')).toBe(0);
    expect(await redis.hgetall(keys.user('alice'))).toStrictEqual({ id: '1', username: 'alice', hash: 'old', pending: '1' });
    expect(await redis.xlen(out)).toBe(0);
    expect(await redis.setPassword(keys.user('alice'), out, 'old', 'new', '{"type":"user.changed"}')).toBe(1);
    expect(await redis.hgetall(keys.user('alice'))).toStrictEqual({ id: '1', username: 'alice', hash: 'new' });
    expect(await outbox()).toStrictEqual([{ type: 'user.changed', userId: 1 }]);
    expect(await redis.setPassword(keys.user('alice'), out, '', 'admin', '')).toBe(1);
    expect(await redis.hget(keys.user('alice'), 'hash')).toBe('admin');
    // a script's keys share a slot: the ghost's own outbox, as setPasswordHash names it
    expect(await redis.setPassword(keys.user('ghost'), keys.outbox(keys.shardOf('ghost')), '', 'h', '')).toBe(-1);
    expect(await redis.exists(keys.user('ghost'))).toBe(0);
  });

  it('claimIndex: claims a free entry (pending), keeps its own, names another holder, takes over a settled stale one; releaseIndex only its own', async () => {
    const entry = keys.email('a@example.com');
    const claim1 = (key: string, username: string, stale: string) => redis.claimIndex(1, key, 60_000, username, stale);
    expect(await claim1(entry, 'alice', '')).toStrictEqual([ClaimIndex.Claimed, '', 0]);
    expect(await redis.pttl(entry)).toBeGreaterThan(0);
    expect(await claim1(entry, 'alice', '')).toStrictEqual([ClaimIndex.Ours, '', 0]);
    await redis.persist(entry);
    // its own settled entry is made pending again until the caller settles it
    expect(await claim1(entry, 'alice', '')).toStrictEqual([ClaimIndex.Ours, '', 0]);
    expect(await redis.pttl(entry)).toBeGreaterThan(0);
    expect(await claim1(entry, 'bob', '')).toStrictEqual([ClaimIndex.Held, 'alice', 0]);
    // a pending claim is never taken over, even when its account is not written yet
    expect(await claim1(entry, 'bob', 'alice')).toStrictEqual([ClaimIndex.Held, 'alice', 0]);
    await redis.persist(entry);
    expect(await claim1(entry, 'bob', 'carol')).toStrictEqual([ClaimIndex.Held, 'alice', 1]);
    expect(await claim1(entry, 'bob', 'alice')).toStrictEqual([ClaimIndex.Claimed, '', 0]);
    expect(await redis.releaseIndex(entry, 'alice')).toBe(0);
    expect(await redis.get(entry)).toBe('bob');
    expect(await redis.releaseIndex(entry, 'bob')).toBe(1);
    expect(await redis.exists(entry)).toBe(0);
  });

  it('claimIndex of several entries of one slot: each decided in turn, as one by one (an entry named twice: the second sees the first); settleIndex settles them', async () => {
    const shard = keys.shardOf('a@example.com');
    // three emails of the same shard
    const emails = ['a@example.com'];
    for (let n = 0; emails.length < 3; n++) if (keys.shardOf(`x${n}@example.com`) === shard) emails.push(`x${n}@example.com`);
    const [a, b, c] = emails.map((e) => keys.email(e)) as [string, string, string];
    await redis.set(c, 'carol');
    const flat = await redis.claimIndex(4, a, b, a, c, 60_000, 'alice', '', 'bob', '', 'dave', '', 'erin', '');
    expect(flat).toStrictEqual([
      ClaimIndex.Claimed,
      '',
      0,
      ClaimIndex.Claimed,
      '',
      0,
      ClaimIndex.Held,
      'alice',
      0,
      ClaimIndex.Held,
      'carol',
      1,
    ]);
    expect(await redis.mget(a, b, c)).toStrictEqual(['alice', 'bob', 'carol']);
    expect(await redis.settleIndex(2, a, b)).toBe(2);
    expect([await redis.pttl(a), await redis.pttl(b)]).toStrictEqual([-1, -1]);
  });

  it("putMany: a batch whose rows share an email, one of them already another account's, ends as the same rows written one by one", async () => {
    const rows = (tag: string): NewUser[] => [
      { username: `${tag}1`, email: `${tag}-shared@example.com`, passwordHash: 'h' },
      { username: `${tag}2`, email: `${tag}-shared@example.com`, passwordHash: 'h' },
      { username: `${tag}3`, email: `${tag}-taken@example.com`, passwordHash: 'h' },
      { username: `${tag}4`, email: `${tag}-free@example.com`, passwordHash: 'h' },
    ];
    const state = async (tag: string) => {
      const out: unknown[] = [];
      for (const u of rows(tag)) {
        const r = await users.get(u.username);
        out.push(
          r === null
            ? null
            : {
                email: r.email?.replace(tag, ''),
                byEmail: (await users.find({ by: 'email', value: r.email ?? '' }))?.username.replace(tag, ''),
              },
        );
      }
      for (const e of ['shared', 'taken', 'free']) {
        const key = keys.email(`${tag}-${e}@example.com`);
        out.push([e, (await redis.get(key))?.replace(tag, ''), await redis.pttl(key)]);
      }
      return out;
    };
    await users.create({ username: 'holderone', email: 'one-taken@example.com', passwordHash: 'h' });
    await users.create({ username: 'holdertwo', email: 'two-taken@example.com', passwordHash: 'h' });
    const oneByOne: PutResult[] = [];
    for (const u of rows('one')) oneByOne.push(await users.put(u, { mode: 'create' }));
    const batched = await users.putMany(rows('two'), { mode: 'create' });
    expect(batched.map((r) => r.status)).toStrictEqual(['created', 'email_taken', 'email_taken', 'created']);
    expect(batched.map((r) => r.status)).toStrictEqual(oneByOne.map((r) => r.status));
    expect(await state('two')).toStrictEqual(await state('one'));
    expect((await state('two')).slice(4)).toStrictEqual([
      ['shared', '1', -1],
      ['taken', 'holder', -1],
      ['free', '4', -1],
    ]);
  });

  it('find and findById: through the index entries, believed only when the account holds the email or id', async () => {
    await users.create({ username: 'alice', email: 'alice@example.com', passwordHash: 'h' });
    expect((await users.find({ by: 'email', value: 'Alice@Example.com' }))?.username).toBe('alice');
    expect((await users.findById(1))?.username).toBe('alice');
    expect(await users.find({ by: 'email', value: 'nobody@example.com' })).toBeNull();
    expect(await users.findById(987654)).toBeNull();
    // entries left by a step that never completed: they name alice, whose record does not hold them
    await redis.set(keys.email('stale@example.com'), 'alice');
    await redis.set(keys.userId(77), 'alice');
    expect(await users.find({ by: 'email', value: 'stale@example.com' })).toBeNull();
    expect(await users.findById(77)).toBeNull();
  });

  it('patchUser: 1 and fields set on an existing hash, -1 and no key for a missing one', async () => {
    await users.create({ username: 'alice', passwordHash: 'h' });
    expect(await redis.patchUser(keys.user('alice'), 'disabled', '1', 'hash', 'h2')).toBe(1);
    expect(await redis.hmget(keys.user('alice'), 'disabled', 'hash')).toStrictEqual(['1', 'h2']);
    expect(await redis.patchUser(keys.user('ghost'), 'disabled', '1')).toBe(-1);
    expect(await redis.exists(keys.user('ghost'))).toBe(0);
  });
});

describe('UserRepository across slots (keys.ts: the account, its email and its id in three shards)', () => {
  it('a given id is kept and moves the sequence past it; ids of the sequence skip an id already held', async () => {
    expect(await users.put({ id: 500, username: 'kept', passwordHash: 'h' }, { mode: 'create' })).toStrictEqual({
      status: 'created',
      id: 500,
    });
    expect(await redis.get(keys.userSeq)).toBe('500');
    expect(await users.put({ username: 'next', passwordHash: 'h' }, { mode: 'create' })).toStrictEqual({ status: 'created', id: 501 });
    expect(await users.put({ id: 3, username: 'low', passwordHash: 'h' }, { mode: 'create' })).toStrictEqual({ status: 'created', id: 3 });
    expect(await redis.get(keys.userSeq)).toBe(String(500 + ID_BLOCK));
    // an id kept by an import after this process took its block: the block skips it, never shares it
    const other = new UserRepository(redis, keys);
    expect(await other.put({ id: 502, username: 'imported', passwordHash: 'h' }, { mode: 'create' })).toStrictEqual({
      status: 'created',
      id: 502,
    });
    expect(await users.put({ username: 'after', passwordHash: 'h' }, { mode: 'create' })).toStrictEqual({ status: 'created', id: 503 });
    expect((await users.findById(502))?.username).toBe('imported');
    expect((await users.findById(503))?.username).toBe('after');
  });

  it('two repositories (two processes) creating at once never hand out the same id', async () => {
    const [a, b] = [new UserRepository(redis, keys), new UserRepository(redis, keys)];
    const made = await Promise.all(
      Array.from({ length: 60 }, (_, i) => (i % 2 === 0 ? a : b).create({ username: `p${i}`, passwordHash: 'h' })),
    );
    const ids = made.map((u) => u.id);
    expect(new Set(ids).size).toBe(60);
    // each took its own block
    expect(Number(await redis.get(keys.userSeq))).toBe(2 * ID_BLOCK);
    for (const u of made) expect((await users.findById(u.id))?.username).toBe(u.username);
  });

  it('an email is unique across slots: two creations racing for it, one wins, the loser leaves nothing', async () => {
    const racers = ['r1', 'r2', 'r3', 'r4'];
    const results = await Promise.all(
      racers.map((u) =>
        new UserRepository(redis, keys).put({ username: u, email: 'same@example.com', passwordHash: 'h' }, { mode: 'create' }),
      ),
    );
    expect(
      results.filter((r) => r.status === 'created'),
      JSON.stringify(results),
    ).toHaveLength(1);
    expect(results.filter((r) => r.status === 'email_taken')).toHaveLength(3);
    const winner = racers[results.findIndex((r) => r.status === 'created')] as string;
    expect(await redis.get(keys.email('same@example.com'))).toBe(winner);
    expect((await allKeys()).filter((k) => k.includes(':u:'))).toStrictEqual([keys.user(winner)]);
    // the losers' id claims were released: only the winner's id entry is left
    expect((await allKeys()).filter((k) => k.includes(':id:'))).toHaveLength(1);
  });

  it('compensation: a claim whose account step is refused (the username exists by then) is released', async () => {
    await users.create({ username: 'alice', email: 'alice@example.com', passwordHash: 'h' });
    // the account step refuses for real: a record of this username appears between the read and the
    // write (written here straight into its slot, as a concurrent writer of another layout would)
    const racer = new UserRepository(redis, keys);
    const bob = keys.user('bob');
    const original = redis.readUsers.bind(redis);
    let raced = false;
    redis.readUsers = async (n: number, ...ks: string[]) => {
      const r = await original(n, ...ks);
      if (ks.includes(bob) && !raced) {
        raced = true;
        await redis.hset(bob, { id: '42', username: 'bob', hash: 'theirs' });
      }
      return r;
    };
    try {
      expect(await racer.put({ username: 'bob', email: 'bob@example.com', passwordHash: 'mine' }, { mode: 'create' })).toStrictEqual({
        status: 'exists',
        id: 42,
      });
    } finally {
      redis.readUsers = original;
    }
    // bob's record is the one that won; the email and id this attempt claimed are released
    expect(await redis.hget(bob, 'hash')).toBe('theirs');
    expect(await redis.exists(keys.email('bob@example.com'))).toBe(0);
    expect((await allKeys()).filter((k) => k.includes(':id:'))).toStrictEqual([keys.userId(1)]);
  });

  it('a crash between the steps leaves a claim that reads as absent and is taken over', async () => {
    await users.create({ username: 'alice', passwordHash: 'h' });
    // a claim whose account was never written, and one naming an account that does not hold it
    await redis.set(keys.email('dangling@example.com'), 'ghost');
    await redis.set(keys.email('alices-old@example.com'), 'alice');
    expect(await users.find({ by: 'email', value: 'dangling@example.com' })).toBeNull();
    const bob = await users.create({ username: 'bob', email: 'dangling@example.com', passwordHash: 'h' });
    const carol = await users.create({ username: 'carol', email: 'alices-old@example.com', passwordHash: 'h' });
    expect((await users.find({ by: 'email', value: 'dangling@example.com' }))?.id).toBe(bob.id);
    expect((await users.find({ by: 'email', value: 'alices-old@example.com' }))?.id).toBe(carol.id);
  });

  it('a crash between an account step and its settle step: the write that finds the account again settles its entries', async () => {
    const alice = await users.create({ username: 'alice', email: 'alice@example.com', passwordHash: 'h' });
    // as a killed import leaves them: the account written, its id entry still pending, its email entry gone by expiry
    await redis.pexpire(keys.userId(alice.id), 60_000);
    await redis.del(keys.email('alice@example.com'));
    // another account's entry is never touched
    await redis.set(keys.email('bob@example.com'), 'bob');
    const [again] = await users.putMany([{ username: 'alice', email: 'alice@example.com', passwordHash: 'h' }], { mode: 'create' });
    expect(again?.status).toBe('exists');
    expect([await redis.pttl(keys.userId(alice.id)), await redis.get(keys.email('alice@example.com'))]).toStrictEqual([-1, 'alice']);
    expect((await users.find({ by: 'email', value: 'alice@example.com' }))?.id).toBe(alice.id);
    expect(await redis.get(keys.email('bob@example.com'))).toBe('bob');
  });

  it('changing an email: the new one claimed, the record updated, the old one released', async () => {
    await users.create({ username: 'alice', email: 'old@example.com', passwordHash: 'h' });
    await users.create({ username: 'bob', email: 'bob@example.com', passwordHash: 'h' });
    expect(await users.put({ username: 'alice', email: 'bob@example.com', passwordHash: 'h' }, { mode: 'update' })).toStrictEqual({
      status: 'email_taken',
    });
    expect(await users.put({ username: 'alice', email: 'new@example.com', passwordHash: 'h' }, { mode: 'update' })).toStrictEqual({
      status: 'updated',
      id: 1,
    });
    expect(await redis.exists(keys.email('old@example.com'))).toBe(0);
    expect((await users.find({ by: 'email', value: 'new@example.com' }))?.username).toBe('alice');
    expect(await users.find({ by: 'email', value: 'old@example.com' })).toBeNull();
    expect(await redis.get(keys.email('bob@example.com'))).toBe('bob');
  });

  it('putMany: a later user of the call sees an earlier one (same email, same username)', async () => {
    const r = await users.putMany(
      [
        { username: 'a', email: 'a@example.com', passwordHash: 'h' },
        { username: 'b', email: 'a@example.com', passwordHash: 'h' },
        { username: 'a', passwordHash: 'h' },
        { id: 9, username: 'c', passwordHash: 'h' },
      ],
      { mode: 'create', event: '{"reason":"import"}' },
    );
    expect(r).toStrictEqual([
      { status: 'created', id: 1 },
      { status: 'email_taken' },
      { status: 'exists', id: 1 },
      { status: 'created', id: 9 },
    ]);
  });

  it('one Redis: new accounts whose ids are known are written with their entries in one step, no claims (a cluster claims them)', async () => {
    const dense = new UserRepository(redis, keys, 1);
    const original = redis.claimIndex.bind(redis);
    let claims = 0;
    redis.claimIndex = (...args: Parameters<typeof original>) => {
      claims++;
      return original(...args);
    };
    try {
      const r = await dense.putMany(
        Array.from({ length: 20 }, (_, i) => ({
          username: `user${i}`,
          email: `user${i}@example.com`,
          passwordHash: 'h',
          ...(i % 2 ? { id: 100 + i } : {}),
        })),
        { mode: 'create', event: '{"reason":"import"}' },
      );
      expect(r.every((x) => x.status === 'created')).toBe(true);
    } finally {
      redis.claimIndex = original;
    }
    // a cluster claims each entry in its own slot first (ids, then emails: at least two calls)
    expect(redis.isCluster ? claims >= 2 : claims === 0).toBe(true);
    for (let i = 0; i < 20; i++) {
      const u = await dense.find({ by: 'email', value: `user${i}@example.com` });
      expect(u?.username).toBe(`user${i}`);
      expect(await dense.findById(u?.id ?? 0)).toStrictEqual(u);
      // settled: the entries never expire
      expect(await redis.pttl(keys.email(`user${i}@example.com`))).toBe(-1);
      expect(await redis.pttl(keys.userId(u?.id ?? 0))).toBe(-1);
    }
  });

  it('an entry found in the way (stale, pending, held) sends the account through the steps, with the answers of one by one', async () => {
    const dense = new UserRepository(redis, keys, 1);
    await dense.put({ id: 7, username: 'holder', email: 'held@example.com', passwordHash: 'h' }, { mode: 'create' });
    await redis.set(keys.email('stale@example.com'), 'ghost'); // settled, naming no account: stale
    await redis.set(keys.email('pending@example.com'), 'maker', 'PX', 60_000); // another account in the making
    await redis.set(keys.userId(8), 'ghost'); // a stale id entry
    const r = await dense.putMany(
      [
        { username: 'a', email: 'stale@example.com', passwordHash: 'h' },
        { username: 'b', email: 'pending@example.com', passwordHash: 'h' },
        { username: 'c', email: 'held@example.com', passwordHash: 'h' },
        { id: 7, username: 'd', passwordHash: 'h' },
        { id: 8, username: 'e', email: 'e@example.com', passwordHash: 'h' },
        { username: 'f', email: 'f@example.com', passwordHash: 'h' },
      ],
      { mode: 'create' },
    );
    // offered in order: a 8, b 9, c 10, f 11; e goes after a (both want id 8)
    expect(r).toStrictEqual([
      { status: 'created', id: 8 },
      { status: 'email_taken' },
      { status: 'email_taken' },
      { status: 'id_taken' },
      { status: 'id_taken' },
      { status: 'created', id: 11 },
    ]);
    expect((await dense.find({ by: 'email', value: 'stale@example.com' }))?.username).toBe('a');
    expect((await dense.findById(8))?.username).toBe('a');
    // the other account in the making keeps its claim; the refused users' claims are gone
    expect([await redis.get(keys.email('pending@example.com')), (await redis.pttl(keys.email('pending@example.com'))) > 0]).toStrictEqual([
      'maker',
      true,
    ]);
    expect([await redis.exists(keys.userId(9)), await redis.exists(keys.userId(10))]).toStrictEqual([0, 0]);
    expect((await allKeys()).filter((k) => k.includes(':u:')).length).toBe(3);
  });

  it('dry run: says what it would do and writes nothing', async () => {
    await users.create({ username: 'alice', email: 'a@example.com', passwordHash: 'h' });
    const before = await allKeys();
    const seq = await redis.get(keys.userSeq);
    const dry = (u: Parameters<UserRepository['put']>[0], mode: 'create' | 'update' = 'create') => users.put(u, { mode, dryRun: true });
    expect(await dry({ username: 'bob', passwordHash: 'h' })).toStrictEqual({ status: 'created', id: 0 });
    expect(await dry({ id: 9, username: 'bob', passwordHash: 'h' })).toStrictEqual({ status: 'created', id: 9 });
    expect(await dry({ username: 'alice', passwordHash: 'h' })).toStrictEqual({ status: 'exists', id: 1 });
    expect(await dry({ username: 'alice', passwordHash: 'h3' }, 'update')).toStrictEqual({
      status: 'updated',
      id: 1,
      revoke: 'password_changed',
    });
    expect(await dry({ username: 'bob', email: 'a@example.com', passwordHash: 'h' })).toStrictEqual({ status: 'email_taken' });
    expect(await dry({ id: 1, username: 'bob', passwordHash: 'h' })).toStrictEqual({ status: 'id_taken' });
    expect(await allKeys()).toStrictEqual(before);
    expect(await redis.get(keys.userSeq)).toBe(seq);
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
