import { decodeRecord, encodeRecord } from '@tessera/store';
import { aroundAll, describe, expect, it } from 'vitest';
import { UUID_V4 } from '../support/demo.ts';
import { outboxEntries, type Stack, startStack, testKeys } from '../support/stack.ts';
import { call, ministryLogin } from './support.ts';

describe('moh and nehr refresh: single-use refresh tokens with reuse detection', () => {
  let stack: Stack;
  aroundAll(async (runSuite) => {
    await using started = await startStack();
    stack = started;
    await runSuite();
  });

  it('moh trades a refresh token for a new pair in the same envelope', async () => {
    const first = await ministryLogin(stack);
    const r = await call(stack, '/refreshUserToken', { refresh_token: first.refresh });
    expect(r.status).toBe(200);
    expect(r.headers.get('cache-control')).toBe('no-store');
    expect(r.body).toMatchObject({ version: 'v2', code: 0, message: '1 Records found' });
    const result = r.body.result as Record<string, unknown>;
    expect(Object.keys(result)).toStrictEqual([
      'access_token',
      'token_type',
      'refresh_token',
      'expires_in',
      'scope',
      'firstLogin',
      'loggedInUser',
      'userDetails',
      'persCode',
      'userIntitutes',
      'civilId',
      'userMobile',
    ]);
    expect(result.access_token).toMatch(UUID_V4);
    expect(result.refresh_token).toMatch(UUID_V4);
    expect(result.access_token).not.toBe(first.access);
    expect(result.refresh_token).not.toBe(first.refresh);
    expect(result.expires_in).toBe(86399);
    expect(result.persCode).toBe('-90008');
    // the old access token stays valid until its own expiry; the new pair is live
    expect(await stack.tokens.get(first.access)).not.toBeNull();
    expect((await stack.tokens.get(result.access_token as string))?.kind).toBe('access');
    expect(await stack.redis.pttl(stack.tokens.keyOf(result.refresh_token as string))).toBeGreaterThan(2_591_990_000);
  });

  it('a refresh token used twice revokes the whole family (reuse detection)', async () => {
    const first = await ministryLogin(stack);
    const second = (await call(stack, '/refreshUserToken', { refresh_token: first.refresh })).body.result as {
      access_token: string;
      refresh_token: string;
    };
    const reuse = await call(stack, '/refreshUserToken', { refresh_token: first.refresh });
    expect(reuse.status).toBe(200);
    expect(reuse.body).toStrictEqual({ version: 'v2', code: 9, message: 'Invalid Token', result: null });
    // every token descended from that login is dead: first access, second pair
    expect(await stack.tokens.get(first.access)).toBeNull();
    expect(await stack.tokens.get(second.access_token)).toBeNull();
    const afterRevoke = await call(stack, '/refreshUserToken', { refresh_token: second.refresh_token });
    expect(afterRevoke.body.code).toBe(9);
    // another login of the same user is untouched
    const other = await ministryLogin(stack);
    expect(await stack.tokens.get(other.access)).not.toBeNull();
    // and the reuse is an audit event naming the family (never a token)
    const events = (await outboxEntries(stack.redis, testKeys(stack.settings.redisPrefix))).map(([, f]) => JSON.parse(f[1] as string));
    expect((await stack.tokens.lookup(first.refresh)).state).toBe('unknown');
    const detected = events.filter((e) => e.type === 'token.reuse_detected');
    expect(detected).toHaveLength(1);
    expect(detected[0]).toMatchObject({ reason: 'reuse', outcome: 'revoked' });
    expect(detected[0].count).toBeGreaterThanOrEqual(3);
    expect(events.filter((e) => e.type === 'token.refreshed' && e.family === detected[0].family)).toHaveLength(1);
    expect(JSON.stringify(events)).not.toContain(first.refresh);
  });

  it('nehr refreshes with real statuses and refuses bad tokens with 401', async () => {
    const first = await ministryLogin(stack, '/nehrapi/login/getToken');
    const ok = await call(stack, '/nehrapi/login/refreshToken', { refresh_token: first.refresh });
    expect(ok.status).toBe(200);
    expect((ok.body.result as { refresh_token: string }).refresh_token).toMatch(UUID_V4);
    const reuse = await call(stack, '/nehrapi/login/refreshToken', { refresh_token: first.refresh });
    expect(reuse.status).toBe(401);
    expect(reuse.body).toStrictEqual({ code: 401, message: 'Unauthorized: The token is invalid or expired.' });
    const unknown = await call(stack, '/nehrapi/login/refreshToken', { refresh_token: crypto.randomUUID() });
    expect(unknown.status).toBe(401);
    const garbage = await call(stack, '/nehrapi/login/refreshToken', { refresh_token: 'not-a-token' });
    expect(garbage.status).toBe(401);
    const missing = await call(stack, '/nehrapi/login/refreshToken', {});
    expect(missing.status).toBe(400);
    expect(missing.body).toStrictEqual({ code: 400, message: "Bad Request: Required field 'refresh_token' is missing." });
  });

  it('an access token presented as a refresh token is refused and left alive', async () => {
    const first = await ministryLogin(stack);
    const r = await call(stack, '/refreshUserToken', { refresh_token: first.access });
    expect(r.body.code).toBe(9);
    expect(await stack.tokens.get(first.access)).not.toBeNull();
    // and the real refresh token still works once
    expect((await call(stack, '/refreshUserToken', { refresh_token: first.refresh })).body.code).toBe(0);
  });

  it('a disabled user cannot refresh, and the family is revoked', async () => {
    const hash = await stack.hasher.hash('Pw-disabled-1');
    await stack.users.create({ username: 'to-disable', passwordHash: hash });
    const login = await call(stack, '/getUserToken', { username: 'to-disable', password: 'Pw-disabled-1' });
    const pair = login.body.result as { access_token: string; refresh_token: string };
    await stack.users.setDisabled('to-disable', true);
    const r = await call(stack, '/refreshUserToken', { refresh_token: pair.refresh_token });
    expect(r.body.code).toBe(9);
    expect(await stack.tokens.get(pair.access_token)).toBeNull();
  });

  it("a refresh token stored by an earlier release (its record without the owner's shard tag) still refreshes, its owner read, and a disabled owner's is still refused", async () => {
    /** Writes a token's record again as an earlier release wrote it, until the same expiry. */
    const asEarlierRelease = async (token: string) => {
      const key = stack.tokens.keyOf(token);
      const stored = (await stack.redis.get(key)) as string;
      const old = encodeRecord(decodeRecord(stored));
      expect(stored).toMatch(/^rum[0-9a-z]+\.\d+\.\d+\|/);
      expect(old).toBe(stored.replace(/^([^.|]*)\.[^|]*/, '$1'));
      await stack.redis.set(key, old, 'KEEPTTL');
    };
    const first = await ministryLogin(stack);
    await asEarlierRelease(first.refresh);
    const r = await call(stack, '/refreshUserToken', { refresh_token: first.refresh });
    expect(r.body).toMatchObject({ code: 0, result: { persCode: '-90008' } });
    // the new refresh token's record carries the tag again
    const renewed = (r.body.result as { refresh_token: string }).refresh_token;
    expect(await stack.redis.get(stack.tokens.keyOf(renewed))).toMatch(/^rum[0-9a-z]+\.\d+\.\d+\|/);
    expect((await call(stack, '/refreshUserToken', { refresh_token: renewed })).body.code).toBe(0);

    const hash = await stack.hasher.hash('Pw-earlier-1');
    await stack.users.create({ username: 'earlier-release', passwordHash: hash });
    const login = await call(stack, '/getUserToken', { username: 'earlier-release', password: 'Pw-earlier-1' });
    const pair = login.body.result as { access_token: string; refresh_token: string };
    await asEarlierRelease(pair.refresh_token);
    await stack.users.setDisabled('earlier-release', true);
    expect((await call(stack, '/refreshUserToken', { refresh_token: pair.refresh_token })).body.code).toBe(9);
    expect(await stack.tokens.get(pair.access_token)).toBeNull();
  });

  it('concurrent refreshes with one token: one trade at most, and in the end no token of the family lives', async () => {
    const first = await ministryLogin(stack);
    const answers = await Promise.all([1, 2, 3, 4].map(() => call(stack, '/refreshUserToken', { refresh_token: first.refresh })));
    const winners = answers.filter((a) => a.body.code === 0);
    expect(winners.length).toBeLessThanOrEqual(1);
    expect(answers.filter((a) => a.body.code === 9).length).toBeGreaterThanOrEqual(3);
    // whatever the interleaving, a pair issued to the winner belongs to the revoked family: dead
    for (const w of winners) {
      const pair = w.body.result as { access_token: string; refresh_token: string };
      expect(await stack.tokens.get(pair.access_token)).toBeNull();
      expect(await stack.tokens.get(pair.refresh_token)).toBeNull();
    }
    expect(await stack.tokens.get(first.access)).toBeNull();
  });
});
