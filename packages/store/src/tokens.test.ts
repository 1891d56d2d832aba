import { setTimeout as sleep } from 'node:timers/promises';
import { type TokenGrant, type TokenRecord, UnavailableError } from '@tessera/core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { dropPrefix, testPrefix } from '../../../test/support/stack.ts';
import { tokenHash } from './hash.ts';
import { type KeyLayout, keyLayout } from './keys.ts';
import { decodeRecord, encodeRecord } from './record.ts';
import { connectRedis, type TesseraRedis } from './redis.ts';
import { TokenRepository } from './tokens.ts';

let redis: TesseraRedis;
let prefix: string;
let keys: KeyLayout;
let tokens: TokenRepository;

beforeAll(async () => {
  redis = await connectRedis({ url: inject('redisUrl') });
});
afterAll(async () => {
  await redis.quit();
});
beforeEach(() => {
  prefix = testPrefix();
  keys = keyLayout(prefix);
  tokens = new TokenRepository(redis, keys);
});
afterEach(async () => {
  await dropPrefix(redis, prefix);
});

function grant(value: string, kind: TokenGrant['kind'], lifetime: number, issuedAt = Math.floor(Date.now() / 1000) * 1000): TokenGrant {
  return { value, kind, format: 'uuid', lifetime, issuedAt, expiresAt: issuedAt + lifetime * 1000 };
}

function recordOf(g: TokenGrant): TokenRecord {
  return {
    kind: g.kind,
    format: g.format,
    dialect: 'moh',
    userId: 7,
    username: 'MOH-90008',
    scopes: ['', 'read', 'write'],
    iat: Math.floor(g.issuedAt / 1000),
    exp: Math.floor(g.expiresAt / 1000),
    family: 'family-1',
  };
}

const ACCESS = 'd0816a77-af67-43fc-bad1-2edb2aae3dc5';
const REFRESH = '542f00d0-4be3-4b47-940a-62e354b9c3e7';

describe('tokenHash', () => {
  it('is the first 128 bits of SHA-256, base64url', () => {
    expect(tokenHash('abc')).toBe('ungWv48Bz-pBQUDeXa4iIw');
    expect(tokenHash('')).toBe('47DEQpj8HBSa-_TImW-5JA');
  });
});

describe('token records', () => {
  const record: TokenRecord = {
    kind: 'access',
    format: 'uuid',
    dialect: 'moh',
    userId: 90_008,
    username: 'MOH-90008',
    scopes: ['', 'read', 'write'],
    iat: 1_760_000_000,
    exp: 1_760_086_400,
    family: 'd0816a77-af67-43fc-bad1-2edb2aae3dc5',
  };

  it('are short strings: kind first, a UUID family in 22 characters, the default scopes as nothing', () => {
    expect(encodeRecord(record)).toBe('aum1xg8|t3uwow|1uo0|0IFqd69nQ_y60S7bKq49xQ|MOH-90008||');
    expect(decodeRecord(encodeRecord(record))).toStrictEqual(record);
  });

  it('keep any family, jti and scopes', () => {
    const jwt: TokenRecord = {
      ...record,
      kind: 'refresh',
      format: 'jwt',
      dialect: 'simplejwt',
      family: 'family-1',
      scopes: ['a|b', 'read'],
      jti: '0123456789abcdef0123456789abcdef',
    };
    expect(encodeRecord(jwt)).toMatch(/^rjs1xg8\|/);
    expect(decodeRecord(encodeRecord(jwt))).toStrictEqual(jwt);
    expect(decodeRecord(encodeRecord({ ...record, scopes: [] }))).toStrictEqual({ ...record, scopes: [] });
    const peb: TokenRecord = { ...record, format: 'hex128', dialect: 'peb', exp: record.iat - 5 };
    expect(decodeRecord(encodeRecord(peb))).toStrictEqual(peb);
  });
});

describe('TokenRepository', () => {
  it('names a token <prefix>t:{tokenHash(token)}', () => {
    expect(tokens.keyOf('abc')).toBe(`${prefix}t:{ungWv48Bz-pBQUDeXa4iIw}`);
    expect(keys.token('x')).toBe(`${prefix}t:{x}`);
  });

  it('saves each grant under its hash with its record, expiring at the token expiry', async () => {
    const grants = [grant(ACCESS, 'access', 86_400), grant(REFRESH, 'refresh', 2_592_000)];
    await tokens.save(grants, recordOf);
    for (const g of grants) {
      const key = `${prefix}t:{${tokenHash(g.value)}}`;
      expect(decodeRecord((await redis.get(key)) as string)).toStrictEqual(recordOf(g));
      expect(await redis.pexpiretime(key)).toBe(g.expiresAt);
      const pttl = await redis.pttl(key);
      expect(pttl).toBeLessThanOrEqual(g.lifetime * 1000);
      expect(pttl).toBeGreaterThan(g.lifetime * 1000 - 2000);
    }
    const expiry = Math.max(...grants.map((g) => g.expiresAt));
    expect((await redis.keys(`${prefix}*`)).sort()).toStrictEqual(
      [...grants.map((g) => `${prefix}t:{${tokenHash(g.value)}}`), `${prefix}ui:{u7}`].sort(),
    );
    // the user's index: field = family, value = per token its expiry and its hash; it lives as
    // long as the user's longest token
    expect(await redis.hgetall(`${prefix}ui:{u7}`)).toStrictEqual({
      '~family-1': grants.map((g) => `${(g.expiresAt / 1000).toString(36).padStart(7, '0')}${tokenHash(g.value)}`).join(''),
    });
    expect(await redis.object('ENCODING', `${prefix}ui:{u7}`)).toBe('listpack');
    expect(await redis.pexpiretime(`${prefix}ui:{u7}`)).toBe(expiry);
  });

  it('rotated tokens join their family; the index never expires before its latest token', async () => {
    const first = [grant(ACCESS, 'access', 86_400), grant(REFRESH, 'refresh', 2_592_000)];
    await tokens.save(first, recordOf);
    const second = [grant('0f7d4a9e-1c2b-4d3e-8f4a-5b6c7d8e9f00', 'access', 60)];
    await tokens.save(second, recordOf);
    const value = (await redis.hget(`${prefix}ui:{u7}`, '~family-1')) as string;
    expect(value).toBe(
      [...first, ...second].map((g) => `${(g.expiresAt / 1000).toString(36).padStart(7, '0')}${tokenHash(g.value)}`).join(''),
    );
    expect(await redis.pexpiretime(`${prefix}ui:{u7}`)).toBe((first[1] as TokenGrant).expiresAt);
    expect(await tokens.revokeFamily(7, 'family-1', 'reuse')).toBe(3);
    expect(await redis.keys(`${prefix}t:*`)).toStrictEqual([]);
  });

  it("drops a family's expired tokens when the family is written again: a long session stays small", async () => {
    const now = Date.now();
    const short: TokenGrant = { value: ACCESS, kind: 'access', format: 'uuid', lifetime: 1, issuedAt: now, expiresAt: now + 1000 };
    await tokens.save([short, grant(REFRESH, 'refresh', 600)], recordOf);
    await sleep(2100);
    const next = grant('0f7d4a9e-1c2b-4d3e-8f4a-5b6c7d8e9f00', 'access', 60);
    await tokens.save([next], recordOf);
    const value = (await redis.hget(`${prefix}ui:{u7}`, '~family-1')) as string;
    expect(value.length).toBe(2 * 29);
    expect(value).not.toContain(tokenHash(ACCESS));
    expect(value).toContain(tokenHash(REFRESH));
    expect(value).toContain(tokenHash(next.value));
  });

  it('drops families whose every token has expired from the index', async () => {
    const now = Date.now();
    const short: TokenGrant = { value: ACCESS, kind: 'access', format: 'uuid', lifetime: 1, issuedAt: now, expiresAt: now + 1000 };
    await tokens.save([short], (g) => ({ ...recordOf(g), family: 'old' }));
    expect(await redis.hkeys(`${prefix}ui:{u7}`)).toStrictEqual(['~old']);
    await sleep(2100);
    await tokens.save([grant(REFRESH, 'refresh', 600)], recordOf);
    expect(await redis.hkeys(`${prefix}ui:{u7}`)).toStrictEqual(['~family-1']);
  });

  it('a used refresh token is kept, marked, and recognised; kinds are checked', async () => {
    await tokens.save([grant(ACCESS, 'access', 300), grant(REFRESH, 'refresh', 600)], recordOf);
    expect((await tokens.useRefresh(ACCESS)).state).toBe('wrong_kind');
    expect((await tokens.consume(REFRESH)).state).toBe('wrong_kind');
    expect(await tokens.useRefresh(REFRESH)).toMatchObject({ state: 'live', record: { kind: 'refresh', family: 'family-1' } });
    expect((await redis.get(tokens.keyOf(REFRESH)))?.startsWith('U')).toBe(true);
    expect(await tokens.useRefresh(REFRESH)).toMatchObject({ state: 'used', record: { kind: 'refresh', userId: 7 } });
    expect(await tokens.lookup(REFRESH)).toMatchObject({ state: 'used' });
    expect((await tokens.consume(REFRESH)).state).toBe('wrong_kind');
    expect(await tokens.consume(ACCESS)).toMatchObject({ state: 'live', record: { kind: 'access' } });
    expect(await tokens.lookup(ACCESS)).toStrictEqual({ state: 'unknown' });
  });

  it('revokes a family and a user at once, announcing the hashes', async () => {
    const sub = redis.duplicate({ enableOfflineQueue: true });
    const messages: string[] = [];
    await sub.subscribe(keys.revocations);
    sub.on('message', (_c, m) => messages.push(m));
    const grants = [grant(ACCESS, 'access', 86_400), grant(REFRESH, 'refresh', 2_592_000)];
    await tokens.save(grants, recordOf);
    expect(await tokens.revokeFamily(7, 'family-1', 'admin')).toBe(2);
    expect(await tokens.get(ACCESS)).toBeNull();
    expect(await tokens.get(REFRESH)).toBeNull();
    expect(await tokens.isFamilyRevoked('family-1')).toBe(true);
    // the mark lasts while a token of the family could still be rotated
    expect(await redis.pttl(keys.revokedFamily('family-1'))).toBeGreaterThan(2_592_000_000 - 5000);
    for (let i = 0; i < 50 && messages.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(JSON.parse(messages[0] as string)).toStrictEqual({
      hashes: expect.arrayContaining(grants.map((g) => tokenHash(g.value))),
      reason: 'admin',
    });
    await tokens.save([grant('c1a3e1e2-5b57-4f59-9e3b-0c7d3a3c4d5e', 'access', 60)], (g) => ({ ...recordOf(g), family: 'family-2' }));
    await tokens.save([grant('7e57a9c4-2d1b-4c3a-9e8f-0a1b2c3d4e5f', 'refresh', 60)], (g) => ({
      ...recordOf(g),
      family: 'a6c3d3a1-8b0e-4f3e-9d6c-2b1a0f9e8d7c',
    }));
    expect(await tokens.revokeUser(7, 'user_disabled')).toBe(2);
    expect(await tokens.isFamilyRevoked('a6c3d3a1-8b0e-4f3e-9d6c-2b1a0f9e8d7c')).toBe(true);
    expect(await redis.exists(`${prefix}ui:{u7}`)).toBe(0);
    expect(await redis.keys(`${prefix}t:*`)).toStrictEqual([]);
    await sub.quit();
  });

  it('a family revocation cut short is completed by the next one; a grown entry is left to its rotation', async () => {
    const grants = [grant(ACCESS, 'access', 86_400), grant(REFRESH, 'refresh', 2_592_000)];
    await tokens.save(grants, recordOf);
    // as if a first revocation had deleted one token and then lost Redis before the rest
    await redis.del(tokens.keyOf(ACCESS));
    expect(await tokens.revokeFamily(7, 'family-1', 'admin')).toBe(1);
    expect(await tokens.get(REFRESH)).toBeNull();
    expect(await redis.exists(`${prefix}ui:{u7}`)).toBe(0);
    // the index entry leaves only if it is still what the revocation read
    await tokens.save(grants, recordOf);
    const field = (await redis.hkeys(`${prefix}ui:{u7}`))[0] as string;
    const read = (await redis.hget(`${prefix}ui:{u7}`, field)) as string;
    await tokens.save([grant('0c6f6f0e-3b0a-4c53-8f8e-6b0f2d1e3a4b', 'access', 86_400)], recordOf);
    expect(await redis.dropFamily(`${prefix}ui:{u7}`, field, read)).toBe(0);
    expect(await redis.hexists(`${prefix}ui:{u7}`, field)).toBe(1);
    expect(await redis.dropFamily(`${prefix}ui:{u7}`, field, (await redis.hget(`${prefix}ui:{u7}`, field)) as string)).toBe(1);
  });

  it('never writes a raw token value, in keys or values', async () => {
    await tokens.save([grant(ACCESS, 'access', 60), grant(REFRESH, 'refresh', 60)], recordOf);
    for (const key of await redis.keys(`${prefix}*`)) {
      const value = (await redis.type(key)) === 'hash' ? JSON.stringify(await redis.hgetall(key)) : ((await redis.get(key)) ?? '');
      for (const raw of [ACCESS, REFRESH]) {
        expect(key.includes(raw)).toBe(false);
        expect(value.includes(raw)).toBe(false);
      }
    }
  });

  it('reads a token back by its value; an unknown token is null', async () => {
    const g = grant(ACCESS, 'access', 300);
    await tokens.save([g], recordOf);
    expect(await tokens.get(ACCESS)).toStrictEqual(recordOf(g));
    expect(await tokens.get(REFRESH)).toBeNull();
    expect(await tokens.get(tokenHash(ACCESS))).toBeNull();
  });

  it('a token is gone once its expiry passes', async () => {
    const now = Date.now();
    const g: TokenGrant = { value: ACCESS, kind: 'access', format: 'uuid', lifetime: 1, issuedAt: now, expiresAt: now + 400 };
    await tokens.save([g], recordOf);
    expect(await tokens.get(ACCESS)).not.toBeNull();
    await sleep(600);
    expect(await tokens.get(ACCESS)).toBeNull();
    expect(await redis.exists(tokens.keyOf(ACCESS))).toBe(0);
  });

  it('a grant already expired is not kept', async () => {
    const now = Date.now();
    await tokens.save(
      [{ value: ACCESS, kind: 'access', format: 'uuid', lifetime: 1, issuedAt: now - 5000, expiresAt: now - 1000 }],
      recordOf,
    );
    expect(await tokens.get(ACCESS)).toBeNull();
    expect(await redis.keys(`${prefix}*`)).toStrictEqual([]);
  });

  it('saving nothing writes nothing', async () => {
    await tokens.save([], recordOf);
    expect(await redis.keys(`${prefix}*`)).toStrictEqual([]);
  });

  it('a closed connection is UnavailableError', async () => {
    const closed = await connectRedis({ url: inject('redisUrl') });
    closed.disconnect();
    const repo = new TokenRepository(closed, keys);
    for (const op of [() => repo.save([grant(ACCESS, 'access', 60)], recordOf), () => repo.get(ACCESS)]) {
      const err = await op().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UnavailableError);
    }
  });
});
