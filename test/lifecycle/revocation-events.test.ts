import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LEGACY_HASHES, tessera } from '../support/cli.ts';
import { outboxEntries, type Stack, startStack, testKeys } from '../support/stack.ts';
import { call } from './support.ts';

// Every path that revokes tokens leaves exactly one audit event in the outbox, with these fields
// and no others (the worker, the ops dashboard and audit consumers read them). Compared whole:
// a field added, lost or renamed fails here.

/** The outbox's events appended while `act` ran, without their id, time and version. */
async function eventsOf(stack: Stack, act: () => Promise<unknown>): Promise<Record<string, unknown>[]> {
  const keys = testKeys(stack.settings.redisPrefix);
  const seen = new Set((await outboxEntries(stack.redis, keys)).map(([id, f]) => `${id} ${f[1]}`));
  await act();
  return (await outboxEntries(stack.redis, keys))
    .filter(([id, f]) => !seen.has(`${id} ${f[1]}`))
    .map(([, f]) => {
      const { v, id, at, ...rest } = JSON.parse(f[1] as string) as Record<string, unknown>;
      expect([v, typeof id, typeof at]).toStrictEqual([1, 'string', 'string']);
      return rest;
    });
}

const revocations = (events: Record<string, unknown>[]) =>
  events.filter((e) => e.type === 'token.revoked' || e.type === 'token.reuse_detected');

function basic(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
}

describe('the audit event of each revocation (and of a refresh, a rehash)', () => {
  let stack: Stack;
  let auth: string;
  let n = 0;
  /** A fresh user (its own families, counts) logged in on the ministry route. */
  const user = async () => {
    const username = `victim-${++n}`;
    const { id } = await stack.users.create({ username, passwordHash: await stack.hasher.hash('Pw-victim-1') });
    const login = async () => {
      const r = await call(stack, '/getUserToken', { username, password: 'Pw-victim-1' });
      const { access_token: access, refresh_token: refresh } = r.body.result as { access_token: string; refresh_token: string };
      const family = (await stack.tokens.get(access))?.family as string;
      return { access, refresh, family };
    };
    return { username, id, login };
  };

  beforeAll(async () => {
    stack = await startStack({ TESSERA_MAX_SESSIONS_PER_USER: '2' });
    auth = basic('svc', await stack.clients.add('svc'));
  });
  afterAll(async () => {
    await stack.close();
  });

  it('/oauth/revoke of an access token: token.revoked by oauth, reason client, count 1, no user or family', async () => {
    const { login } = await user();
    const t = await login();
    const events = await eventsOf(stack, () =>
      stack.post('/oauth/revoke', new URLSearchParams({ token: t.access }), { authorization: auth }),
    );
    expect(events).toStrictEqual([{ type: 'token.revoked', dialect: 'oauth', reason: 'client', count: 1, outcome: 'revoked' }]);
    expect(await stack.tokens.get(t.access)).toBeNull();
  });

  it('/oauth/revoke of a refresh token: token.revoked by oauth for its family, both tokens counted', async () => {
    const { id, login } = await user();
    const t = await login();
    const events = await eventsOf(stack, () =>
      stack.post('/oauth/revoke', new URLSearchParams({ token: t.refresh }), { authorization: auth }),
    );
    expect(events).toStrictEqual([
      { type: 'token.revoked', dialect: 'oauth', userId: id, family: t.family, reason: 'client', count: 2, outcome: 'revoked' },
    ]);
  });

  it('a refresh token used twice: token.refreshed, then token.reuse_detected for the family, every token counted', async () => {
    const { id, login } = await user();
    const t = await login();
    const refreshed = await eventsOf(stack, () => call(stack, '/refreshUserToken', { refresh_token: t.refresh }));
    expect(refreshed).toStrictEqual([{ type: 'token.refreshed', dialect: 'moh', userId: id, family: t.family, outcome: 'refreshed' }]);
    const reused = await eventsOf(stack, () => call(stack, '/refreshUserToken', { refresh_token: t.refresh }));
    // the first pair and the second: the used refresh token is still a key until then
    expect(reused).toStrictEqual([
      { type: 'token.reuse_detected', userId: id, family: t.family, reason: 'reuse', count: 4, outcome: 'revoked' },
    ]);
  });

  it('a disabled user refreshing: token.revoked for the family, reason user_disabled', async () => {
    const { username, id, login } = await user();
    const t = await login();
    await stack.users.setDisabled(username, true);
    const events = await eventsOf(stack, () => call(stack, '/refreshUserToken', { refresh_token: t.refresh }));
    expect(events).toStrictEqual([
      { type: 'token.revoked', userId: id, family: t.family, reason: 'user_disabled', count: 2, outcome: 'revoked' },
    ]);
  });

  it('a login past the sessions bound: token.revoked for the family that ended first, reason evicted', async () => {
    const { id, login } = await user();
    const first = await login();
    await login();
    const events = await eventsOf(stack, login);
    expect(revocations(events)).toStrictEqual([
      { type: 'token.revoked', userId: id, family: first.family, reason: 'evicted', count: 2, outcome: 'revoked' },
    ]);
  });

  it('tessera tokens revoke --user and users disable: one token.revoked by cli for the user, every family counted', async () => {
    const a = await user();
    await a.login();
    await a.login();
    const byAdmin = await eventsOf(stack, () => tessera(['tokens', 'revoke', '--user', a.username], stack.settings.redisPrefix));
    expect(byAdmin).toStrictEqual([{ type: 'token.revoked', dialect: 'cli', userId: a.id, reason: 'admin', count: 4, outcome: 'revoked' }]);
    const b = await user();
    await b.login();
    const disabled = await eventsOf(stack, () => tessera(['users', 'disable', b.username], stack.settings.redisPrefix));
    expect(revocations(disabled)).toStrictEqual([
      { type: 'token.revoked', dialect: 'cli', userId: b.id, reason: 'user_disabled', count: 2, outcome: 'revoked' },
    ]);
  });

  it('a legacy hash rehashed at login: user.changed, reason password_rehashed', async () => {
    const legacy = LEGACY_HASHES.find((h) => h.scheme === 'bcrypt' && h.password !== null);
    const username = 'legacy-bcrypt';
    const { id } = await stack.users.create({ username, passwordHash: legacy?.hash as string });
    const events = await eventsOf(stack, () => call(stack, '/getUserToken', { username, password: legacy?.password }));
    expect(events.filter((e) => e.type === 'user.changed')).toStrictEqual([
      {
        type: 'user.changed',
        dialect: 'moh',
        identifier: `u:${username}`,
        ip: '127.0.0.1',
        userAgent: 'node',
        userId: id,
        reason: 'password_rehashed',
        outcome: 'rehashed',
      },
    ]);
  });
});
