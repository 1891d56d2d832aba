import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { dropPrefix, outboxEntries, testKeys, testPrefix } from '../../../test/support/stack.ts';
import { type LockoutSettings, LoginGate } from './gate.ts';
import type { KeyLayout } from './keys.ts';
import { connectRedis, type TesseraRedis } from './redis.ts';
import { UserRepository } from './users.ts';

const SETTINGS: LockoutSettings = {
  maxFailures: 3,
  windowMs: 60_000,
  lockMs: 60_000,
  growth: 2,
  permanentAfter: 0,
  rateLimit: 0,
  rateWindowMs: 60_000,
  reservationMs: 30_000,
};

let redis: TesseraRedis;
let prefix: string;
let keys: KeyLayout;
let users: UserRepository;
let gate: LoginGate;

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
  gate = new LoginGate(redis, keys, SETTINGS);
});
afterEach(async () => {
  await dropPrefix(redis, prefix);
});

/** An email whose shard is not the username's: the login by email crosses slots. */
function emailElsewhere(username: string): string {
  for (let i = 0; ; i++) if (keys.shardOf(`${username}${i}@example.com`) !== keys.shardOf(username)) return `${username}${i}@example.com`;
}

/** A failed attempt through the gate; whether it engaged the lock. */
async function fail(gate: LoginGate, identifier: { by: 'username' | 'email'; value: string }): Promise<string> {
  const r = await gate.begin(identifier, '10.0.0.1', true, crypto.randomUUID(), '{"type":"login.failed"}');
  if (r.status !== 'open') return r.status;
  await gate.finish(r.reservation, false, '{"type":"login.failed"}', '{"type":"lockout.engaged"}', []);
  return r.reservation.lock;
}

describe('LoginGate on the account shards', () => {
  it('by username: one step in the account shard, the user loaded, reserved against its account lock', async () => {
    const alice = await users.create({ username: 'alice', passwordHash: 'h' });
    const r = await gate.begin({ by: 'username', value: 'alice' }, '10.0.0.1', true, 'r1', '');
    expect(r).toMatchObject({ status: 'open', user: { id: alice.id, username: 'alice' }, reservation: { lock: `a:${alice.id}` } });
    if (r.status !== 'open') return;
    expect(await redis.zcard(keys.reservations(`a:${alice.id}`, keys.shardOf('alice')))).toBe(1);
    await gate.finish(r.reservation, true, '{"type":"login.succeeded"}', '', [], 'alice');
    expect(await redis.zcard(keys.reservations(`a:${alice.id}`, keys.shardOf('alice')))).toBe(0);
    expect(await redis.hget(keys.user('alice'), 'lastLogin')).not.toBeNull();
    // the attempt's event is in the account's shard's outbox
    expect((await redis.xrange(keys.outbox(keys.shardOf('alice')), '-', '+')).map(([, f]) => f[1])).toContain('{"type":"login.succeeded"}');
  });

  it('by email in another shard: the index read there, the attempt decided in the account shard; failures lock the account', async () => {
    const email = emailElsewhere('alice');
    const alice = await users.create({ username: 'alice', email, passwordHash: 'h' });
    const r = await gate.begin({ by: 'email', value: email.toUpperCase() }, '10.0.0.1', true, 'r1', '');
    expect(r).toMatchObject({ status: 'open', user: { id: alice.id, email }, reservation: { lock: `a:${alice.id}` } });
    if (r.status === 'open') await gate.release(r.reservation);
    for (let i = 0; i < 3; i++) expect(await fail(gate, { by: 'email', value: email })).toBe(`a:${alice.id}`);
    // locked for both forms, and listed with its username
    expect(await fail(gate, { by: 'username', value: 'alice' })).toBe('locked');
    expect(await fail(gate, { by: 'email', value: email })).toBe('locked');
    expect((await gate.locked()).map((l) => [l.identifier, l.username])).toStrictEqual([[`a:${alice.id}`, 'alice']]);
    expect(await gate.accountLocked(alice)).toBe(true);
    // the operator clears it by email
    expect(await gate.clear(email, () => '{"type":"lockout.released"}')).toBe(`a:${alice.id}`);
    expect(await gate.accountLocked(alice)).toBe(false);
  });

  it('an unknown email locks on its own in its shard, and that lock holds for the account that later takes the email', async () => {
    const email = emailElsewhere('bob');
    for (let i = 0; i < 3; i++) expect(await fail(gate, { by: 'email', value: email })).toBe(`e:${email}`);
    expect(await redis.hget(keys.lockout(`e:${email}`, keys.shardOf(email)), 'fails')).toBe('0');
    await users.create({ username: 'bob', email, passwordHash: 'h' });
    expect(await fail(gate, { by: 'email', value: email })).toBe('locked');
    // by username, the account is not locked (the lock was the email's)
    expect(await fail(gate, { by: 'username', value: 'bob' })).toMatch(/^a:/);
  });

  it('an email index entry naming an account that does not hold the email reads as unknown', async () => {
    const email = emailElsewhere('carol');
    await users.create({ username: 'carol', passwordHash: 'h' });
    await redis.set(keys.email(email), 'carol');
    const r = await gate.begin({ by: 'email', value: email }, '10.0.0.1', true, 'r1', '');
    expect(r).toMatchObject({ status: 'open', user: null, reservation: { lock: `e:${email}` } });
  });

  it('the rate counter is its own key, counted in the same round trip; only the first refusal of a window is an event', async () => {
    const limited = new LoginGate(redis, keys, { ...SETTINGS, rateLimit: 2 });
    await users.create({ username: 'dave', passwordHash: 'h' });
    const answers = [];
    for (let i = 0; i < 4; i++) {
      const r = await limited.begin({ by: 'username', value: 'dave' }, '10.0.0.9', true, `r${i}`, '{"type":"login.failed"}');
      answers.push(r.status);
      if (r.status === 'open') await limited.release(r.reservation);
    }
    expect(answers).toStrictEqual(['open', 'open', 'throttled', 'throttled']);
    expect(await redis.get(keys.rate('10.0.0.9'))).toBe('4');
    // the throttled attempt reserved nothing
    expect(await redis.zcard(keys.reservations('a:1', keys.shardOf('dave')))).toBe(0);
    const events = (await outboxEntries(redis, keys)).map(([, f]) => JSON.parse(f[1] as string));
    expect(events).toStrictEqual([{ type: 'login.failed', outcome: 'throttled' }]);
  });
});
